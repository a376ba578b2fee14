package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/blang/semver"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The fixture mirrors the cases of upstream's getPackagesFromDir: scoped and third-party providers,
// pulumi.version and pulumi.server, nested node_modules, a symlinked package, a package.json outside
// node_modules, a nested policy pack, and two copies of @pulumi/pulumi.
func TestFindPackages(t *testing.T) {
	dir := t.TempDir()
	nm := filepath.Join(dir, "node_modules")
	writeJSON(t, filepath.Join(dir, "package.json"), map[string]any{
		"name": "@pulumi/not-a-dependency", "version": "1.0.0", "pulumi": map[string]any{"resource": true},
	})
	writeJSON(t, filepath.Join(nm, "@pulumi", "pulumi", "package.json"), map[string]any{
		"name": "@pulumi/pulumi", "version": "3.248.0",
	})
	writeJSON(t, filepath.Join(nm, "@pulumi", "kubernetes", "package.json"), map[string]any{
		"name": "@pulumi/kubernetes", "version": "4.34.2",
		"pulumi": map[string]any{"resource": true, "name": "kubernetes", "version": "4.23.0"},
	})
	writeJSON(t, filepath.Join(nm, "@pulumi", "kubernetes", "node_modules", "@pulumi", "pulumi", "package.json"),
		map[string]any{"name": "@pulumi/pulumi", "version": "3.200.0"})
	writeJSON(t, filepath.Join(nm, "@pulumi", "command", "package.json"), map[string]any{
		"name": "@pulumi/command", "version": "1.2.1", "pulumi": map[string]any{"resource": true},
	})
	writeJSON(t, filepath.Join(nm, "acme-provider", "package.json"), map[string]any{
		"name": "acme-provider", "version": "0.1.0",
		"pulumi": map[string]any{"resource": true, "name": "acme", "server": "https://example.invalid/acme"},
	})
	writeJSON(t, filepath.Join(nm, "no-name", "package.json"), map[string]any{
		"name": "no-name", "version": "1.0.0", "pulumi": map[string]any{"resource": true},
	})
	writeJSON(t, filepath.Join(nm, "plain", "package.json"), map[string]any{"name": "plain", "version": "1.0.0"})
	// A package reached through a symlink (npm link, workspaces). As upstream, a directory is read
	// once, so a target that the walk reaches first outside node_modules would not count.
	elsewhere := t.TempDir()
	writeJSON(t, filepath.Join(elsewhere, "random", "package.json"), map[string]any{
		"name": "@pulumi/random", "version": "v4.18.0", "pulumi": map[string]any{"resource": true},
	})
	if err := os.Symlink(filepath.Join(elsewhere, "random"), filepath.Join(nm, "@pulumi", "random")); err != nil {
		t.Fatal(err)
	}
	// A policy pack inside the program: its providers are not the program's.
	pack := filepath.Join(dir, "policypack")
	if err := os.MkdirAll(pack, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pack, "PulumiPolicy.yaml"), []byte("runtime: nodejs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeJSON(t, filepath.Join(pack, "node_modules", "@pulumi", "aws", "package.json"), map[string]any{
		"name": "@pulumi/aws", "version": "7.0.0", "pulumi": map[string]any{"resource": true},
	})

	pkgs, sdks, err := findPackages(dir)
	if err == nil || !strings.Contains(err.Error(), `third-party plugin 'no-name'`) {
		t.Errorf("want the third-party error for no-name, got %v", err)
	}
	var got []string
	for _, p := range pkgs {
		got = append(got, strings.Join([]string{p.Kind, p.Name, p.Version, p.Server}, " "))
	}
	sort.Strings(got)
	want := []string{
		"resource acme v0.1.0 https://example.invalid/acme",
		"resource command v1.2.1 ",
		"resource kubernetes v4.23.0 ",
		"resource random v4.18.0 ",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("packages:\n got %q\nwant %q", got, want)
	}
	if len(sdks) != 2 {
		t.Errorf("want two copies of @pulumi/pulumi, got %v", sdks)
	}
	var warn bytes.Buffer
	warnIncompatibleSDKs(&warn, sdks)
	if warn.Len() != 0 {
		t.Errorf("3.248.0 and 3.200.0 are compatible, got warning %q", warn.String())
	}
	warnIncompatibleSDKs(&warn, map[string]semver.Version{"a": semver.MustParse("3.248.0"), "b": semver.MustParse("2.0.0")})
	if !strings.Contains(warn.String(), "Differing major versions are not supported.") {
		t.Errorf("want a warning for 3.x with 2.x, got %q", warn.String())
	}
}

