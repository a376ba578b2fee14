// castle-kind-defaults prints what kind v0.33.0 itself decides for a cluster config, with kind's public
// packages: the default node image (pkg/apis/config/defaults) and the config after kind's own strict
// decoding and defaulting (pkg/apis/config/v1alpha4: SetDefaultsCluster). The real tier compares the
// castle's pinned node image and generated config with it.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"sigs.k8s.io/kind/pkg/apis/config/defaults"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "image" {
		fmt.Println(defaults.Image)
		return
	}
	if len(os.Args) == 2 && os.Args[1] == "decode" {
		if err := decode(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintf(os.Stderr, "castle-kind-defaults: %v\n", err)
			os.Exit(1)
		}
		return
	}
	fmt.Fprintln(os.Stderr, "usage: castle-kind-defaults image | decode < kind-config.yaml")
	os.Exit(2)
}

// decode reads a v1alpha4 Cluster strictly (unknown fields are errors, as in kind's
// pkg/internal/apis/config/encoding), applies kind's defaults and prints it as JSON.
func decode(in io.Reader, out io.Writer) error {
	raw, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	var cluster v1alpha4.Cluster
	if err := yaml.UnmarshalStrict(raw, &cluster); err != nil {
		return fmt.Errorf("decoding the kind config: %w", err)
	}
	if cluster.Kind != "Cluster" || cluster.APIVersion != "kind.x-k8s.io/v1alpha4" {
		return fmt.Errorf("want kind Cluster, apiVersion kind.x-k8s.io/v1alpha4; got %q, %q", cluster.Kind, cluster.APIVersion)
	}
	v1alpha4.SetDefaultsCluster(&cluster)
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(cluster)
}
