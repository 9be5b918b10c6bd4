package devenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FindRoot walks up from dir to the plsgate repository root: the directory
// whose go.mod declares this module (another module's go.mod is not ours).
// Tests, the demo and the benchmark tools use it to find functions/,
// examples/ and node_modules/.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("find the repository: %w", err)
	}
	for d := dir; ; {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/plsgate/plsgate\n") {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no plsgate go.mod above %s: run it from the repository", dir)
		}
		d = parent
	}
}
