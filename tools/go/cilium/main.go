// castle-cilium-crds registers Cilium's CustomResourceDefinitions in a cluster with Cilium's own code,
// the way cilium-operator does when it starts (pkg/k8s/apis/cilium.io/client/register.go:
// CreateCustomResourceDefinitions, which creates or updates every CRD of synced.AllCiliumCRDResourceNames
// and waits until each is Established). The real tier has no cilium-operator (no container runtime), so
// this stands in for its CRD registration: it waits until the Helm release has created the operator's
// Deployment, as the real operator can only start after that, then registers.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	ciliumclient "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/client"
	apiextclientset "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster")
	waitFor := flag.String("wait-for-deployment", "", "namespace/name of a Deployment to wait for before registering (e.g. kube-system/cilium-operator)")
	timeout := flag.Duration("timeout", 15*time.Minute, "how long to wait for the Deployment")
	flag.Parse()
	if err := run(*kubeconfig, *waitFor, *timeout); err != nil {
		fmt.Fprintf(os.Stderr, "castle-cilium-crds: %v\n", err)
		os.Exit(1)
	}
}

func run(kubeconfig, waitFor string, timeout time.Duration) error {
	if kubeconfig == "" {
		return fmt.Errorf("no kubeconfig: pass --kubeconfig or set KUBECONFIG")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("reading kubeconfig %s: %w", kubeconfig, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if waitFor != "" {
		ns, name, ok := strings.Cut(waitFor, "/")
		if !ok {
			return fmt.Errorf("--wait-for-deployment %q: want namespace/name", waitFor)
		}
		kube, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return err
		}
		for {
			_, err := kube.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
			if err == nil {
				break
			}
			if !apierrors.IsNotFound(err) && ctx.Err() == nil {
				fmt.Fprintf(os.Stderr, "castle-cilium-crds: waiting for deployment %s: %v\n", waitFor, err)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("deployment %s did not appear within %s", waitFor, timeout)
			case <-time.After(time.Second):
			}
		}
	}
	ext, err := apiextclientset.NewForConfig(cfg)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := ciliumclient.CreateCustomResourceDefinitions(logger, ext); err != nil {
		return fmt.Errorf("registering Cilium's CRDs: %w", err)
	}
	fmt.Println("cilium CRDs registered")
	return nil
}
