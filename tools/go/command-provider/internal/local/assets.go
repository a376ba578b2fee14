package local

import (
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/gobwas/glob"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// globAssets returns the files under dir matched by globs, keyed by their slash-separated path
// relative to dir (provider/pkg/provider/local/commandOutputs.go globAssets): directories are never
// matched, `*` stops at `/`, `**` does not, a leading `!` excludes, and rules apply in order, so an
// exclusion only removes what earlier rules added.
func globAssets(dir string, globs []string) (map[string]*resource.Asset, error) {
	type rule struct {
		g       glob.Glob
		exclude bool
	}
	rules := make([]rule, 0, len(globs))
	for _, pattern := range globs {
		exclude := strings.HasPrefix(pattern, "!")
		g, err := glob.Compile(strings.TrimPrefix(pattern, "!"), '/')
		if err != nil {
			return nil, err
		}
		rules = append(rules, rule{g, exclude})
	}

	assets := map[string]*resource.Asset{}
	err := fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		for _, r := range rules {
			if !r.g.Match(p) {
				continue
			}
			if r.exclude {
				delete(assets, p)
				continue
			}
			asset, err := resource.NewPathAsset(path.Join(dir, p))
			if err != nil {
				return err
			}
			assets[p] = asset
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return assets, nil
}

// archiveOf bundles assets into one asset archive, as upstream does for archivePaths.
func archiveOf(assets map[string]*resource.Asset) (*resource.Archive, error) {
	m := make(map[string]any, len(assets))
	for p, a := range assets {
		m[p] = a
	}
	return resource.NewAssetArchive(m)
}
