package local

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

func strp(s string) *string { return &s }
func boolp(b bool) *bool    { return &b }

func TestCommandEnv(t *testing.T) {
	base := []string{"PATH=/bin", "HOME=/root"}
	env := map[string]string{"CASTLE_CLUSTER": "castle", "HOME": "/tmp"}
	prev := BaseOutputs{Stdout: "old out", Stderr: "old err"}

	tests := []struct {
		name string
		in   BaseInputs
		prev BaseOutputs
		want []string // after base, in order; environment entries sorted among themselves
	}{
		{
			name: "environment then previous output (addPreviousOutputInEnv unset means true)",
			in:   BaseInputs{Environment: &env}, prev: prev,
			want: []string{"CASTLE_CLUSTER=castle", "HOME=/tmp", "PULUMI_COMMAND_STDOUT=old out", "PULUMI_COMMAND_STDERR=old err"},
		},
		{
			name: "addPreviousOutputInEnv false",
			in:   BaseInputs{Environment: &env, AddPreviousOutputInEnv: boolp(false)}, prev: prev,
			want: []string{"CASTLE_CLUSTER=castle", "HOME=/tmp"},
		},
		{
			name: "addPreviousOutputInEnv true, empty previous stderr left out",
			in:   BaseInputs{AddPreviousOutputInEnv: boolp(true)}, prev: BaseOutputs{Stdout: "x"},
			want: []string{"PULUMI_COMMAND_STDOUT=x"},
		},
		{
			name: "first run: nothing previous",
			in:   BaseInputs{}, prev: BaseOutputs{},
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := commandEnv(base, tt.in, tt.prev)
			if !reflect.DeepEqual(got[:2], base) {
				t.Fatalf("inherited environment must come first: %v", got)
			}
			rest := got[2:]
			// environment entries come from a map: compare them as a set, then the fixed tail.
			n := 0
			if tt.in.Environment != nil {
				n = len(*tt.in.Environment)
			}
			envPart := append([]string{}, rest[:n]...)
			sort.Strings(envPart)
			rest = append(envPart, rest[n:]...)
			if len(rest) == 0 {
				rest = nil
			}
			if !reflect.DeepEqual(rest, tt.want) {
				t.Errorf("env = %q, want %q", rest, tt.want)
			}
		})
	}
}

