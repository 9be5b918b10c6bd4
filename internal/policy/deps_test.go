package policy

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsOnlyResource: policy is pure; of plsgate's packages it may import only the
// SDK-free internal/resource (design §2).
func TestImportsOnlyResource(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range af.Imports {
			path, _ := strconv.Unquote(im.Path.Value)
			n++
			if strings.HasPrefix(path, "github.com/plsgate/plsgate/") && path != "github.com/plsgate/plsgate/internal/resource" {
				t.Errorf("%s imports %s: policy may import only internal/resource of ours", f, path)
			}
			if strings.HasPrefix(path, "github.com/Azure/") {
				t.Errorf("%s imports the Azure SDK (%s)", f, path)
			}
		}
	}
	if n == 0 {
		t.Fatal("no imports read")
	}
}
