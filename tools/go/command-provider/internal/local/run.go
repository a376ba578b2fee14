package local

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
)

// The variables that carry the previous run's output into update and delete
// (provider/pkg/provider/util/util.go: PulumiCommandStdout, PulumiCommandStderr).
const (
	EnvPreviousStdout = "PULUMI_COMMAND_STDOUT"
	EnvPreviousStderr = "PULUMI_COMMAND_STDERR"
)

// LogFunc receives one line of the command's logged output. Upstream sends each line to the engine as
// an ephemeral Info status message on the resource (provider/pkg/provider/util/util.go LogOutput →
// pulumi-go-provider Logger.InfoStatus → Engine.Log with ephemeral=true).
type LogFunc func(line string)

// commandArgs is the argv that runs command: the interpreter when one is given and non-empty, else
// `/bin/sh -c` (`cmd /C` on Windows), then the command as one argument
// (provider/pkg/provider/local/commandOutputs.go run).
func commandArgs(interpreter *[]string, command string) []string {
	var args []string
	if interpreter != nil && len(*interpreter) > 0 {
		args = append(args, *interpreter...)
	} else if runtime.GOOS == "windows" {
		args = []string{"cmd", "/C"}
	} else {
		args = []string{"/bin/sh", "-c"}
	}
	return append(args, command)
}

// commandEnv is the command's environment (provider/pkg/provider/local/commandOutputs.go run): the
// provider's own environment, then `environment`, then — unless addPreviousOutputInEnv is false — the
// previous stdout and stderr, each only when non-empty. Later entries win (os/exec keeps the last value
// of a duplicated key), so `environment` overrides the inherited variables and the previous output
// overrides an `environment` entry of the same name. The order among `environment` entries is not
// significant: their keys are distinct.
func commandEnv(base []string, in BaseInputs, prev BaseOutputs) []string {
	env := append([]string{}, base...)
	if in.Environment != nil {
		for k, v := range *in.Environment {
			env = append(env, k+"="+v)
		}
	}
	if in.AddPreviousOutputInEnv == nil || *in.AddPreviousOutputInEnv {
		if prev.Stdout != "" {
			env = append(env, EnvPreviousStdout+"="+prev.Stdout)
		}
		if prev.Stderr != "" {
			env = append(env, EnvPreviousStderr+"="+prev.Stderr)
		}
	}
	return env
}

// runFailure is the error of a command that could not start or did not succeed, worded as upstream
// (provider/pkg/provider/local/commandOutputs.go run: "%w: running %q:\n%s"): the process error
// ("exit status 2", "signal: killed", "chdir /x: no such file or directory", ...), the command quoted as
// a Go string, then stdout and stderr interleaved as they were written.
func runFailure(err error, command, combined string) error {
	return fmt.Errorf("%w: running %q:\n%s", err, command, combined)
}

// trimOutput drops exactly one trailing newline, as upstream does for the stdout/stderr outputs.
func trimOutput(s string) string {
	return strings.TrimSuffix(s, "\n")
}

// lockedWriter serialises writes from the two output-copying goroutines.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// run executes command and, on success, fills out (provider/pkg/provider/local/commandOutputs.go run).
// out is read first: its stdout/stderr are the previous run's, offered to the command in the
// environment. Lines of the streams chosen by `logging` go to log as they are written.
func run(ctx context.Context, command string, in BaseInputs, out *BaseOutputs, log LogFunc) error {
	args := commandArgs(in.Interpreter, command)

	var stdout, stderr, combined bytes.Buffer
	var mu sync.Mutex
	combinedW := lockedWriter{&mu, &combined}

	// One pipe carries both logged streams to the line splitter, as upstream's single logging pipe does.
	logR, logW := io.Pipe()
	logged := lockedWriter{&sync.Mutex{}, logW}

	//nolint:gosec // running the user's command is the point of this provider.
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	stdoutWriters := []io.Writer{&stdout, combinedW}
	if in.Logging.logsStdout() {
		stdoutWriters = append(stdoutWriters, logged)
	}
	stderrWriters := []io.Writer{&stderr, combinedW}
	if in.Logging.logsStderr() {
		stderrWriters = append(stderrWriters, logged)
	}
	cmd.Stdout = io.MultiWriter(stdoutWriters...)
	cmd.Stderr = io.MultiWriter(stderrWriters...)

	if in.Dir != nil {
		cmd.Dir = *in.Dir
	} else {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		cmd.Dir = wd
	}
	cmd.Env = commandEnv(os.Environ(), in, *out)
	if in.Stdin != nil && len(*in.Stdin) > 0 {
		cmd.Stdin = strings.NewReader(*in.Stdin)
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		streamLines(logR, log)
	}()

	err := cmd.Start()
	if err == nil {
		err = cmd.Wait()
	}
	_ = logW.Close()
	<-done

	if err != nil {
		return runFailure(err, command, combined.String())
	}

	if in.AssetPaths != nil {
		assets, err := globAssets(cmd.Dir, *in.AssetPaths)
		if err != nil {
			return err
		}
		out.newAssets = assets
	}
	if in.ArchivePaths != nil {
		assets, err := globAssets(cmd.Dir, *in.ArchivePaths)
		if err != nil {
			return err
		}
		archive, err := archiveOf(assets)
		if err != nil {
			return err
		}
		out.newArchive = archive
	}

	out.Stdout = trimOutput(stdout.String())
	out.Stderr = trimOutput(stderr.String())
	return nil
}

// streamLines hands every line read from r to log, without its line ending ("\n" or "\r\n"), blank
// lines included, and a last unterminated line too. Unlike upstream's bufio.Scanner (64 KiB token
// limit, after which it stops reading and the command blocks on its output), long lines are passed on
// whole and reading never stops before EOF.
func streamLines(r io.Reader, log LogFunc) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			line = strings.TrimSuffix(line, "\n")
			line = strings.TrimSuffix(line, "\r")
			if log != nil {
				log(line)
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) {
				_, _ = io.Copy(io.Discard, r)
			}
			return
		}
	}
}