// The process sees the last value of a duplicated key: environment overrides the provider's own
// variables, and the previous output overrides an environment entry of the same name.
func TestRunEnvironmentPrecedence(t *testing.T) {
	t.Setenv("CASTLE_INHERITED", "inherited")
	env := map[string]string{"CASTLE_INHERITED": "from-environment", "PULUMI_COMMAND_STDOUT": "from-environment"}
	out := BaseOutputs{Stdout: "previous"}
	err := run(context.Background(), `echo "$CASTLE_INHERITED $PULUMI_COMMAND_STDOUT"`,
		BaseInputs{Environment: &env}, &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Stdout != "from-environment previous" {
		t.Errorf("stdout = %q", out.Stdout)
	}
}

func TestRunFailureMessage(t *testing.T) {
	// The format: process error, the command quoted as a Go string, then the combined output.
	err := runFailure(errors.New("exit status 3"), "echo \"hi\"\nexit 3", "hi\nboom\n")
	want := "exit status 3: running \"echo \\\"hi\\\"\\nexit 3\":\nhi\nboom\n"
	if err.Error() != want {
		t.Errorf("message = %q, want %q", err.Error(), want)
	}

	// A real failing command: the exit status and stderr are in the message, and the process error
	// is wrapped.
	var out BaseOutputs
	err = run(context.Background(), "echo 'no such cluster' >&2; exit 3", BaseInputs{}, &out, nil)
	if err == nil {
		t.Fatal("want an error")
	}
	want = "exit status 3: running \"echo 'no such cluster' >&2; exit 3\":\nno such cluster\n"
	if err.Error() != want {
		t.Errorf("message = %q, want %q", err.Error(), want)
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 {
		t.Errorf("want a wrapped *exec.ExitError with code 3, got %T", errors.Unwrap(err))
	}
	if out.Stdout != "" || out.Stderr != "" {
		t.Errorf("a failed run must not set outputs, got %+v", out)
	}

	// A directory that does not exist fails before the command starts.
	err = run(context.Background(), "true", BaseInputs{Dir: strp("/nonexistent/castle")}, &out, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "chdir /nonexistent/castle: no such file or directory: running \"true\":\n") {
		t.Errorf("missing dir: got %v", err)
	}
}

func TestRunOutputsStdinDirInterpreter(t *testing.T) {
	dir := t.TempDir()
	var out BaseOutputs
	in := BaseInputs{Stdin: strp("line1\nline2\n"), Dir: &dir}
	// Only one trailing newline is trimmed.
	if err := run(context.Background(), "cat; pwd; echo; echo warn >&2", in, &out, nil); err != nil {
		t.Fatal(err)
	}
	if want := "line1\nline2\n" + dir + "\n"; out.Stdout != want {
		t.Errorf("stdout = %q, want %q", out.Stdout, want)
	}
	if out.Stderr != "warn" {
		t.Errorf("stderr = %q", out.Stderr)
	}

	interp := []string{"/bin/bash", "-c"}
	if err := run(context.Background(), `echo "${BASH_VERSION:+bash}"`, BaseInputs{Interpreter: &interp}, &out, nil); err != nil {
		t.Fatal(err)
	}
	if out.Stdout != "bash" {
		t.Errorf("interpreter: stdout = %q", out.Stdout)
	}
	// An empty interpreter means the default.
	empty := []string{}
	if got := commandArgs(&empty, "x"); !reflect.DeepEqual(got, []string{"/bin/sh", "-c", "x"}) {
		t.Errorf("empty interpreter: %v", got)
	}
}

func TestRunLoggingSelection(t *testing.T) {
	modes := map[string]*Logging{}
	for _, l := range []Logging{LogStdout, LogStderr, LogStdoutAndStderr, NoLogging, "bogus"} {
		l := l
		modes[string(l)] = &l
	}
	modes["unset"] = nil
	want := map[string][]string{
		"stdout":          {"foo"},
		"stderr":          {"bar"},
		"stdoutAndStderr": {"bar", "foo"},
		"none":            nil,
		"bogus":           nil,
		"unset":           {"bar", "foo"},
	}
	for name, mode := range modes {
		t.Run(name, func(t *testing.T) {
			var mu sync.Mutex
			var lines []string
			log := func(l string) {
				mu.Lock()
				defer mu.Unlock()
				lines = append(lines, l)
			}
			var out BaseOutputs
			if err := run(context.Background(), "echo foo; echo bar >&2", BaseInputs{Logging: mode}, &out, log); err != nil {
				t.Fatal(err)
			}
			sort.Strings(lines)
			if !reflect.DeepEqual(lines, want[name]) {
				t.Errorf("logged %q, want %q", lines, want[name])
			}
			// Logging never affects the captured outputs.
			if out.Stdout != "foo" || out.Stderr != "bar" {
				t.Errorf("outputs = %+v", out)
			}
		})
	}
}

func TestStreamLines(t *testing.T) {
	long := strings.Repeat("x", 200*1024) // beyond bufio.Scanner's 64 KiB token limit
	var lines []string
	streamLines(strings.NewReader("a\r\n\nb\n"+long+"\nlast"), func(l string) { lines = append(lines, l) })
	want := []string{"a", "", "b", long, "last"}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("got %d lines, want %d", len(lines), len(want))
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var out BaseOutputs
	start := time.Now()
	err := run(ctx, "exec sleep 30", BaseInputs{}, &out, nil)
	if err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("want a prompt error, got %v after %v", err, time.Since(start))
	}
	if !strings.Contains(err.Error(), `running "exec sleep 30"`) {
		t.Errorf("message = %q", err.Error())
	}
}

func TestGlobAssets(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"assets/logos/logo.svg", "src/index.js", "src/secret.js"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The example of upstream's documentation (provider/pkg/provider/local/base.go).
	got, err := globAssets(dir, []string{"assets/**", "src/**.js", "!**secret.*"})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := []string{"assets/logos/logo.svg", "src/index.js"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("assets = %v, want %v", keys, want)
	}
}
