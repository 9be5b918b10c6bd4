package devenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindRoot(t *testing.T) {
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "functions")); err != nil {
		t.Fatalf("root %s has no functions/: %v", root, err)
	}
	deep := filepath.Join(root, "internal", "devenv")
	if got, err := FindRoot(deep); err != nil || got != root {
		t.Fatalf("FindRoot(%s) = %q, %v; want %q", deep, got, err, root)
	}
	// Another module's go.mod is not ours.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := FindRoot(other); err == nil || !strings.Contains(err.Error(), "no plsgate go.mod") {
		t.Fatalf("FindRoot in another module: %v", err)
	}
}
