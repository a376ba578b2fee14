package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"castle.local/tools/command-provider/internal/local"
)

const (
	// pluginVersion is what GetPluginInfo reports: @pulumi/command 1.2.1 registers its resources with
	// version 1.2.1, and the engine loads the `command` plugin of that version.
	pluginVersion = "1.2.1"

	commandToken = "command:local:Command"
	runToken     = "command:local:run"

	// frameworkVersionKey/Value: pulumi-go-provider stores its own version in the provider resource's
	// inputs on CheckConfig (pulumi-go-provider v1.3.0 provider.go CheckConfig, version.go; that tag's
	// .version file says 1.2.0). Kept so that a state written by this stand-in matches upstream's.
	frameworkVersionKey   = "__pulumi-go-provider-version"
	frameworkVersionValue = "1.2.0"
)

// server implements the provider gRPC service the way pulumi-go-provider v1.3.0 (provider.go) serves
// pulumi-command v1.2.1; the resource logic is in internal/local.
type server struct {
	pulumirpc.UnimplementedResourceProviderServer

	mu     sync.Mutex
	engine pulumirpc.EngineClient
	// haveOldInputs: the engine said (Configure) that it sends old inputs to Diff, Update and Delete.
	haveOldInputs bool
	// cancels holds the cancel functions of the operations in flight, for Cancel.
	cancels map[int]context.CancelFunc
	nextOp  int
}

func newServer(engine pulumirpc.EngineClient) *server {
	return &server{engine: engine, cancels: map[int]context.CancelFunc{}}
}

// operation derives the context of one request: a timeout when the engine gives one (customTimeouts)
// and cancellation by Cancel (pulumi-go-provider v1.3.0 middleware/cancel). The command of a cancelled
// or timed-out operation is killed (exec.CommandContext).
func (s *server) operation(ctx context.Context, timeoutSeconds float64) (context.Context, func()) {
	var cancel context.CancelFunc
	if timeoutSeconds == 0 {
		ctx, cancel = context.WithCancel(ctx)
	} else {
		ctx, cancel = context.WithTimeout(ctx, time.Duration(timeoutSeconds)*time.Second)
	}
	s.mu.Lock()
	id := s.nextOp
	s.nextOp++
	s.cancels[id] = cancel
	s.mu.Unlock()
	return ctx, func() {
		s.mu.Lock()
		delete(s.cancels, id)
		s.mu.Unlock()
		cancel()
	}
}

// logger streams the command's lines to the engine as ephemeral Info messages on the resource, the way
// upstream's util.LogOutput does through pulumi-go-provider's Logger.InfoStatus → HostClient.LogStatus.
// Without an engine, or when the engine refuses, the line goes to stderr, as pulumi-go-provider falls
// back to slog.
func (s *server) logger(ctx context.Context, urn string) local.LogFunc {
	return func(line string) {
		s.mu.Lock()
		engine := s.engine
		s.mu.Unlock()
		if engine != nil {
			_, err := engine.Log(ctx, &pulumirpc.LogRequest{
				Severity:  pulumirpc.LogSeverity_INFO,
				Message:   strings.ToValidUTF8(line, "\uFFFD"),
				Urn:       urn,
				Ephemeral: true,
			})
			if err == nil {
				return
			}
		}
		fmt.Fprintf(os.Stderr, "%s: %s\n", urn, line)
	}
}

// unmarshal reads a property struct as pulumi-go-provider does (provider.go getMap): unknowns, secrets,
// resource references and output values kept, nulls dropped. The result then takes the same round trip
// through the sdk's property.Map that pulumi-go-provider's does, so values that it re-spells (a secret
// unknown becomes an output value, for one) are spelled the same here.
func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	m, err := plugin.UnmarshalProperties(s, plugin.MarshalOptions{
		KeepUnknowns:     true,
		SkipNulls:        true,
		KeepResources:    true,
		KeepSecrets:      true,
		KeepOutputValues: true,
	})
	if err != nil {
		return nil, err
	}
	return resource.ToResourcePropertyMap(resource.FromResourcePropertyMap(m)), nil
}

// marshal writes a property map as pulumi-go-provider does (provider.go asStruct).
func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	m = resource.ToResourcePropertyMap(resource.FromResourcePropertyMap(m))
	return plugin.MarshalProperties(m, plugin.MarshalOptions{
		KeepUnknowns:     true,
		SkipNulls:        true,
		KeepSecrets:      true,
		KeepOutputValues: true,
		KeepResources:    true,
	})
}

func failuresRPC(fs []local.Failure) []*pulumirpc.CheckFailure {
	out := make([]*pulumirpc.CheckFailure, len(fs))
	for i, f := range fs {
		out[i] = &pulumirpc.CheckFailure{Property: f.Property, Reason: f.Reason}
	}
	return out
}

// unknownType is the error for any token this stand-in does not implement (remote:*, the copy
// resources): the same wording for resources and functions.
func unknownType(kind, token string) error {
	return status.Errorf(codes.InvalidArgument,
		"the castle's stand-in pulumi-resource-command implements only %s and %s; %s %q is not supported",
		commandToken, runToken, kind, token)
}

func checkType(urn string) error {
	if t := string(resource.URN(urn).Type()); t != commandToken {
		return unknownType("resource", t)
	}
	return nil
}

func (s *server) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: pluginVersion}, nil
}

func (s *server) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: schemaJSON}, nil
}

