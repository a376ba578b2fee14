package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// sharedFiles are kept byte-identical in tools/go/cilium-oracle-1.19 and tools/go/cilium-oracle-1.20:
// copies rather than symlinks, because scripts/tools.sh keys its build cache on the regular files of
// a wrapper (find -type f), which would not see a symlinked source change.
var sharedFiles = []string{"main.go", "oracle.go", "identities.go", "ipcache.go", "oracle_test.go", "shared_test.go"}

func TestSharedFilesIdentical(t *testing.T) {
	sibling := map[string]string{"v1.19.5": "cilium-oracle-1.20", "v1.20.0": "cilium-oracle-1.19"}[ciliumVersion]
	dir := filepath.Join("..", sibling)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no sibling wrapper at %s", dir)
	}
	for _, f := range sharedFiles {
		a, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from %s: copy the edited one over the other", f, filepath.Join(dir, f))
		}
	}
}
