package guard

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/mosaikgo/mosaik"

// goFile is one parsed Go file of the module.
type goFile struct {
	dir     string // slash-separated, relative to the module root
	name    string
	test    bool
	pkg     string
	imports []string
	ast     *ast.File
	fset    *token.FileSet
}

// moduleFiles parses every Go file of the module but generated protobuf
// code and testdata.
func moduleFiles(t *testing.T) []goFile {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	var files []goFile
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (n == "testdata" || strings.HasPrefix(n, ".") || n == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".pb.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		gf := goFile{
			dir: filepath.ToSlash(filepath.Dir(rel)), name: filepath.Base(path),
			test: strings.HasSuffix(path, "_test.go"), pkg: f.Name.Name, ast: f, fset: fset,
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			gf.imports = append(gf.imports, p)
		}
		files = append(files, gf)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("found only %d Go files: the walk missed the module", len(files))
	}
	return files
}

// isCommandOrExample reports whether dir holds a program or an example: code
// users read and copy, with no package documentation of its own to keep.
func isCommandOrExample(dir string) bool {
	return dir == "cmd" || strings.HasPrefix(dir, "cmd/") || strings.HasPrefix(dir, "examples/")
}

// TestEveryPackageHasDoc: each library package explains itself in doc.go.
func TestEveryPackageHasDoc(t *testing.T) {
	code := map[string]bool{}
	docs := map[string]bool{}
	for _, f := range moduleFiles(t) {
		if f.test || isCommandOrExample(f.dir) || f.dir == "." {
			continue
		}
		code[f.dir] = true
		if f.name == "doc.go" {
			docs[f.dir] = true
		}
	}
	for dir := range code {
		if !docs[dir] {
			t.Errorf("package %s has no doc.go saying what it is for", dir)
		}
	}
}

// TestProgramsImportNoInternals: examples and commands import only what a
// user's own module could: no package under the module's internal/.
func TestProgramsImportNoInternals(t *testing.T) {
	for _, f := range moduleFiles(t) {
		if !isCommandOrExample(f.dir) {
			continue
		}
		for _, p := range f.imports {
			if strings.HasPrefix(p, module+"/internal/") || p == module+"/internal" {
				t.Errorf("%s/%s imports %s, which a user's program cannot", f.dir, f.name, p)
			}
		}
	}
}

// TestNoSleepingTests: tests wait for conditions with deadlines. Sleeping
// is allowed only inside a synctest bubble, where it advances the fake
// clock (a function literal passed to synctest.Test).
func TestNoSleepingTests(t *testing.T) {
	for _, f := range moduleFiles(t) {
		if !f.test {
			continue
		}
		var bubbles []ast.Node // function literals run by synctest.Test
		ast.Inspect(f.ast, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok && isSelector(call.Fun, "synctest", "Test") && len(call.Args) == 2 {
				bubbles = append(bubbles, call.Args[1])
			}
			return true
		})
		ast.Inspect(f.ast, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || !isSelector(call.Fun, "time", "Sleep") {
				return true
			}
			inBubble := slices.ContainsFunc(bubbles, func(b ast.Node) bool { return b.Pos() <= call.Pos() && call.End() <= b.End() })
			if !inBubble {
				t.Errorf("%s: a sleep outside synctest; wait for a condition instead", f.fset.Position(call.Pos()))
			}
			return true
		})
	}
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg
}

// The pure cores: protocol rules, ids, codecs, fan-out. They do no I/O of
// their own, so they import none of the packages that do (the shells).
var (
	cores  = []string{"id", "discovery", "groups", "statemachine", "feed", "messages"}
	shells = []string{"internal/actors", "actorkit", "cluster", "rsm", "testkit", "transport/quicnet", "transport/memnet", "metrics", "chaos", "bench"}
)

// TestCoresImportNoShells keeps the dependency direction of
// docs/architecture.md: cores never import shells.
func TestCoresImportNoShells(t *testing.T) {
	for _, f := range moduleFiles(t) {
		if f.test || !slices.Contains(cores, f.dir) {
			continue
		}
		for _, p := range f.imports {
			rel, ok := strings.CutPrefix(p, module+"/")
			if !ok {
				continue
			}
			for _, s := range shells {
				if rel == s || strings.HasPrefix(rel, s+"/") {
					t.Errorf("core package %s imports the shell %s (%s)", f.dir, s, f.name)
				}
			}
		}
	}
}

// TestProgramsUseThePublicFacade: examples, commands and the chaos suite
// reach groups through cluster and rsm, as users do. Package actorkit is
// for application supervisors that spawn the group actor themselves,
// which is what examples/supervisor shows. (The actors themselves are
// internal, which TestProgramsImportNoInternals covers.)
func TestProgramsUseThePublicFacade(t *testing.T) {
	for _, f := range moduleFiles(t) {
		user := isCommandOrExample(f.dir) || f.dir == "chaos" || strings.HasPrefix(f.dir, "chaos/")
		if !user || f.dir == "examples/supervisor" {
			continue
		}
		if slices.Contains(f.imports, module+"/actorkit") {
			t.Errorf("%s/%s imports actorkit; use cluster's names", f.dir, f.name)
		}
	}
}