func TestBuildRun(t *testing.T) {
	opts, err := structpb.NewStruct(map[string]any{"nodeargs": "--max-old-space-size=4096 --enable-source-maps"})
	if err != nil {
		t.Fatal(err)
	}
	req := &pulumirpc.RunRequest{
		Project:          "castle",
		Stack:            "dev",
		Organization:     "organization",
		Parallel:         8,
		DryRun:           true,
		Config:           map[string]string{"castle:greeting": "hi", "kubernetes:context": "kind"},
		ConfigSecretKeys: []string{"castle:password"},
		Args:             []string{"extra"},
		Info: &pulumirpc.ProgramInfo{
			RootDirectory: "/p", ProgramDirectory: "/p/src", EntryPoint: ".", Options: opts,
		},
	}
	spec, err := buildRun(req, "/p/node_modules/@pulumi/pulumi/cmd/run/index.js",
		"127.0.0.1:1", "127.0.0.1:2", "/tmp/pipes", "")
	if err != nil {
		t.Fatal(err)
	}
	wantArgs := []string{
		"--max-old-space-size=4096", "--enable-source-maps",
		"/p/node_modules/@pulumi/pulumi/cmd/run/index.js",
		"--monitor", "127.0.0.1:2", "--engine", "127.0.0.1:1", "--sync", "/tmp/pipes",
		"--organization", "organization", "--project", "castle", "--root-directory", "/p",
		"--stack", "dev", "--pwd", "/p/src", "--dry-run", "--parallel", "8", ".", "extra",
	}
	if !reflect.DeepEqual(spec.args, wantArgs) {
		t.Errorf("args:\n got %q\nwant %q", spec.args, wantArgs)
	}
	wantEnv := []string{
		`PULUMI_CONFIG={"castle:config:greeting":"hi","kubernetes:config:context":"kind"}`,
		`PULUMI_CONFIG_SECRET_KEYS=["castle:password"]`,
		"PULUMI_NODEJS_TYPESCRIPT=true",
	}
	if !reflect.DeepEqual(spec.env, wantEnv) {
		t.Errorf("env:\n got %q\nwant %q", spec.env, wantEnv)
	}

	// typescript: false and tsconfig; no config at all still gives {} and [].
	opts, _ = structpb.NewStruct(map[string]any{"typescript": false, "tsconfig": "tsconfig.build.json"})
	spec, err = buildRun(&pulumirpc.RunRequest{Info: &pulumirpc.ProgramInfo{EntryPoint: "index.js", Options: opts}},
		"run", "e", "m", "", "http://zipkin")
	if err != nil {
		t.Fatal(err)
	}
	wantArgs = []string{"run", "--monitor", "m", "--engine", "e", "--parallel", "0", "--tracing", "http://zipkin", "index.js"}
	if !reflect.DeepEqual(spec.args, wantArgs) {
		t.Errorf("args:\n got %q\nwant %q", spec.args, wantArgs)
	}
	wantEnv = []string{"PULUMI_CONFIG={}", "PULUMI_CONFIG_SECRET_KEYS=[]", "PULUMI_NODEJS_TSCONFIG_PATH=tsconfig.build.json"}
	if !reflect.DeepEqual(spec.env, wantEnv) {
		t.Errorf("env:\n got %q\nwant %q", spec.env, wantEnv)
	}

	opts, _ = structpb.NewStruct(map[string]any{"packagemanager": "cargo"})
	if _, err := buildRun(&pulumirpc.RunRequest{Info: &pulumirpc.ProgramInfo{Options: opts}}, "", "", "", "", ""); err == nil {
		t.Error("want an error for packagemanager: cargo")
	}
}

func TestBuildRunPlugin(t *testing.T) {
	opts, _ := structpb.NewStruct(map[string]any{"nodeargs": "--inspect"})
	req := &pulumirpc.RunPluginRequest{
		Kind: "analyzer", Args: []string{"127.0.0.1:9"}, Env: []string{"A=1"},
		Info: &pulumirpc.ProgramInfo{ProgramDirectory: "/pack", Options: opts},
	}
	args, env, err := buildRunPlugin(req, "run-policy-pack")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"run-policy-pack", "--inspect", "127.0.0.1:9", "/pack"}; !reflect.DeepEqual(args, want) {
		t.Errorf("analyzer args: got %q want %q", args, want)
	}
	if want := []string{"A=1", "PULUMI_NODEJS_TYPESCRIPT=true"}; !reflect.DeepEqual(env, want) {
		t.Errorf("env: got %q want %q", env, want)
	}
	req.Kind = "resource"
	args, _, _ = buildRunPlugin(req, "run-plugin")
	if want := []string{"run-plugin", "--inspect", "/pack", "127.0.0.1:9"}; !reflect.DeepEqual(args, want) {
		t.Errorf("resource args: got %q want %q", args, want)
	}
	env, _ = appendStackEnv(nil, &pulumirpc.AnalyzerStackConfigureRequest{
		Project: "p", Stack: "s", Config: map[string]string{"p:k": "v"},
	})
	want := []string{"PULUMI_NODEJS_PROJECT=p", "PULUMI_NODEJS_STACK=s", "PULUMI_NODEJS_DRY_RUN=false", `PULUMI_CONFIG={"p:k":"v"}`}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("stack env: got %q want %q", env, want)
	}
}

type fakeMonitor struct {
	pulumirpc.ResourceMonitorClient
}

func (fakeMonitor) Invoke(
	_ context.Context, r *pulumirpc.ResourceInvokeRequest, _ ...grpc.CallOption,
) (*pulumirpc.InvokeResponse, error) {
	ret, _ := structpb.NewStruct(map[string]any{"tok": r.Tok})
	return &pulumirpc.InvokeResponse{Return: ret}, nil
}

// The --sync pipes answer a framed invoke, and close ends the server even when node never opened
// them (upstream leaves that goroutine blocked).
func TestSyncInvokes(t *testing.T) {
	p, done, err := serveSyncInvokes(context.Background(), fakeMonitor{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(filepath.Join(p.dir, "invoke_req"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := os.OpenFile(filepath.Join(p.dir, "invoke_res"), os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, _ := proto.Marshal(&pulumirpc.ResourceInvokeRequest{Tok: "test:index:fn"})
	if err := binary.Write(w, binary.BigEndian, uint32(len(b))); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	var n uint32
	if err := binary.Read(r, binary.BigEndian, &n); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
	var res pulumirpc.InvokeResponse
	if err := proto.Unmarshal(buf, &res); err != nil {
		t.Fatal(err)
	}
	if got := res.Return.AsMap()["tok"]; got != "test:index:fn" {
		t.Errorf("got %v", got)
	}
	p.close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("close did not stop the pipe server")
	}
}
