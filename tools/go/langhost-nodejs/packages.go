package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/blang/semver"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// GetRequiredPackages lists the resource plugins of the program's node_modules (upstream main.go
// GetRequiredPackages). Errors met on the way are only logged, and a mix of incompatible
// @pulumi/pulumi versions is only warned about on stderr, as upstream does.
//
// GetRequiredPlugins is left to the embedded Unimplemented server, as upstream does: the engine
// calls GetRequiredPackages and only falls back to GetRequiredPlugins on Unimplemented.
func (h *host) GetRequiredPackages(
	_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	pkgs, sdkVersions, err := findPackages(req.GetInfo().GetProgramDirectory())
	if err != nil {
		logging.V(3).Infof("one or more errors while discovering plugins: %s", err)
	} else {
		warnIncompatibleSDKs(os.Stderr, sdkVersions)
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, nil
}

// packageJSON is the part of a package.json this host reads (upstream main.go packageJSON).
type packageJSON struct {
	Name    string                  `json:"name"`
	Version string                  `json:"version"`
	Pulumi  plugin.PulumiPluginJSON `json:"pulumi"`
}

// findPackages walks dir deeply (upstream main.go getPackagesFromDir): every directory is entered,
// symlinks are followed once, nested policy packs are skipped (their plugins are not the program's),
// and a package.json counts only below a node_modules directory. It returns the resource packages
// found, and the path → version of each @pulumi/pulumi copy.
func findPackages(dir string) ([]*pulumirpc.PackageDependency, map[string]semver.Version, error) {
	w := &walker{visited: map[string]bool{}, sdks: map[string]semver.Version{}}
	w.walk(dir, false)
	return w.pkgs, w.sdks, errors.Join(w.errs...)
}

type walker struct {
	visited map[string]bool
	sdks    map[string]semver.Version
	pkgs    []*pulumirpc.PackageDependency
	errs    []error
}

func (w *walker) walk(dir string, inNodeModules bool) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		w.errs = append(w.errs, fmt.Errorf("getting full path for plugin dir %s: %w", dir, err))
		return
	}
	if w.visited[dir] {
		return
	}
	w.visited[dir] = true
	entries, err := os.ReadDir(dir)
	if err != nil {
		w.errs = append(w.errs, fmt.Errorf("reading plugin dir %s: %w", dir, err))
		return
	}
	childInNodeModules := inNodeModules || filepath.Base(dir) == "node_modules"
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		isDir := e.IsDir()
		if e.Type()&os.ModeSymlink != 0 {
			if path, err = filepath.EvalSymlinks(path); err != nil {
				w.errs = append(w.errs, fmt.Errorf("resolving link in plugin dir %s: %w", path, err))
				continue
			}
			fi, err := os.Stat(path)
			if err != nil {
				w.errs = append(w.errs, err)
				continue
			}
			isDir = fi.IsDir()
		}
		switch {
		case isDir:
			if pack, err := workspace.DetectPolicyPackPathAt(path); err != nil {
				w.errs = append(w.errs, err)
				continue
			} else if pack != "" {
				continue
			}
			w.walk(path, childInNodeModules)
		case inNodeModules && e.Name() == "package.json":
			w.readPackageJSON(path)
		}
	}
}

func (w *walker) readPackageJSON(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		w.errs = append(w.errs, fmt.Errorf("reading package.json %s: %w", path, err))
		return
	}
	var info packageJSON
	if err := json.Unmarshal(b, &info); err != nil {
		w.errs = append(w.errs, fmt.Errorf("unmarshaling package.json %s: %w", path, err))
		return
	}
	if info.Name == "@pulumi/pulumi" {
		v, err := semver.Parse(info.Version)
		if err != nil {
			w.errs = append(w.errs, fmt.Errorf("Could not understand version %s in '%s': %w", info.Version, path, err))
			return
		}
		w.sdks[path] = v
	}
	dep, err := packageDependency(info)
	if err != nil {
		w.errs = append(w.errs, fmt.Errorf("unmarshaling package.json %s: %w", path, err))
	} else if dep != nil {
		w.pkgs = append(w.pkgs, dep)
	}
}

// packageDependency turns a package.json with `"pulumi": {"resource": true, ...}` into a package
// dependency (upstream main.go getPackageInfo, getPluginName, getPluginVersion): the name is
// pulumi.name, else the @pulumi/ package's bare name (third-party packages must give pulumi.name);
// the version is pulumi.version, else the package's version, always with a leading "v".
func packageDependency(info packageJSON) (*pulumirpc.PackageDependency, error) {
	if !info.Pulumi.Resource {
		return nil, nil
	}
	name := info.Pulumi.Name
	if name == "" {
		switch {
		case info.Name == "":
			return nil, errors.New("missing expected \"name\" property")
		case strings.HasPrefix(info.Name, "@pulumi/"):
			name = strings.TrimPrefix(info.Name, "@pulumi/")
		default:
			return nil, fmt.Errorf("Missing property \"name\" for the third-party plugin '%v' "+
				"inside package.json under the \"pulumi\" section.", info.Name)
		}
	}
	version := info.Pulumi.Version
	if version == "" {
		if version = info.Version; version == "" {
			return nil, errors.New("Missing expected \"version\" property")
		}
	}
	if !strings.HasPrefix(version, "v") {
		version = "v" + version
	}
	dep := &pulumirpc.PackageDependency{Name: name, Kind: "resource", Version: version, Server: info.Pulumi.Server}
	if p := info.Pulumi.Parameterization; p != nil {
		dep.Parameterization = &pulumirpc.PackageParameterization{Name: p.Name, Version: p.Version, Value: p.Value}
	}
	return dep, nil
}

// warnIncompatibleSDKs prints upstream's warning when two copies of @pulumi/pulumi are incompatible
// (upstream main.go GetRequiredPackages). Upstream compares against whichever copy a map iteration
// yields first; this compares against the first path in sorted order.
func warnIncompatibleSDKs(out io.Writer, sdks map[string]semver.Version) {
	paths := make([]string, 0, len(sdks))
	for p := range sdks {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths[min(1, len(paths)):] {
		first, v := sdks[paths[0]], sdks[p]
		if msg := incompatible(v, first); msg != "" {
			fmt.Fprintf(out, "Found incompatible versions of @pulumi/pulumi. %s\n  Version %s referenced at %s\n"+
				"  Version %s referenced at %s\n", msg, first, paths[0], v, p)
			return
		}
	}
}

// incompatible says why two SDK versions cannot be mixed, or "" (upstream main.go compatibleVersions).
func incompatible(a, b semver.Version) string {
	const majorMinor = "Differing major or minor versions are not supported."
	switch {
	case a.Major == 0 && b.Major == 0:
		if a.Minor != b.Minor {
			return majorMinor
		}
	case a.Major >= 1 && a.Major <= 2 && b.Major >= 1 && b.Major <= 2:
	case a.Major > 2 || b.Major > 2:
		if a.Major != b.Major {
			return "Differing major versions are not supported."
		}
	case a.Major == 1 && b.Major == 0 && b.Minor == 17, b.Major == 1 && a.Major == 0 && a.Minor == 17:
	default:
		return majorMinor
	}
	return ""
}
