// castle-cilium-oracle answers Cilium policy verdicts for flows with Cilium's own policy code, so that
// the project's TypeScript policy evaluator can be tested differentially against it. It reads one JSON
// document on stdin (policies as Kubernetes manifests, subject endpoints, flows) and writes one JSON
// document on stdout (policies Cilium refuses, one verdict per flow). See README.md for the format.
//
// This file, oracle.go, identities.go and ipcache.go are shared with tools/go/cilium-oracle-1.20, which
// links to them; cilium_v1_*.go hold what differs between the two Cilium versions.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "--version", "version":
			fmt.Println("castle-cilium-oracle (github.com/cilium/cilium " + ciliumVersion + ")")
			return
		default:
			fmt.Fprintln(os.Stderr, "usage: castle-cilium-oracle < input.json > output.json   (see README.md)")
			os.Exit(2)
		}
	}
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "castle-cilium-oracle: reading stdin: %v\n", err)
		os.Exit(2)
	}
	out, err := runJSON(data)
	if err != nil {
		fmt.Fprintf(os.Stderr, "castle-cilium-oracle: %v\n", err)
		os.Exit(2)
	}
	os.Stdout.Write(out)
}

// runJSON decodes the input, evaluates it and encodes the output (a trailing newline included).
func runJSON(data []byte) ([]byte, error) {
	var in input
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, fmt.Errorf("decoding input: %w", err)
	}
	out, err := run(&in)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
