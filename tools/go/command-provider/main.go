// Command pulumi-resource-command is the castle's stand-in for the `command` resource plugin of
// pulumi-command v1.2.1 (command:local:Command and command:local:run). See README.md for why it exists
// and how closely it follows upstream.
//
// The plugin protocol is the one every Pulumi resource plugin speaks (pulumi/pkg/v3 resource/provider
// main.go MainContext, which upstream runs through pulumi-go-provider): the engine starts the binary
// with its own gRPC address as the only positional argument, reads the port this process listens on
// from the first line of stdout, health-checks the engine and stops serving when it goes away, and
// sends SIGINT to stop it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func main() {
	if err := serve(); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %s", err.Error())
		os.Exit(1)
	}
}

func serve() error {
	// Flags the engine may pass to any plugin (sdk plugin/plugin.go buildPluginArguments): -v and
	// -logtostderr are glog's, registered by the sdk packages this program links; --tracing is
	// accepted and ignored (this provider emits no traces).
	flag.String("tracing", "", "Zipkin-compatible tracing endpoint (ignored)")
	for _, f := range []string{"v", "logtostderr"} {
		if flag.Lookup(f) == nil {
			flag.String(f, "", "ignored")
		}
	}
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var engine pulumirpc.EngineClient
	switch args := flag.Args(); len(args) {
	case 0:
		// Attach mode (PULUMI_DEBUG_PROVIDERS): the engine calls Attach with its address.
	case 1:
		var err error
		if engine, err = dialEngine(args[0]); err != nil {
			return fmt.Errorf("fatal: could not connect to host RPC: %w", err)
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		if err := rpcutil.Healthcheck(ctx, args[0], 5*time.Minute, cancel); err != nil {
			return fmt.Errorf("could not start health check host RPC server: %w", err)
		}
	default:
		return fmt.Errorf("fatal: expected at most one argument (the engine's address), got %d", len(args))
	}

	stopServing := make(chan bool)
	go func() {
		<-ctx.Done()
		close(stopServing)
	}()
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stopServing,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(srv, newServer(engine))
			return nil
		},
	})
	if err != nil {
		return fmt.Errorf("fatal: %w", err)
	}
	// The plugin protocol: the first line on stdout is the port.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		return fmt.Errorf("fatal: %w", err)
	}
	return nil
}

// dialEngine connects to the engine's gRPC server, which takes the provider's log messages.
func dialEngine(addr string) (pulumirpc.EngineClient, error) {
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		rpcutil.GrpcChannelOptions())
	if err != nil {
		return nil, err
	}
	return pulumirpc.NewEngineClient(conn), nil
}
