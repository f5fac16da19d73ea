package main

// Issue 16: a location string is parsed once per run, at the edge. The
// type makes a second parse needless (a location.Location has no exported
// fields: only location.Parse and its own methods make one, and every
// storage call takes one); this test makes it visible: blob.Parse is
// called by location.Parse only, and location.Parse only where a command
// takes its flags, once per flag, never in a loop.

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// parseCalls counts, in the non-test Go files under root, the calls of
// pkg.Parse by enclosing function ("file.go:func"), and reports those
// inside a loop.
func parseCalls(t *testing.T, root, pkg string) (map[string]int, []string) {
	t.Helper()
	calls := map[string]int{}
	var inLoop []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			where := filepath.Base(path) + ":" + fn.Name.Name
			var walk func(n ast.Node, loop bool)
			walk = func(n ast.Node, loop bool) {
				ast.Inspect(n, func(n ast.Node) bool {
					switch n := n.(type) {
					case *ast.ForStmt, *ast.RangeStmt:
						if !loop {
							walk(n, true)
							return false
						}
					case *ast.CallExpr:
						if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Parse" {
							if id, ok := sel.X.(*ast.Ident); ok && id.Name == pkg {
								calls[where]++
								if loop {
									inLoop = append(inLoop, where)
								}
							}
						}
					}
					return true
				})
			}
			walk(fn.Body, false)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return calls, inLoop
}

func TestLocationParsedOncePerFlag(t *testing.T) {
	root := filepath.Join("..", "..")
	blobCalls, _ := parseCalls(t, root, "blob")
	if want := map[string]int{"location.go:Parse": 1}; !reflect.DeepEqual(blobCalls, want) {
		t.Errorf("blob.Parse called at %v, want only by location.Parse", blobCalls)
	}
	calls, inLoop := parseCalls(t, ".", "location")
	want := map[string]int{
		"runjob.go:runJob":             2, // --input, --report
		"check.go:runCheck":            2, // --input, --report
		"restore.go:parseRestoreFlags": 1, // --report
	}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("location.Parse called at %v, want %v", calls, want)
	}
	if len(inLoop) > 0 {
		t.Errorf("location.Parse called in a loop at %v", inLoop)
	}
	// Nothing in report/location parses a location again.
	inner, _ := parseCalls(t, filepath.Join(root, "report", "location"), "location")
	if len(inner) > 0 {
		t.Errorf("report/location calls location.Parse at %v", inner)
	}
}
