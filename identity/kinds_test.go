package identity

import (
	"fmt"
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

	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// kindUse is a name the code stores data under, found by kindUses.
type kindUse struct {
	space byte
	name  string
	owner string // package directory, relative to the module root
	pos   string
}

// TestKindRegistryHasNoCollisions: no two registered names share a key
// space, and every name is a valid key part.
func TestKindRegistryHasNoCollisions(t *testing.T) {
	seen := map[[2]string]string{}
	for _, k := range registeredKinds() {
		if !slices.Contains([]byte{kv.NSRecord, kv.NSUnique, kv.NSSet, kv.NSCounter}, k.space) {
			t.Errorf("%q: unknown key space %q", k.name, k.space)
		}
		if k.name == "" || k.owner == "" || kv.CheckParts(k.name) != nil {
			t.Errorf("bad entry %+v", k)
		}
		id := [2]string{string(k.space), k.name}
		if prev, ok := seen[id]; ok {
			t.Errorf("%s %q registered by both %s and %s", spaceName(k.space), k.name, prev, k.owner)
		}
		seen[id] = k.owner
	}
}

// TestKindScannerFindsEveryForm: the source reader finds each way a name
// is written, resolves constants, ignores other packages' types, and
// refuses a name it cannot read.
func TestKindScannerFindsEveryForm(t *testing.T) {
	cases := []struct {
		name, dir, src string
		want           []string // space:name
		fails          bool
	}{
		{"records with a literal and a constant", "pkg", `package pkg
import "github.com/gatehouse-id/gatehouse/internal/kv"
const k = "pkg-b"
var a = kv.Records[int]{Kind: "pkg-a"}
func f(env string) kv.Records[string] { return kv.Records[string]{Env: string(env), Kind: k} }`,
			[]string{"r:pkg-a", "r:pkg-b"}, false},
		{"unique, counter, sets under another import name", "pkg", `package pkg
import store "github.com/gatehouse-id/gatehouse/internal/kv"
var u = store.Unique{Name: "pkg-u"}
var c = store.Counter{Name: "pkg-c"}
func s(x string, more ...string) store.Set { return store.Set{Parts: append([]string{"pkg-s", x}, more...)} }
var t = store.Set{Parts: []string{"pkg-t"}}`,
			[]string{"u:pkg-u", "n:pkg-c", "s:pkg-s", "s:pkg-t"}, false},
		{"raw keys in any package", "identity", `package identity
import "github.com/gatehouse-id/gatehouse/internal/kv"
func k(env string) []byte { return kv.Key(kv.NSRecord, env, "raw", "x") }
func g(r kv.Records[int]) []byte { return kv.Key(kv.NSRecord, "-", r.Kind, "x") }
var z = kv.Set{}
var w = kv.Unique{Name: "idx"}`,
			[]string{"r:raw", "u:idx"}, false},
		{"bare types and raw keys in package kv", "internal/kv", `package kv
func k(env string) []byte { return Key(NSRecord, env, "raw", "x") }
func g(r Records[int]) []byte { return Key(NSRecord, "-", r.Kind, "x") }
var w = Unique{Name: "idx"}`,
			[]string{"r:raw", "u:idx"}, false},
		{"other packages' types are not ours", "pkg", `package pkg
import "other/kv"
import "github.com/gatehouse-id/gatehouse/identity"
var a = kv.Records[int]{Kind: "nope"}
var c = identity.Set{Parts: []string{"nope"}}
type Set struct{ Parts []string }
var b = Set{Parts: []string{"nope"}}
func k() []byte { return kv.Key(kv.NSRecord, "-", "nope") }`,
			nil, false},
		{"a name that is not a constant", "pkg", `package pkg
import "github.com/gatehouse-id/gatehouse/internal/kv"
func f(kind string) kv.Records[int] { return kv.Records[int]{Kind: kind} }`,
			nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "x.go", c.src, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			consts := map[string]string{}
			collectConsts(f, consts)
			uses, err := fileKindUses(fset, f, c.dir, consts)
			if (err != nil) != c.fails {
				t.Fatalf("err = %v", err)
			}
			var got []string
			for _, u := range uses {
				got = append(got, string(u.space)+":"+u.name)
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("found %v, want %v", got, c.want)
			}
		})
	}
}

// TestKindRegistryCoversTheCode: every record kind, unique index, set and
// counter name that the module's code stores data under is registered, by
// the package that uses it, and every registered name is used. The code is
// read with go/parser: composite literals of internal/kv's Records (Kind),
// Unique and Counter (Name) and Set (the first of Parts), and raw
// kv.Key(ns, env, kind, ...) calls, in every package (and bare, inside
// internal/kv). Test files and store/storetest (which
// runs on throwaway stores) are left out.
func TestKindRegistryCoversTheCode(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	uses, err := kindUses(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(uses) < 20 {
		t.Fatalf("found only %d uses: the scanner is broken", len(uses))
	}
	reg := map[[2]string]string{}
	for _, k := range registeredKinds() {
		reg[[2]string{string(k.space), k.name}] = k.owner
	}
	used := map[[2]string]bool{}
	for _, u := range uses {
		id := [2]string{string(u.space), u.name}
		used[id] = true
		owner, ok := reg[id]
		switch {
		case !ok:
			t.Errorf("%s: %s %q is not registered in identity/kinds.go", u.pos, spaceName(u.space), u.name)
		case owner != u.owner:
			t.Errorf("%s: %s %q is used by %s but registered to %s", u.pos, spaceName(u.space), u.name, u.owner, owner)
		}
	}
	for _, k := range registeredKinds() {
		if !used[[2]string{string(k.space), k.name}] {
			t.Errorf("%s %q (%s) is registered but no code uses it", spaceName(k.space), k.name, k.owner)
		}
	}
}

func spaceName(b byte) string {
	switch b {
	case kv.NSRecord:
		return "record kind"
	case kv.NSUnique:
		return "unique index"
	case kv.NSSet:
		return "set"
	case kv.NSCounter:
		return "counter"
	}
	return fmt.Sprintf("space %q", b)
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
		dir = parent
	}
}