// CheckConfig accepts any provider configuration (the provider declares none) and adds
// pulumi-go-provider's version key (provider.go CheckConfig).
func (s *server) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	news[frameworkVersionKey] = resource.NewStringProperty(frameworkVersionValue)
	inputs, err := marshal(news)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs}, nil
}

// DiffConfig is unimplemented upstream (no provider config), and the engine then treats a changed
// provider configuration as an update of the provider, never a replacement (sdk
// plugin/provider_plugin.go DiffConfig). Answering Unimplemented keeps exactly that behaviour.
func (s *server) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return nil, status.Error(codes.Unimplemented, "DiffConfig is not implemented")
}

// Configure records whether the engine sends old inputs and announces the protocol features
// pulumi-go-provider announces (provider.go Configure).
func (s *server) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	s.mu.Lock()
	s.haveOldInputs = req.GetSendsOldInputs() && req.GetSendsOldInputsToDelete()
	s.mu.Unlock()
	return &pulumirpc.ConfigureResponse{
		AcceptSecrets:   true,
		SupportsPreview: true,
		AcceptResources: true,
		AcceptOutputs:   true,
	}, nil
}

func (s *server) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	checked, failures, err := local.Check(news)
	if err != nil {
		return nil, err
	}
	inputs, err := marshal(checked)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failuresRPC(failures)}, nil
}

func (s *server) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	state, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	oldInputs, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	haveOldInputs := s.haveOldInputs
	s.mu.Unlock()

	d := local.Diff(state, oldInputs, news, req.GetIgnoreChanges(), haveOldInputs)
	diffs, replaces := d.TopLevel()
	detailed := map[string]*pulumirpc.PropertyDiff{}
	for path, pd := range d.Detailed {
		detailed[path] = &pulumirpc.PropertyDiff{Kind: diffKindRPC(pd.Kind), InputDiff: pd.InputDiff}
	}
	changes := pulumirpc.DiffResponse_DIFF_NONE
	if d.Changes {
		changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return &pulumirpc.DiffResponse{
		Changes:         changes,
		Diffs:           diffs,
		Replaces:        replaces,
		DetailedDiff:    detailed,
		HasDetailedDiff: true,
		// DeleteBeforeReplace stays false, as upstream: the program asks for it (deleteBeforeReplace).
	}, nil
}

func diffKindRPC(k plugin.DiffKind) pulumirpc.PropertyDiff_Kind {
	switch k {
	case plugin.DiffAddReplace:
		return pulumirpc.PropertyDiff_ADD_REPLACE
	case plugin.DiffDelete:
		return pulumirpc.PropertyDiff_DELETE
	case plugin.DiffDeleteReplace:
		return pulumirpc.PropertyDiff_DELETE_REPLACE
	case plugin.DiffUpdate:
		return pulumirpc.PropertyDiff_UPDATE
	case plugin.DiffUpdateReplace:
		return pulumirpc.PropertyDiff_UPDATE_REPLACE
	default:
		return pulumirpc.PropertyDiff_ADD
	}
}

func (s *server) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	ctx, done := s.operation(ctx, req.GetTimeout())
	defer done()
	inputs, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	name := resource.URN(req.GetUrn()).Name()
	id, outs, err := local.Create(ctx, name, inputs, req.GetPreview(), s.logger(ctx, req.GetUrn()))
	if err != nil {
		return nil, err
	}
	props, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

// Read hands the state back unchanged: refresh never runs a command and never reports drift.
func (s *server) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	state, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	inputs, err := unmarshal(req.GetInputs())
	if err != nil {
		return nil, err
	}
	if err := local.Read(state); err != nil {
		return nil, err
	}
	props, err := marshal(state)
	if err != nil {
		return nil, err
	}
	ins, err := marshal(inputs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: props, Inputs: ins}, nil
}

func (s *server) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	ctx, done := s.operation(ctx, req.GetTimeout())
	defer done()
	state, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	outs, err := local.Update(ctx, state, news, req.GetIgnoreChanges(), req.GetPreview(),
		s.logger(ctx, req.GetUrn()))
	if err != nil {
		return nil, err
	}
	props, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func (s *server) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	ctx, done := s.operation(ctx, req.GetTimeout())
	defer done()
	state, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	if err := local.Delete(ctx, state, s.logger(ctx, req.GetUrn())); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// Invoke serves command:local:run. Its log lines carry no URN, as upstream's.
func (s *server) Invoke(ctx context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	if req.GetTok() != runToken {
		return nil, unknownType("function", req.GetTok())
	}
	ctx, done := s.operation(ctx, 0)
	defer done()
	args, err := unmarshal(req.GetArgs())
	if err != nil {
		return nil, err
	}
	ret, failures, err := local.Run(ctx, args, s.logger(ctx, ""))
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.InvokeResponse{Failures: failuresRPC(failures)}
	if ret != nil {
		if resp.Return, err = marshal(ret); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// Cancel kills every command in flight (pulumi-go-provider v1.3.0 middleware/cancel).
func (s *server) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	s.mu.Lock()
	for id, cancel := range s.cancels {
		cancel()
		delete(s.cancels, id)
	}
	s.mu.Unlock()
	return &emptypb.Empty{}, nil
}

// Attach connects to the engine when the provider was started on its own (PULUMI_DEBUG_PROVIDERS).
func (s *server) Attach(_ context.Context, req *pulumirpc.PluginAttach) (*emptypb.Empty, error) {
	engine, err := dialEngine(req.GetAddress())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.engine = engine
	s.mu.Unlock()
	return &emptypb.Empty{}, nil
}
