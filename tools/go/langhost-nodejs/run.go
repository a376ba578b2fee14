package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/google/shlex"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const (
	// defaultRunPath is the module the program is run through; PULUMI_LANGUAGE_NODEJS_RUN_PATH
	// overrides it (upstream main.go defaultRunPath).
	defaultRunPath = "@pulumi/pulumi/cmd/run"

	// exitCodeAlreadyReported is the run script's exit code for "the error was already shown to
	// the user" (@pulumi/pulumi cmd/run/index.js nodeJSProcessExitedAfterLoggingUserActionableMessage,
	// upstream main.go nodeJSProcessExitedAfterShowingUserActionableMessage).
	exitCodeAlreadyReported = 32
)

// Run runs the program under node (upstream main.go Run and execRuntime). The node process talks to
// a resource-monitor proxy of ours (monitor.go) rather than to the engine's monitor directly, as
// upstream's does, and gets the directory of the synchronous-invoke pipes as --sync.
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	engineAddress := h.engine()
	if engineAddress == "" {
		return nil, errors.New("when debugging or running explicitly, must call Handshake before Run")
	}
	if req.GetAttachDebugger() {
		return &pulumirpc.RunResponse{Error: "this stand-in pulumi-language-nodejs cannot attach a debugger"}, nil
	}

	conn, err := grpc.NewClient(req.GetMonitorAddress(), append(rpcutil.TracingInterceptorDialOptions(),
		grpc.WithTransportCredentials(insecure.NewCredentials()), rpcutil.GrpcChannelOptions())...)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	target := pulumirpc.NewResourceMonitorClient(conn)

	stopProxy := make(chan bool, 1)
	defer func() { stopProxy <- true }()
	proxy, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stopProxy,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceMonitorServer(srv, &monitorProxy{target: target})
			return nil
		},
		Options: rpcutil.TracingServerInterceptorOptions(nil),
	})
	if err != nil {
		return nil, err
	}
	pipes, pipesDone, err := serveSyncInvokes(ctx, target)
	if err != nil {
		return nil, err
	}
	defer pipes.close()

	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find node on the $PATH: " + err.Error()}, nil
	}
	runPath := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH")
	if runPath == "" {
		runPath = defaultRunPath
	}
	if runPath, err = locateModule(node, runPath, req.GetInfo().GetProgramDirectory(), false); err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	done := make(chan *pulumirpc.RunResponse, 1)
	go func() {
		done <- h.execNode(ctx, req, node, runPath, engineAddress,
			fmt.Sprintf("127.0.0.1:%d", proxy.Port), pipes.dir)
	}()
	for {
		select {
		case err := <-proxy.Done:
			if err != nil {
				return &pulumirpc.RunResponse{Error: err.Error()}, nil
			}
		case err := <-pipesDone:
			if err != nil {
				return &pulumirpc.RunResponse{Error: err.Error()}, nil
			}
		case resp := <-done:
			return resp, nil
		}
	}
}

// runSpec is everything execNode derives from a RunRequest: node's argument list and the
// variables added to the inherited environment.
type runSpec struct {
	args []string
	env  []string
}

