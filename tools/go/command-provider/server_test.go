package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// fakeEngine records the log messages a provider sends to the engine.
type fakeEngine struct {
	pulumirpc.UnimplementedEngineServer
	mu   sync.Mutex
	logs []*pulumirpc.LogRequest
}

func (e *fakeEngine) Log(_ context.Context, req *pulumirpc.LogRequest) (*emptypb.Empty, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.logs = append(e.logs, req)
	return &emptypb.Empty{}, nil
}

func (e *fakeEngine) take() []*pulumirpc.LogRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.logs
	e.logs = nil
	return l
}

func serveGRPC(t *testing.T, register func(*grpc.Server)) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	register(srv)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// startProvider serves the provider over real gRPC, wired to a fake engine, as the CLI would.
func startProvider(t *testing.T) (pulumirpc.ResourceProviderClient, *fakeEngine) {
	t.Helper()
	engine := &fakeEngine{}
	engineAddr := serveGRPC(t, func(s *grpc.Server) { pulumirpc.RegisterEngineServer(s, engine) })
	engineClient, err := dialEngine(engineAddr)
	if err != nil {
		t.Fatal(err)
	}
	addr := serveGRPC(t, func(s *grpc.Server) { pulumirpc.RegisterResourceProviderServer(s, newServer(engineClient)) })
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return pulumirpc.NewResourceProviderClient(conn), engine
}

