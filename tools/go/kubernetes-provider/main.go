// pulumi-resource-kubernetes built from the provider module at v4.25.0.
//
// Upstream's cmd/pulumi-resource-kubernetes embeds schema-embed.json, which its Makefile generates
// (cmd/pulumi-resource-kubernetes/generate.go: schema.json with the release version written in), so that
// main package cannot be built from the module cache. This main does the same with files that
// scripts/tools.sh generates beside it from the module's own schema.json and terraform-mapping.json.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