const modulePath = "github.com/gatehouse-id/gatehouse"

// kindUses parses the module's Go files under root and returns the names
// they store data under.
func kindUses(root string) ([]kindUse, error) {
	byDir := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			name := d.Name()
			if rel != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules" ||
				name == "vendor" || rel == "store/storetest") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			byDir[filepath.ToSlash(filepath.Dir(rel))] = append(byDir[filepath.ToSlash(filepath.Dir(rel))], path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []kindUse
	fset := token.NewFileSet()
	for dir, files := range byDir {
		var parsed []*ast.File
		consts := map[string]string{}
		for _, f := range files {
			af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
			if err != nil {
				return nil, err
			}
			parsed = append(parsed, af)
			collectConsts(af, consts)
		}
		for _, af := range parsed {
			uses, err := fileKindUses(fset, af, dir, consts)
			if err != nil {
				return nil, err
			}
			out = append(out, uses...)
		}
	}
	return out, nil
}

// collectConsts records the package's string constants.
func collectConsts(f *ast.File, consts map[string]string) {
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if v, err := strconv.Unquote(lit.Value); err == nil {
							consts[n.Name] = v
						}
					}
				}
			}
		}
	}
}

// fileKindUses finds the uses in one file of package directory dir.
func fileKindUses(fset *token.FileSet, f *ast.File, dir string, consts map[string]string) ([]kindUse, error) {
	inKV := dir == "internal/kv"
	alias := ""
	for _, im := range f.Imports {
		if p, _ := strconv.Unquote(im.Path.Value); p == modulePath+"/internal/kv" {
			alias = "kv"
			if im.Name != nil {
				alias = im.Name.Name
			}
		}
	}
	// kvName returns the name e refers to in package internal/kv (a
	// selector of its import, or a bare name inside the package), or "".
	kvName := func(e ast.Expr) string {
		switch x := e.(type) {
		case *ast.Ident:
			if inKV {
				return x.Name
			}
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok && alias != "" && id.Name == alias {
				return x.Sel.Name
			}
		}
		return ""
	}
	// typeName returns Records, Unique, Set or Counter when e names that
	// type of package internal/kv.
	typeName := func(e ast.Expr) string {
		switch x := e.(type) {
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		}
		return kvName(e)
	}
	str := func(e ast.Expr) (string, bool) {
		switch x := e.(type) {
		case *ast.BasicLit:
			if x.Kind == token.STRING {
				v, err := strconv.Unquote(x.Value)
				return v, err == nil
			}
		case *ast.Ident:
			v, ok := consts[x.Name]
			return v, ok
		}
		return "", false
	}
	var out []kindUse
	var bad error
	add := func(space byte, e ast.Expr, at token.Pos) {
		pos := fset.Position(at).String()
		name, ok := str(e)
		if !ok && dir == "internal/kv" {
			// kv's own generic helpers (Window) take the name from their
			// caller, whose literal is checked where it is written.
			return
		}
		if !ok {
			if bad == nil {
				bad = fmt.Errorf("%s: the name is not a string constant; use one so it can be registered", pos)
			}
			return
		}
		out = append(out, kindUse{space: space, name: name, owner: dir, pos: pos})
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.CompositeLit:
			field := map[string]string{"Records": "Kind", "Window": "Kind", "Unique": "Name", "Counter": "Name", "Set": "Parts"}
			space := map[string]byte{"Records": kv.NSRecord, "Window": kv.NSRecord, "Unique": kv.NSUnique, "Counter": kv.NSCounter, "Set": kv.NSSet}
			tn := typeName(x.Type)
			want, ok := field[tn]
			if !ok {
				return true
			}
			for _, el := range x.Elts {
				pair, ok := el.(*ast.KeyValueExpr)
				if !ok || pair.Key.(*ast.Ident).Name != want {
					continue
				}
				v := pair.Value
				if tn == "Set" {
					v = firstPart(v)
				}
				add(space[tn], v, pair.Pos())
			}
		case *ast.CallExpr:
			// Raw keys: kv.Key(kv.NSRecord, env, kind, ...).
			if kvName(x.Fun) != "Key" || len(x.Args) < 3 {
				return true
			}
			space := map[string]byte{"NSRecord": kv.NSRecord, "NSUnique": kv.NSUnique, "NSSet": kv.NSSet, "NSCounter": kv.NSCounter}[kvName(x.Args[0])]
			if space == 0 {
				return true
			}
			if _, ok := str(x.Args[2]); ok { // kv's generic helpers pass a field
				add(space, x.Args[2], x.Args[2].Pos())
			}
		}
		return true
	})
	return out, bad
}

// firstPart returns the first element of a Set's Parts: a []string{...}
// literal, or append([]string{...}, ...).
func firstPart(e ast.Expr) ast.Expr {
	if call, ok := e.(*ast.CallExpr); ok {
		if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "append" && len(call.Args) > 0 {
			e = call.Args[0]
		}
	}
	if lit, ok := e.(*ast.CompositeLit); ok && len(lit.Elts) > 0 {
		return lit.Elts[0]
	}
	return e
}
