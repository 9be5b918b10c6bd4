package app

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Production (serve) and the tests (testenv) register plsgate's three functions
// through one function, Starting.Register: no other file, test or not, passes
// one of plsgate's function names to handler.Server's Handle* methods.
func TestOneTriggerRegistration(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{"FunctionEvents": true, "FunctionTimer": true, "FunctionAPI": true}
	fset := token.NewFileSet()
	var found []string
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
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !strings.HasPrefix(sel.Sel.Name, "Handle") {
				return true
			}
			var arg string
			switch a := call.Args[0].(type) {
			case *ast.Ident:
				arg = a.Name
			case *ast.SelectorExpr:
				arg = a.Sel.Name
			}
			if names[arg] {
				rel, _ := filepath.Rel(root, path)
				found = append(found, filepath.ToSlash(rel)+": "+sel.Sel.Name+"("+arg+")")
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"internal/app/register.go: HandleEvents(FunctionEvents)", "internal/app/register.go: HandleTimer(FunctionTimer)", "internal/app/register.go: HandleHTTP(FunctionAPI)"}
	if strings.Join(found, "\n") != strings.Join(want, "\n") {
		t.Errorf("plsgate's functions are registered at\n  %s\nwant only\n  %s", strings.Join(found, "\n  "), strings.Join(want, "\n  "))
	}
}

// Invocations wait for start-up within their deadline and then get its result.
func TestStartingGet(t *testing.T) {
	s := NewStarting()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := s.Get(ctx); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "still starting") {
		t.Fatalf("before start-up ends: %v", err)
	}
	a := &App{}
	go s.Set(a)
	if got, err := s.Get(context.Background()); got != a || err != nil {
		t.Fatalf("after Set: %p %v", got, err)
	}
	s.Fail(errors.New("late")) // the first result stays
	if got, err := s.Result(); got != a || err != nil {
		t.Fatalf("Result: %p %v", got, err)
	}

	f := NewStarting()
	boom := errors.New("boom")
	f.Fail(boom)
	<-f.Done()
	if _, err := f.Get(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("after Fail: %v", err)
	}
}
