// castle-chart-images renders Helm charts with Helm's own engine, client side (what `helm template` does:
// pkg/action Install with DryRun and ClientOnly), and prints every container image the manifests name.
// The workshop pre-pulls those images, so its list comes from the pinned charts and the castle's values,
// not from a hand-written list.
//
// Input (stdin): a JSON array of {"release", "namespace", "chart" (a chart archive), "values"}.
// Output (stdout): a JSON array of {"release", "images": [...]}, images sorted and unique.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	helmrelease "helm.sh/helm/v3/pkg/release"
	"sigs.k8s.io/yaml"
)

type release struct {
	Release   string         `json:"release"`
	Namespace string         `json:"namespace"`
	Chart     string         `json:"chart"`
	Values    map[string]any `json:"values"`
}

type images struct {
	Release string   `json:"release"`
	Images  []string `json:"images"`
}

func main() {
	kubeVersion := "v1.35.0"
	if len(os.Args) == 3 && os.Args[1] == "--kube-version" {
		kubeVersion = os.Args[2]
	} else if len(os.Args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: castle-chart-images [--kube-version v1.35.0] < releases.json")
		os.Exit(2)
	}
	if err := run(os.Stdin, os.Stdout, kubeVersion); err != nil {
		fmt.Fprintf(os.Stderr, "castle-chart-images: %v\n", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer, kubeVersion string) error {
	var releases []release
	if err := json.NewDecoder(in).Decode(&releases); err != nil {
		return fmt.Errorf("reading the releases: %w", err)
	}
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		return err
	}
	var result []images
	for _, r := range releases {
		manifest, err := render(r, kv)
		if err != nil {
			return fmt.Errorf("%s (%s): %w", r.Release, r.Chart, err)
		}
		list, err := imagesIn(manifest)
		if err != nil {
			return fmt.Errorf("%s: %w", r.Release, err)
		}
		result = append(result, images{Release: r.Release, Images: list})
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(result)
}

func render(r release, kv *chartutil.KubeVersion) (string, error) {
	chrt, err := loader.Load(r.Chart)
	if err != nil {
		return "", err
	}
	install := action.NewInstall(&action.Configuration{})
	install.DryRun = true
	install.ClientOnly = true
	install.Replace = true
	install.IncludeCRDs = true
	install.ReleaseName = r.Release
	install.Namespace = r.Namespace
	install.KubeVersion = kv
	rel, err := install.Run(chrt, r.Values)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(rel.Manifest)
	for _, h := range rel.Hooks {
		// `helm test` hooks run only when someone runs helm test; an install (the Pulumi Release) never
		// pulls their images (helm's pkg/action/install.go runs pre/post-install hooks only).
		if isTestHook(h) {
			continue
		}
		b.WriteString("\n---\n")
		b.WriteString(h.Manifest)
	}
	return b.String(), nil
}

func isTestHook(h *helmrelease.Hook) bool {
	for _, e := range h.Events {
		if e == helmrelease.HookTest {
			return true
		}
	}
	return false
}

// imagesIn walks every document for container lists (containers, initContainers, ephemeralContainers) and
// their image fields, wherever a pod template sits (Deployments, DaemonSets, Jobs, CronJobs, Pods).
func imagesIn(manifest string) ([]string, error) {
	seen := map[string]bool{}
	for _, doc := range strings.Split(manifest, "\n---") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var obj any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return nil, err
		}
		walk(obj, seen)
	}
	list := make([]string, 0, len(seen))
	for img := range seen {
		list = append(list, img)
	}
	sort.Strings(list)
	return list, nil
}

func walk(v any, seen map[string]bool) {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			if k == "containers" || k == "initContainers" || k == "ephemeralContainers" {
				if list, ok := child.([]any); ok {
					for _, c := range list {
						if m, ok := c.(map[string]any); ok {
							if img, ok := m["image"].(string); ok && img != "" {
								seen[img] = true
							}
						}
					}
				}
			}
			walk(child, seen)
		}
	case []any:
		for _, child := range t {
			walk(child, seen)
		}
	}
}