// buildRun derives node's command line and environment from a RunRequest (upstream main.go
// execRuntime, constructArguments, constructConfig, constructConfigSecretKeys):
//
//	node <nodeargs...> <runPath> --monitor A --engine A --sync DIR [--organization O] --project P
//	     --root-directory D --stack S --pwd D [--dry-run] --parallel N [--tracing URL] <entry> <args...>
//
// with PULUMI_CONFIG (keys rewritten from "ns:key" to "ns:config:key"), PULUMI_CONFIG_SECRET_KEYS,
// and PULUMI_NODEJS_TYPESCRIPT / PULUMI_NODEJS_TSCONFIG_PATH from the runtime options.
func buildRun(req *pulumirpc.RunRequest, runPath, engineAddress, monitorAddress, syncDir, tracing string,
) (runSpec, error) {
	opts, err := parseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return runSpec{}, err
	}
	args, err := shlex.Split(opts.nodeargs)
	if err != nil {
		return runSpec{}, err
	}
	args = append(args, runPath)
	flag := func(k, v string) {
		if v != "" {
			args = append(args, "--"+k, v)
		}
	}
	flag("monitor", monitorAddress)
	flag("engine", engineAddress)
	flag("sync", syncDir)
	flag("organization", req.GetOrganization())
	flag("project", req.GetProject())
	flag("root-directory", req.GetInfo().GetRootDirectory())
	flag("stack", req.GetStack())
	flag("pwd", req.GetInfo().GetProgramDirectory())
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	flag("parallel", strconv.Itoa(int(req.GetParallel())))
	flag("tracing", tracing)
	args = append(args, req.GetInfo().GetEntryPoint())
	args = append(args, req.GetArgs()...)

	cfg := make(map[string]string, len(req.GetConfig()))
	for k, v := range req.GetConfig() {
		key, err := config.ParseKey(k)
		if err != nil {
			return runSpec{}, fmt.Errorf("failed to serialize configuration: %w", err)
		}
		cfg[key.Namespace()+":config:"+key.Name()] = v
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return runSpec{}, fmt.Errorf("failed to serialize configuration: %w", err)
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return runSpec{}, fmt.Errorf("failed to serialize configuration secret keys: %w", err)
	}
	env := []string{"PULUMI_CONFIG=" + string(cfgJSON), "PULUMI_CONFIG_SECRET_KEYS=" + string(secretJSON)}
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfigpath != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfigpath)
	}
	return runSpec{args: args, env: env}, nil
}

// execNode runs node and maps its exit into a RunResponse (upstream main.go execRuntime): exit code
// 32 means the program's error was already printed, so the engine is told to bail without a second
// message; any other failure becomes "Program exited with non-zero exit code: N".
func (h *host) execNode(ctx context.Context, req *pulumirpc.RunRequest,
	node, runPath, engineAddress, monitorAddress, syncDir string,
) *pulumirpc.RunResponse {
	spec, err := buildRun(req, runPath, engineAddress, monitorAddress, syncDir, h.tracing)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}
	}
	// Stop node on the Cancel RPC or when the engine drops the request: SIGINT, then SIGKILL 5s later.
	cmdCtx, cmdCancel := context.WithCancel(h.cancelCtx)
	defer cmdCancel()
	context.AfterFunc(ctx, cmdCancel)
	cmd := exec.CommandContext(cmdCtx, node, spec.args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(os.Environ(), spec.env...)
	// The engine reads our own stdout/stderr as the program's output. Wrapping them makes exec.Cmd
	// copy through a goroutine instead of giving node our descriptors, which node may switch to
	// non-blocking mode (upstream main.go runWithOutput).
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}
	logging.V(5).Infof("Language host launching process: %s %s", node, strings.Join(spec.args, " "))

	err = cmd.Run()
	if err == nil {
		return &pulumirpc.RunResponse{}
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Problem executing program (could not run language executor): %v", err),
		}
	}
	switch code := exitErr.ExitCode(); code {
	case exitCodeAlreadyReported:
		return &pulumirpc.RunResponse{Bail: true}
	case 0:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited unexpectedly: %v", exitErr)}
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", code)}
	}
}

// locateModule resolves a module from dir with node's require.resolve (upstream main.go
// locateModule), with upstream's hint when it is missing.
func locateModule(node, module, dir string, isPlugin bool) (string, error) {
	install := "pulumi install"
	if isPlugin {
		install = "npm install in " + dir
	}
	// One line: upstream keeps the script on one line for Volta's shims on Windows.
	script := fmt.Sprintf(`try { console.log(require.resolve(%q)); } catch (error) { `+
		`if (error.code === "MODULE_NOT_FOUND") { console.error("It looks like the Pulumi SDK has not been `+
		`installed. Have you run %s?"); } else { console.error(error.message); } process.exit(1); }`,
		module, install)
	cmd := exec.Command(node, "-e", script)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return "", errors.New(string(exitErr.Stderr))
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}
