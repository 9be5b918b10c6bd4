package extproc

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/plsgate/plsgate/internal/devenv"
)

// TestEveryProcessStartSkipsUnderShort reads every test file of the repository: a Test, Benchmark
// or Fuzz function that starts a process (exec.Command, exec.CommandContext, os.StartProcess, or
// internal/demo's Run, which launches Azurite and plsgate) itself or through a function of its own
// test files must call SkipShort on that path. Azurite through internal/testutil/azurite or
// internal/testenv needs nothing: the harness skips.
func TestEveryProcessStartSkipsUnderShort(t *testing.T) {
	root, err := devenv.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	pkgs := map[string][]*ast.File{} // directory → its test files
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (n == "node_modules" || n == "testdata" || strings.HasPrefix(n, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		pkgs[filepath.Dir(path)] = append(pkgs[filepath.Dir(path)], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	for dir, files := range pkgs {
		bad = append(bad, unskipped(fset, filepath.Base(dir) == "demo", files)...)
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Errorf("%s: starts a process without extproc.SkipShort", b)
	}
}

// unskipped lists "file:line: TestX" for each top-level test of one package's files that reaches
// a process start but no SkipShort.
func unskipped(fset *token.FileSet, demo bool, files []*ast.File) []string {
	funcs := map[string]*ast.FuncDecl{}
	for _, f := range files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Body != nil {
				funcs[fd.Name.Name] = fd
			}
		}
	}
	var out []string
	for name, fd := range funcs {
		if !strings.HasPrefix(name, "Test") && !strings.HasPrefix(name, "Benchmark") && !strings.HasPrefix(name, "Fuzz") {
			continue
		}
		var start token.Pos
		skips := false
		seen := map[string]bool{}
		var walk func(fd *ast.FuncDecl)
		walk = func(fd *ast.FuncDecl) {
			if seen[fd.Name.Name] {
				return
			}
			seen[fd.Name.Name] = true
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				switch fn := call.Fun.(type) {
				case *ast.SelectorExpr:
					pkg, _ := fn.X.(*ast.Ident)
					switch {
					case pkg == nil:
					case pkg.Name == "exec" && (fn.Sel.Name == "Command" || fn.Sel.Name == "CommandContext"),
						pkg.Name == "os" && fn.Sel.Name == "StartProcess":
						if start == token.NoPos {
							start = call.Pos()
						}
					case pkg.Name == "extproc" && fn.Sel.Name == "SkipShort":
						skips = true
					}
				case *ast.Ident:
					switch {
					case fn.Name == "SkipShort": // in this package
						skips = true
					case demo && fn.Name == "Run" && start == token.NoPos:
						start = call.Pos()
					case funcs[fn.Name] != nil:
						walk(funcs[fn.Name])
					}
				}
				return true
			})
		}
		walk(fd)
		if start != token.NoPos && !skips {
			p := fset.Position(start)
			out = append(out, fmt.Sprintf("%s:%d: %s", filepath.Base(p.Filename), p.Line, name))
		}
	}
	return out
}
