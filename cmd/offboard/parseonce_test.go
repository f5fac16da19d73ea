package main

// Issue 16: a location string is parsed once per run, at the edge. The
// type makes a second parse needless (a location.Location has no exported
// fields: only location.Parse and its own methods make one, and every
// storage call takes one); this test makes it visible: blob.Parse is
// called by report/location only, location.Parse only where a command
// takes its flags, once per flag, never in a loop, and report/location
// parses only strings it has just made (a drop folder's blobs).

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
// pkg.Parse (of a bare name, when pkg is "") by enclosing function
// ("file.go:func"), and reports those inside a loop.
func parseCalls(t *testing.T, root, pkg, name string) (map[string]int, []string) {
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
						called := false
						switch f := n.Fun.(type) {
						case *ast.SelectorExpr:
							id, ok := f.X.(*ast.Ident)
							called = ok && pkg != "" && id.Name == pkg && f.Sel.Name == name
						case *ast.Ident:
							called = pkg == "" && f.Name == name
						}
						if called {
							calls[where]++
							if loop {
								inLoop = append(inLoop, where)
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
	t.Parallel()
	root := filepath.Join("..", "..")
	blobCalls, _ := parseCalls(t, root, "blob", "Parse")
	if want := map[string]int{"location.go:parse": 1}; !reflect.DeepEqual(blobCalls, want) {
		t.Errorf("blob.Parse called at %v, want only by report/location's parse", blobCalls)
	}
	calls, inLoop := parseCalls(t, ".", "location", "Parse")
	want := map[string]int{
		"runjob.go:runJob":  3, // --input, --report, --processed
		"check.go:runCheck": 2, // --input, --report
		"restore.go:config": 1, // --report (restoreFlags.config)
		"watch.go:runWatch": 2, // --reports, --report (or a Join of --reports)
	}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("location.Parse called at %v, want %v", calls, want)
	}
	if len(inLoop) > 0 {
		t.Errorf("location.Parse called in a loop at %v", inLoop)
	}
	// report/location parses a flag's string (Parse), and the strings a
	// listing makes, each new: a drop folder's blob (blobFolder), its
	// report location (Join). Nothing else, and Parse is not called
	// again inside.
	dir := filepath.Join(root, "report", "location")
	if inner, _ := parseCalls(t, dir, "", "Parse"); len(inner) > 0 {
		t.Errorf("report/location calls Parse at %v", inner)
	}
	inner, _ := parseCalls(t, dir, "", "parse")
	if want := map[string]int{"location.go:Parse": 1, "location.go:Join": 1, "drop.go:blobFolder": 1}; !reflect.DeepEqual(inner, want) {
		t.Errorf("report/location calls parse at %v, want %v", inner, want)
	}
}
