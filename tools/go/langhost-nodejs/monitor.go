package main

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// monitorProxy is the resource monitor node talks to; it forwards every call to the engine's
// monitor (upstream proxy.go monitorProxy). RegisterResource gets the "pulumi-runtime: nodejs"
// header: the engine's requestFromNodeJS (pkg/resource/deploy/source_eval.go) looks for it to apply
// its alias compatibility fix for old Node SDKs, and through this proxy the user agent is Go's.
type monitorProxy struct {
	pulumirpc.UnimplementedResourceMonitorServer
	target pulumirpc.ResourceMonitorClient
}

func (p *monitorProxy) GetDeploymentInfo(ctx context.Context, r *emptypb.Empty) (*pulumirpc.DeploymentInfo, error) {
	return p.target.GetDeploymentInfo(ctx, r)
}

func (p *monitorProxy) SupportsFeature(
	ctx context.Context, r *pulumirpc.SupportsFeatureRequest,
) (*pulumirpc.SupportsFeatureResponse, error) {
	return p.target.SupportsFeature(ctx, r)
}

func (p *monitorProxy) Invoke(
	ctx context.Context, r *pulumirpc.ResourceInvokeRequest,
) (*pulumirpc.InvokeResponse, error) {
	return p.target.Invoke(ctx, r)
}

func (p *monitorProxy) Call(ctx context.Context, r *pulumirpc.ResourceCallRequest) (*pulumirpc.CallResponse, error) {
	return p.target.Call(ctx, r)
}

func (p *monitorProxy) ReadResource(
	ctx context.Context, r *pulumirpc.ReadResourceRequest,
) (*pulumirpc.ReadResourceResponse, error) {
	return p.target.ReadResource(ctx, r)
}

func (p *monitorProxy) RegisterResource(
	ctx context.Context, r *pulumirpc.RegisterResourceRequest,
) (*pulumirpc.RegisterResourceResponse, error) {
	return p.target.RegisterResource(metadata.AppendToOutgoingContext(ctx, "pulumi-runtime", "nodejs"), r)
}

func (p *monitorProxy) RegisterResourceOutputs(
	ctx context.Context, r *pulumirpc.RegisterResourceOutputsRequest,
) (*emptypb.Empty, error) {
	return p.target.RegisterResourceOutputs(ctx, r)
}

func (p *monitorProxy) RegisterStackTransform(ctx context.Context, r *pulumirpc.Callback) (*emptypb.Empty, error) {
	return p.target.RegisterStackTransform(ctx, r)
}

func (p *monitorProxy) RegisterStackInvokeTransform(
	ctx context.Context, r *pulumirpc.Callback,
) (*emptypb.Empty, error) {
	return p.target.RegisterStackInvokeTransform(ctx, r)
}

func (p *monitorProxy) RegisterResourceHook(
	ctx context.Context, r *pulumirpc.RegisterResourceHookRequest,
) (*emptypb.Empty, error) {
	return p.target.RegisterResourceHook(ctx, r)
}

func (p *monitorProxy) RegisterErrorHook(
	ctx context.Context, r *pulumirpc.RegisterErrorHookRequest,
) (*emptypb.Empty, error) {
	return p.target.RegisterErrorHook(ctx, r)
}

func (p *monitorProxy) RegisterPackage(
	ctx context.Context, r *pulumirpc.RegisterPackageRequest,
) (*pulumirpc.RegisterPackageResponse, error) {
	return p.target.RegisterPackage(ctx, r)
}

func (p *monitorProxy) SignalAndWaitForShutdown(ctx context.Context, r *emptypb.Empty) (*emptypb.Empty, error) {
	return p.target.SignalAndWaitForShutdown(ctx, r)
}

// syncPipes are the two FIFOs, invoke_req and invoke_res, of the directory passed to node as --sync
// (upstream proxy.go servePipes and proxy_unix.go). @pulumi/pulumi 3.248 still reads --sync
// (runtime/settings.js tryGetSyncInvokes) though nothing in it calls that any more. The protocol:
// node writes a 4-byte big-endian length and a ResourceInvokeRequest; we answer the same way with
// an InvokeResponse, an invoke error going back as a CheckFailure since the pipe has no error frame.
type syncPipes struct {
	dir      string
	req, res *os.File
}

// serveSyncInvokes creates the FIFOs and serves them until close. Unlike upstream, which opens
// them read-only/write-only and so blocks until node opens them (forever, when node never does),
// both are opened read-write, which does not block on Linux; close then ends the serving goroutine.
func serveSyncInvokes(ctx context.Context, target pulumirpc.ResourceMonitorClient) (*syncPipes, chan error, error) {
	dir, err := os.MkdirTemp("", "pulumi-node-pipes")
	if err != nil {
		return nil, nil, err
	}
	p := &syncPipes{dir: dir}
	open := func(name string) (*os.File, error) {
		path := filepath.Join(dir, name)
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			return nil, err
		}
		return os.OpenFile(path, os.O_RDWR, 0)
	}
	if p.req, err = open("invoke_req"); err == nil {
		p.res, err = open("invoke_res")
	}
	if err != nil {
		p.close()
		return nil, nil, err
	}
	done := make(chan error, 1)
	go func() { done <- p.serve(ctx, target) }()
	return p, done, nil
}

func (p *syncPipes) serve(ctx context.Context, target pulumirpc.ResourceMonitorClient) error {
	for {
		var n uint32
		if err := binary.Read(p.req, binary.BigEndian, &n); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return err
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(p.req, buf); err != nil {
			return err
		}
		var req pulumirpc.ResourceInvokeRequest
		if err := proto.Unmarshal(buf, &req); err != nil {
			return err
		}
		res, err := target.Invoke(ctx, &req)
		if err != nil {
			if res == nil {
				res = &pulumirpc.InvokeResponse{}
			}
			res.Failures = append(res.Failures, &pulumirpc.CheckFailure{Reason: err.Error()})
		}
		out, err := proto.Marshal(res)
		if err != nil {
			return err
		}
		if err := binary.Write(p.res, binary.BigEndian, uint32(len(out))); err != nil { //nolint:gosec // < 2 GiB
			return err
		}
		if _, err := p.res.Write(out); err != nil {
			return err
		}
	}
}

func (p *syncPipes) close() {
	for _, f := range []*os.File{p.req, p.res} {
		if f != nil {
			_ = f.Close()
		}
	}
	_ = os.RemoveAll(p.dir)
}