// The engine's side of the wire: secrets and (in previews) unknowns kept.
func wire(t *testing.T, m resource.PropertyMap) *structpb.Struct {
	t.Helper()
	s, err := plugin.MarshalProperties(m, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func unwire(t *testing.T, s *structpb.Struct) resource.PropertyMap {
	t.Helper()
	m, err := plugin.UnmarshalProperties(s, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

const testURN = "urn:pulumi:dev::castle::castle:cluster:KindCluster$command:local:Command::castle-kind"

func TestServerProtocol(t *testing.T) {
	ctx := context.Background()
	p, engine := startProvider(t)

	info, err := p.GetPluginInfo(ctx, &emptypb.Empty{})
	if err != nil || info.GetVersion() != "1.2.1" {
		t.Fatalf("GetPluginInfo: %v %v", info, err)
	}

	schema, err := p.GetSchema(ctx, &pulumirpc.GetSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Name      string
		Version   string
		Resources map[string]struct {
			InputProperties map[string]struct{ ReplaceOnChanges bool }
			Required        []string
		}
	}
	if err := json.Unmarshal([]byte(schema.GetSchema()), &spec); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	cmd, ok := spec.Resources["command:local:Command"]
	if spec.Name != "command" || spec.Version != "1.2.1" || !ok || !cmd.InputProperties["triggers"].ReplaceOnChanges {
		t.Errorf("schema: %+v", spec)
	}

	cfg, err := p.Configure(ctx, &pulumirpc.ConfigureRequest{SendsOldInputs: true, SendsOldInputsToDelete: true})
	if err != nil || !cfg.GetAcceptSecrets() || !cfg.GetSupportsPreview() || !cfg.GetAcceptResources() || !cfg.GetAcceptOutputs() {
		t.Fatalf("Configure: %v %v", cfg, err)
	}

	cc, err := p.CheckConfig(ctx, &pulumirpc.CheckRequest{News: wire(t, resource.PropertyMap{"version": str("1.2.1")})})
	if err != nil {
		t.Fatal(err)
	}
	if got := unwire(t, cc.GetInputs()); got["version"] != str("1.2.1") || got["__pulumi-go-provider-version"] != str("1.2.0") {
		t.Errorf("CheckConfig inputs = %v", got)
	}
	if _, err := p.DiffConfig(ctx, &pulumirpc.DiffRequest{}); status.Code(err) != codes.Unimplemented {
		t.Errorf("DiffConfig: want Unimplemented, got %v", err)
	}

	// Check: failures, not errors.
	chk, err := p.Check(ctx, &pulumirpc.CheckRequest{Urn: testURN, News: wire(t, resource.PropertyMap{"stdin": resource.NewNumberProperty(1)})})
	if err != nil || len(chk.GetFailures()) != 1 || chk.GetFailures()[0].GetProperty() != "stdin" {
		t.Fatalf("Check: %v %v", chk, err)
	}

	dir := t.TempDir()
	deleted := filepath.Join(dir, "deleted")
	inputs := resource.PropertyMap{
		"create":      str(`echo "kubeconfig for $CASTLE_CLUSTER"; echo "creating $CASTLE_CLUSTER" >&2`),
		"delete":      str(`echo "$PULUMI_COMMAND_STDOUT" > ` + deleted),
		"environment": resource.NewObjectProperty(resource.PropertyMap{"CASTLE_CLUSTER": resource.MakeSecret(str("castle"))}),
		"logging":     str("stderr"),
		"triggers":    resource.NewArrayProperty([]resource.PropertyValue{str("config-v1")}),
	}

	// Preview create: unknown stdout/stderr, the secret input still secret.
	prev, err := p.Create(ctx, &pulumirpc.CreateRequest{Urn: testURN, Properties: wire(t, inputs), Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	po := unwire(t, prev.GetProperties())
	if !po["stdout"].IsComputed() || !po["stderr"].IsComputed() {
		t.Errorf("preview: stdout/stderr should be unknown: %v", po)
	}
	if !po["environment"].ObjectValue()["CASTLE_CLUSTER"].IsSecret() {
		t.Errorf("preview: secret input lost its secrecy: %v", po["environment"])
	}
	if len(engine.take()) != 0 {
		t.Error("preview must not run or log anything")
	}

	created, err := p.Create(ctx, &pulumirpc.CreateRequest{Urn: testURN, Properties: wire(t, inputs)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(created.GetId(), "castle-kind") {
		t.Errorf("id = %q", created.GetId())
	}
	state := unwire(t, created.GetProperties())
	if state["stdout"] != str("kubeconfig for castle") || state["stderr"] != str("creating castle") {
		t.Errorf("state = %v", state)
	}
	logs := engine.take()
	if len(logs) != 1 || logs[0].GetMessage() != "creating castle" || !logs[0].GetEphemeral() ||
		logs[0].GetUrn() != testURN || logs[0].GetSeverity() != pulumirpc.LogSeverity_INFO {
		t.Errorf("logs = %v", logs)
	}

	// Diff: a changed trigger is an update at triggers[0] (the SDK's replaceOnChanges turns it into a
	// replacement in the engine); an environment change is an update.
	news := inputs.Copy()
	news["triggers"] = resource.NewArrayProperty([]resource.PropertyValue{str("config-v2")})
	d, err := p.Diff(ctx, &pulumirpc.DiffRequest{Urn: testURN, Id: created.GetId(), Olds: wire(t, state), OldInputs: wire(t, inputs), News: wire(t, news)})
	if err != nil {
		t.Fatal(err)
	}
	if d.GetChanges() != pulumirpc.DiffResponse_DIFF_SOME || len(d.GetReplaces()) != 0 || !d.GetHasDetailedDiff() ||
		d.GetDetailedDiff()["triggers[0]"].GetKind() != pulumirpc.PropertyDiff_UPDATE || d.GetDeleteBeforeReplace() {
		t.Errorf("diff = %v", d)
	}
	d, err = p.Diff(ctx, &pulumirpc.DiffRequest{Urn: testURN, Id: created.GetId(), Olds: wire(t, state), OldInputs: wire(t, inputs), News: wire(t, inputs)})
	if err != nil || d.GetChanges() != pulumirpc.DiffResponse_DIFF_NONE {
		t.Errorf("no-op diff = %v %v", d, err)
	}

	// Update re-runs create (no update command).
	news = inputs.Copy()
	news["environment"] = resource.NewObjectProperty(resource.PropertyMap{"CASTLE_CLUSTER": str("castle2")})
	up, err := p.Update(ctx, &pulumirpc.UpdateRequest{Urn: testURN, Id: created.GetId(), Olds: wire(t, state), OldInputs: wire(t, inputs), News: wire(t, news)})
	if err != nil {
		t.Fatal(err)
	}
	state = unwire(t, up.GetProperties())
	if state["stdout"] != str("kubeconfig for castle2") {
		t.Errorf("updated state = %v", state)
	}
	engine.take()

	// Delete runs delete with the previous stdout.
	if _, err := p.Delete(ctx, &pulumirpc.DeleteRequest{Urn: testURN, Id: created.GetId(), Properties: wire(t, state), OldInputs: wire(t, news)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(deleted); string(got) != "kubeconfig for castle2\n" {
		t.Errorf("delete saw %q", got)
	}

	// A failing command: an error whose message is upstream's.
	_, err = p.Create(ctx, &pulumirpc.CreateRequest{Urn: testURN, Properties: wire(t, resource.PropertyMap{"create": str("echo 'boom' >&2; exit 2")})})
	if st, _ := status.FromError(err); st.Code() != codes.Unknown || st.Message() != "exit status 2: running \"echo 'boom' >&2; exit 2\":\nboom\n" {
		t.Errorf("failing create: %v", err)
	}

	// Read hands the state back unchanged.
	rd, err := p.Read(ctx, &pulumirpc.ReadRequest{Urn: testURN, Id: "x", Properties: wire(t, state), Inputs: wire(t, news)})
	if err != nil || rd.GetId() != "x" || !unwire(t, rd.GetProperties()).DeepEquals(state) {
		t.Errorf("read: %v %v", rd, err)
	}

	// What this stand-in does not implement is refused by name.
	_, err = p.Check(ctx, &pulumirpc.CheckRequest{Urn: "urn:pulumi:dev::castle::command:remote:Command::x", News: wire(t, resource.PropertyMap{})})
	if err == nil || !strings.Contains(err.Error(), `resource "command:remote:Command" is not supported`) {
		t.Errorf("remote:Command: %v", err)
	}

	// local.run invoke.
	inv, err := p.Invoke(ctx, &pulumirpc.InvokeRequest{Tok: "command:local:run", Args: wire(t, resource.PropertyMap{"command": str("echo ran")})})
	if err != nil || unwire(t, inv.GetReturn())["stdout"] != str("ran") {
		t.Errorf("invoke: %v %v", inv, err)
	}
}

func str(s string) resource.PropertyValue { return resource.NewStringProperty(s) }
