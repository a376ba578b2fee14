package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"

	"github.com/google/shlex"

	"github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// RunPlugin runs a plugin written in Node: a policy pack (kind "analyzer") through
// @pulumi/pulumi/cmd/run-policy-pack, anything else through @pulumi/pulumi/cmd/run-plugin, with the
// process's stdout and stderr streamed back to the engine (upstream main.go RunPlugin).
//
// The engine gets here from plugin.ExecPlugin when a plugin path is a directory with a
// PulumiPolicy.yaml / PulumiPlugin.yaml, and for policy packs from plugin.NewPolicyAnalyzer once it
// finds a language plugin for the pack's runtime. It reads the first stdout line as the plugin's
// gRPC port. For a policy pack that first port is a PolicyProxy of the sdk module (the one upstream
// uses): the engine's ConfigureStack call there gives organization, project, stack, dry-run and
// config, which old @pulumi/policy libraries only read from the environment; node starts after it,
// and the proxy forwards everything else to the port node prints.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	ctx := server.Context()
	logging.V(5).Infof("Attempting to run nodejs plugin in %s", req.Info.ProgramDirectory)
	if h.engine() == "" {
		return errors.New("when debugging or running explicitly, must call Handshake before Run")
	}
	if req.GetAttachDebugger() {
		return errors.New("this stand-in pulumi-language-nodejs cannot attach a debugger")
	}
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()
	stdout, stderr = lockedPair(stdout, stderr)

	node, err := exec.LookPath("node")
	if err != nil {
		return err
	}
	isPolicyPack := req.Kind == string(apitype.AnalyzerPlugin)
	runPath := "@pulumi/pulumi/cmd/run-policy-pack"
	if !isPolicyPack {
		// Upstream's TODO (pulumi/pulumi#20941) doubts this is right for converter and tool plugins.
		if runPath = os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH"); runPath == "" {
			runPath = "@pulumi/pulumi/cmd/run-plugin"
		}
	}
	if runPath, err = locateModule(node, runPath, req.Info.ProgramDirectory, true); err != nil {
		return err
	}
	args, env, err := buildRunPlugin(req, runPath)
	if err != nil {
		return err
	}

	var proxy *sdk.PolicyProxy
	if isPolicyPack {
		// The proxy prints its own port on stdout and takes over stdout to read node's port later.
		if proxy, stdout, err = sdk.NewPolicyProxy(ctx, stdout); err != nil {
			return fmt.Errorf("could not start policy pack proxy: %w", err)
		}
		stackCfg, err := proxy.AwaitConfiguration(ctx)
		if err != nil {
			return fmt.Errorf("could not get stack configuration: %w", err)
		}
		if env, err = appendStackEnv(env, stackCfg); err != nil {
			return err
		}
	}

	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = req.Pwd
	if isPolicyPack {
		// Node policy packs always ran from their own directory (upstream keeps that).
		cmd.Dir = req.Info.ProgramDirectory
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	logging.V(5).Infof("Constructed NodeJS command to run: %s", cmd)

	err = cmd.Start()
	if err == nil && proxy != nil {
		if err = proxy.Attach(ctx, cmd); err != nil { // returns when node exits
			err = fmt.Errorf("could not attach policy pack proxy: %w", err)
		}
	} else if err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return fmt.Errorf("Program exited with non-zero exit code: %d", exitErr.ExitCode())
		}
		return fmt.Errorf("Problem executing plugin program (could not run language executor): %w", err)
	}
	return closer.Close()
}

// buildRunPlugin derives node's arguments and environment for RunPlugin (upstream main.go
// RunPlugin): `node <runPath> <nodeargs...> ...` — nodeargs after the script, as upstream has them —
// then the engine's arguments and the pack directory last for a policy pack, the plugin directory
// first for other plugins. The environment is the one the engine sent, plus
// PULUMI_NODEJS_TYPESCRIPT / PULUMI_NODEJS_TSCONFIG_PATH.
func buildRunPlugin(req *pulumirpc.RunPluginRequest, runPath string) ([]string, []string, error) {
	opts, err := parseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return nil, nil, err
	}
	env := append([]string{}, req.Env...)
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfigpath != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfigpath)
	}
	nodeargs, err := shlex.Split(opts.nodeargs)
	if err != nil {
		return nil, nil, err
	}
	args := append([]string{runPath}, nodeargs...)
	dir := req.GetInfo().GetProgramDirectory()
	if req.Kind == string(apitype.AnalyzerPlugin) {
		args = append(append(args, req.Args...), dir)
	} else {
		args = append(append(args, dir), req.Args...)
	}
	return args, env, nil
}

// appendStackEnv adds what @pulumi/policy reads from the environment (upstream main.go RunPlugin):
// PULUMI_NODEJS_ORGANIZATION, _PROJECT, _STACK, _DRY_RUN and PULUMI_CONFIG, each only when set.
func appendStackEnv(env []string, c *pulumirpc.AnalyzerStackConfigureRequest) ([]string, error) {
	if c == nil {
		return env, nil
	}
	add := func(k, v string) {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	add("PULUMI_NODEJS_ORGANIZATION", c.Organization)
	add("PULUMI_NODEJS_PROJECT", c.Project)
	add("PULUMI_NODEJS_STACK", c.Stack)
	add("PULUMI_NODEJS_DRY_RUN", strconv.FormatBool(c.DryRun))
	if c.Config != nil {
		b, err := json.Marshal(c.Config)
		if err != nil {
			return nil, fmt.Errorf("could not marshal stack configuration: %w", err)
		}
		add("PULUMI_CONFIG", string(b))
	}
	return env, nil
}
