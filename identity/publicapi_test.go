package identity_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoPublicStorageDoor walks the exported API of every public package of
// the module (go/parser) and fails when an exported function, method or
// interface method accepts or returns the store or a transaction
// (identity.Store, identity.Tx, identity.ReadTx), or a type of the internal
// typed layer (internal/kv), except:
//   - the backend contract itself (identity's store.go) and the backends
//     (store/..., including store/storetest, the conformance suite);
//   - the doors for Gatehouse's own packages, which take a kv.Access that
//     code outside the module cannot obtain;
//   - the few listed public APIs that accept a backend the caller already
//     holds (each with its reason).
//
// So the raw key-value layer cannot reopen to embedders by accident: a face
// or host reaches data through services only.
func TestNoPublicStorageDoor(t *testing.T) {
	root := findRoot(t)
	// Functions allowed to accept (never to return) a store or transaction,
	// as "dir.Recv.Name" or "dir.Name".
	accepts := map[string]string{
		"blob.NewKV":              "a blob store over a backend the host opened itself",
		"blob.KV.PutTx":           "joins a transaction of the host's own backend",
		"blob.KV.DeleteTx":        "joins a transaction of the host's own backend",
		"blob.TxStore.PutTx":      "the interface of blob.KV",
		"blob.TxStore.DeleteTx":   "the interface of blob.KV",
		"sso.NewStoreReplayCache": "a replay cache in a backend the host opened itself",
		"identity.Options.Store":  "the backend the host opened, given to New",
		"gatehouse.Options.Store": "the backend the host opened, given to gatehouse.New",
		"identity.ReplayAuditJournal": "writes a backend's own audit journal into the backend the caller opened " +
			"(gatehouse-migrate), returning a count",
	}
	// Returning the store a caller handed in is no door either.
	returns := map[string]string{
		"blob.KV.IdentityStore":      "returns the backend given to NewKV",
		"blob.TxStore.IdentityStore": "the interface of blob.KV",
	}
	var bad []string
	found := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			n := d.Name()
			if rel != "." && (strings.HasPrefix(n, ".") || n == "testdata" || n == "internal" ||
				n == "examples" || n == "cmd" || rel == "store" || strings.HasPrefix(rel, "store/")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		if rel == "identity/store.go" { // the backend contract
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(rel))
		if dir == "." {
			dir = "gatehouse" // the root package
		}
		if strings.Contains(dir, "/internal/") || strings.HasSuffix(dir, "/internal") {
			return nil
		}
		found += len(f.Decls)
		for _, p := range exposures(f, dir) {
			key, what := p[0], p[1]
			if what == "accepts" && accepts[key] != "" || what == "returns" && returns[key] != "" {
				continue
			}
			bad = append(bad, fmt.Sprintf("%s: exported %s %s the store, a transaction or a type of internal/kv", rel, key, what))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 500 {
		t.Fatalf("read only %d declarations: the walker is broken", found)
	}
	for _, b := range bad {
		t.Error(b)
	}
}

// exposures lists the exported functions, methods and interface methods of
// f whose signature names a store, a transaction or a type of internal/kv, and
// do not take a kv.Access, as {"dir.[Recv.]Name", "accepts"|"returns"}.
func exposures(f *ast.File, dir string) [][2]string {
	identity, internal := "", map[string]bool{} // internal: the names internal/kv is imported as
	if f.Name.Name == "identity" {
		identity = "."
	}
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		name := p[strings.LastIndex(p, "/")+1:]
		if im.Name != nil {
			name = im.Name.Name
		}
		switch {
		case p == "github.com/gatehouse-id/gatehouse/identity":
			identity = name
		case p == "github.com/gatehouse-id/gatehouse/internal/kv":
			internal[name] = true
		}
	}
	forbidden := func(e ast.Expr) bool {
		hit := false
		ast.Inspect(e, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.SelectorExpr:
				if id, ok := x.X.(*ast.Ident); ok {
					if internal[id.Name] || id.Name == identity && isStoreType(x.Sel.Name) {
						hit = true
					}
				}
			case *ast.Ident:
				if identity == "." && isStoreType(x.Name) {
					hit = true
				}
			}
			return !hit
		})
		return hit
	}
	guarded := func(ft *ast.FuncType) bool {
		for _, p := range ft.Params.List {
			if s, ok := p.Type.(*ast.SelectorExpr); ok && internal[exprName(s.X)] && s.Sel.Name == "Access" {
				return true
			}
		}
		return false
	}
	var out [][2]string
	check := func(name string, ft *ast.FuncType) {
		if guarded(ft) {
			return
		}
		// A callback parameter hands its arguments out: func(tx Tx) in a
		// parameter returns a transaction to the caller.
		for _, p := range ft.Params.List {
			if cb, ok := p.Type.(*ast.FuncType); ok && cb.Params != nil {
				for _, q := range cb.Params.List {
					if forbidden(q.Type) {
						out = append(out, [2]string{name, "returns"})
					}
				}
				continue
			}
			if forbidden(p.Type) {
				out = append(out, [2]string{name, "accepts"})
			}
		}
		if ft.Results != nil {
			for _, r := range ft.Results.List {
				if forbidden(r.Type) {
					out = append(out, [2]string{name, "returns"})
				}
			}
		}
	}
	for _, d := range f.Decls {
		switch x := d.(type) {
		case *ast.FuncDecl:
			if !x.Name.IsExported() {
				continue
			}
			name := dir + "." + x.Name.Name
			if x.Recv != nil {
				recv := recvName(x.Recv.List[0].Type)
				if !ast.IsExported(recv) {
					continue
				}
				name = dir + "." + recv + "." + x.Name.Name
			}
			check(name, x.Type)
		case *ast.GenDecl:
			for _, s := range x.Specs {
				ts, ok := s.(*ast.TypeSpec)
				if !ok || !ts.Name.IsExported() {
					continue
				}
				switch tt := ts.Type.(type) {
				case *ast.InterfaceType:
					for _, m := range tt.Methods.List {
						if ft, ok := m.Type.(*ast.FuncType); ok && len(m.Names) > 0 && m.Names[0].IsExported() {
							check(dir+"."+ts.Name.Name+"."+m.Names[0].Name, ft)
						}
					}
				case *ast.StructType:
					for _, fl := range tt.Fields.List {
						for _, n := range fl.Names {
							if n.IsExported() && forbidden(fl.Type) {
								out = append(out, [2]string{dir + "." + ts.Name.Name + "." + n.Name, "accepts"})
							}
						}
					}
				}
			}
		}
	}
	return out
}

func isStoreType(name string) bool { return name == "Store" || name == "Tx" || name == "ReadTx" }

func exprName(e ast.Expr) string {
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

func recvName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return recvName(x.X)
	case *ast.IndexExpr:
		return recvName(x.X)
	case *ast.IndexListExpr:
		return recvName(x.X)
	case *ast.Ident:
		return x.Name
	}
	return ""
}

func findRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod")
		}
		dir = parent
	}
}
