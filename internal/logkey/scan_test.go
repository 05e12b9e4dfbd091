package logkey_test

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
	"unicode"
	"unicode/utf8"
)

// levelMethods are the *slog.Logger methods that take a message and then
// key-value pairs or attributes: the index of the message argument.
var levelMethods = map[string]int{
	"Debug": 0, "Info": 0, "Warn": 0, "Error": 0,
	"DebugContext": 1, "InfoContext": 1, "WarnContext": 1, "ErrorContext": 1,
	"Log": 2, "LogAttrs": 2,
	"With": -1,
}

// attrFuncs are the slog functions whose first argument is a key.
var attrFuncs = map[string]bool{
	"String": true, "Int": true, "Int64": true, "Uint64": true, "Float64": true, "Bool": true,
	"Time": true, "Duration": true, "Any": true, "Group": true,
}

// use is one attribute key found in a log call or slog attribute.
type use struct {
	pos token.Position
	key string // the literal key, or "" when not a literal
	src string // the key expression when not a literal: "logkey.Name" or its node type
	val string // the value's name (identifier or last selector), when it has one
}

// logCall is one log call: its message and its keys.
type logCall struct {
	pos    token.Position
	method string
	msg    string // literal message
	msgLit bool   // msg is a constant string
	msgSrc string // the message expression's node type otherwise
	keys   []use
}

// scanModule parses every non-test Go file of the module.
func scanModule(t *testing.T) (calls []logCall, attrs []use) {
	t.Helper()
	root := moduleRoot(t)
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		c, a := scanFile(fset, f)
		calls, attrs = append(calls, c...), append(attrs, a...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return calls, attrs
}

// scanFile returns the log calls of f and the keys of the slog attributes
// (slog.String, slog.Any, ...) built outside a log call's arguments.
func scanFile(fset *token.FileSet, f *ast.File) (calls []logCall, attrs []use) {
	slogName := importName(f, "log/slog")
	inCall := map[*ast.CallExpr]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if slogName != "" && isIdent(sel.X, slogName) && attrFuncs[sel.Sel.Name] {
			if !inCall[call] && len(call.Args) > 0 {
				u := keyUse(fset, call.Args[0])
				if len(call.Args) > 1 {
					u.val = nameOf(call.Args[1])
				}
				attrs = append(attrs, u)
			}
			return true
		}
		idx, ok := levelMethods[sel.Sel.Name]
		if !ok {
			return true
		}
		if !isLogger(sel.X, slogName) {
			// A receiver of another name (l, h.out): a level method whose
			// message argument is a constant string is a log call too.
			if idx < 0 || len(call.Args) <= idx || isIdent(sel.X, "t") || isIdent(sel.X, "b") || isIdent(sel.X, "tb") {
				return true // testing.TB's Error in test helpers (store/storetest)
			}
			if _, lit := stringConst(call.Args[idx]); !lit {
				return true
			}
		}
		lc := logCall{pos: fset.Position(call.Pos()), method: sel.Sel.Name}
		args := call.Args
		if idx >= 0 {
			if len(args) <= idx {
				return true
			}
			lc.msg, lc.msgLit = stringConst(args[idx])
			lc.msgSrc = fmt.Sprintf("%T", args[idx])
			args = args[idx+1:]
		}
		attrsOnly := sel.Sel.Name == "LogAttrs"
		for i := 0; i < len(args); i++ {
			a := args[i]
			if c, ok := a.(*ast.CallExpr); ok {
				if s, ok := c.Fun.(*ast.SelectorExpr); ok && isIdent(s.X, slogName) && attrFuncs[s.Sel.Name] && len(c.Args) > 0 {
					inCall[c] = true
					u := keyUse(fset, c.Args[0])
					if len(c.Args) > 1 {
						u.val = nameOf(c.Args[1])
					}
					lc.keys = append(lc.keys, u)
					continue
				}
			}
			if call.Ellipsis.IsValid() && i == len(args)-1 {
				continue // attributes built elsewhere: checked as attrs
			}
			if attrsOnly {
				lc.keys = append(lc.keys, use{pos: fset.Position(a.Pos()), src: fmt.Sprintf("%T", a)})
				continue
			}
			u := keyUse(fset, a)
			if i+1 < len(args) {
				u.val = nameOf(args[i+1])
			}
			lc.keys = append(lc.keys, u)
			i++ // its value
		}
		calls = append(calls, lc)
		return true
	})
	return calls, attrs
}

// nameOf returns the name a value expression ends with: x, a.b.x, f(...)
// as x (its function's name), "" for anything else.
func nameOf(e ast.Expr) string {
	switch v := e.(type) {
	case *ast.Ident:
		return v.Name
	case *ast.SelectorExpr:
		return v.Sel.Name
	case *ast.CallExpr:
		return nameOf(v.Fun)
	case *ast.StarExpr:
		return nameOf(v.X)
	}
	return ""
}

// isLogger reports whether x looks like a *slog.Logger: a name or call
// that says log or logger (s.log, lg, logger, s.id.Logger(),
// cryptrhttp.Logger(ctx)), or slog itself (slog.Info).
func isLogger(x ast.Expr, slogName string) bool {
	switch v := x.(type) {
	case *ast.Ident:
		n := strings.ToLower(v.Name)
		return n == slogName || n == "log" || n == "lg" || n == "logger" || strings.HasSuffix(n, "log") || strings.HasSuffix(n, "logger")
	case *ast.SelectorExpr:
		n := strings.ToLower(v.Sel.Name)
		return n == "log" || n == "logger" || strings.HasSuffix(n, "log") || strings.HasSuffix(n, "logger")
	case *ast.CallExpr:
		return isLogger(v.Fun, slogName)
	}
	return false
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func importName(f *ast.File, path string) string {
	for _, im := range f.Imports {
		if p, _ := strconv.Unquote(im.Path.Value); p == path {
			if im.Name != nil {
				return im.Name.Name
			}
			return path[strings.LastIndex(path, "/")+1:]
		}
	}
	return ""
}

// stringConst returns the value of a string literal or a concatenation of
// string literals.
func stringConst(e ast.Expr) (string, bool) {
	switch v := e.(type) {
	case *ast.BasicLit:
		if v.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(v.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if v.Op != token.ADD {
			return "", false
		}
		a, ok1 := stringConst(v.X)
		b, ok2 := stringConst(v.Y)
		return a + b, ok1 && ok2
	case *ast.ParenExpr:
		return stringConst(v.X)
	}
	return "", false
}

func keyUse(fset *token.FileSet, e ast.Expr) use {
	u := use{pos: fset.Position(e.Pos())}
	if s, ok := stringConst(e); ok {
		u.key = s
		return u
	}
	if sel, ok := e.(*ast.SelectorExpr); ok {
		if x, ok := sel.X.(*ast.Ident); ok && x.Name == "logkey" {
			u.src = "logkey." + sel.Sel.Name
			return u
		}
	}
	u.src = fmt.Sprintf("%T", e)
	return u
}

func moduleRoot(t *testing.T) string {
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
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// vocabulary returns the constants of logkey.go: name -> value.
func vocabulary(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(moduleRoot(t), "internal", "logkey", "logkey.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, sp := range g.Specs {
			vs := sp.(*ast.ValueSpec)
			for i, n := range vs.Names {
				v, ok := stringConst(vs.Values[i])
				if !ok {
					t.Fatalf("logkey.%s is not a string constant", n.Name)
				}
				out[n.Name] = v
			}
		}
	}
	return out
}

// secretName matches value names that must never be logged.
var secretWords = []string{"password", "secret", "token", "cookie", "verifier", "otp"}

// problems lists what breaks the logging rules in calls and attrs.
func problems(vocab map[string]string, calls []logCall, attrs []use) []string {
	values := map[string]bool{}
	for _, v := range vocab {
		values[v] = true
	}
	var out []string
	checkKey := func(u use) {
		at := u.pos.Filename + ":" + strconv.Itoa(u.pos.Line)
		switch {
		case u.key != "":
			if !values[u.key] {
				out = append(out, fmt.Sprintf("%s: key %q is not in the vocabulary (internal/logkey)", at, u.key))
			}
		case strings.HasPrefix(u.src, "logkey."):
			if _, ok := vocab[strings.TrimPrefix(u.src, "logkey.")]; !ok {
				out = append(out, fmt.Sprintf("%s: %s is not a key of internal/logkey", at, u.src))
			}
		default:
			out = append(out, fmt.Sprintf("%s: key is %s, not a constant of the vocabulary", at, u.src))
		}
		if u.val == "err" && u.key != "err" && u.src != "logkey.Err" {
			out = append(out, fmt.Sprintf("%s: an error logged under %q, not \"err\"", at, u.key+u.src))
		}
		lv := strings.ToLower(u.val)
		for _, w := range secretWords {
			if strings.Contains(lv, w) {
				out = append(out, fmt.Sprintf("%s: value %s looks like a secret (%s)", at, u.val, w))
			}
		}
	}
	for _, c := range calls {
		at := c.pos.Filename + ":" + strconv.Itoa(c.pos.Line)
		if c.method != "With" {
			switch {
			case !c.msgLit && c.msgSrc != "*ast.Ident":
				out = append(out, fmt.Sprintf("%s: the message is a %s, not a constant", at, c.msgSrc))
			case c.msgLit && c.msg == "":
				out = append(out, fmt.Sprintf("%s: empty message", at))
			case c.msgLit:
				if r, _ := utf8.DecodeRuneInString(c.msg); unicode.IsUpper(r) {
					out = append(out, fmt.Sprintf("%s: message %q does not start lowercase", at, c.msg))
				}
			}
		}
		for _, u := range c.keys {
			checkKey(u)
		}
	}
	for _, u := range attrs {
		checkKey(u)
	}
	return out
}

// TestLogKeys scans every slog call of the module (non-test files) and
// fails on a key outside the vocabulary of this package, an error not
// logged under "err", a value named like a secret, or a message that is
// not a constant lowercase phrase. So the fields stay consistent across
// packages: a new key is added to logkey.go with its meaning first.
func TestLogKeys(t *testing.T) {
	vocab := vocabulary(t)
	calls, attrs := scanModule(t)
	keys := 0
	for _, c := range calls {
		keys += len(c.keys)
	}
	// The module logs from some 70 calls with some 130 keys; far fewer
	// means the scanner lost them.
	if len(calls) < 50 || keys+len(attrs) < 80 {
		t.Fatalf("found %d log calls and %d keys: the scanner is broken", len(calls), keys+len(attrs))
	}
	t.Logf("%d log calls, %d keys, %d keys in the vocabulary", len(calls), keys+len(attrs), len(vocab))
	for _, p := range problems(vocab, calls, attrs) {
		t.Error(p)
	}
	// Every constant is used somewhere, so the vocabulary documents what
	// the logs hold, not what they might.
	used := map[string]bool{}
	for _, c := range calls {
		for _, u := range c.keys {
			used[u.key], used[u.src] = true, true
		}
	}
	for _, u := range attrs {
		used[u.key], used[u.src] = true, true
	}
	for name, v := range vocab {
		if !used[v] && !used["logkey."+name] {
			t.Errorf("logkey.%s (%q) is used by no log call", name, v)
		}
	}
}

// TestScannerCatches feeds the scanner a file that breaks each rule, so
// TestLogKeys cannot pass because the scanner sees nothing.
func TestScannerCatches(t *testing.T) {
	const src = `package p

import (
	"log/slog"
	"github.com/gatehouse-id/gatehouse/internal/logkey"
)

func f(s *S, logger *slog.Logger, err error, d, password string) {
	s.log.Info("tokens: keys created", "domain", d)                // 1 key
	logger.WarnContext(ctx, "Bad start", "err", err)               // 2 uppercase
	s.id.Logger().Error("p: failed", "error", err)                 // 3 key, 4 err under error
	logger.Info("p: login", "user_id", password)                   // 5 secret
	logger.LogAttrs(ctx, slog.LevelInfo, "p: x", slog.String("user", d)) // 6 key
	attrs := []slog.Attr{slog.String("tenant", d)}                 // 7 key
	logger.Info(fmt.Sprintf("p: %s", d))                           // 8 message
	logger.Info("p: fine", logkey.Org, d, "err", err, logkey.Nope, 1) // 9 unknown constant
	logger.Info("p: fine", "org", d, "env", "production")
	h.out.Warn("p: other receiver", "domain", d)                   // 10 key
	http.Error(w, "Not found", 404)                                // not a log call
}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	calls, attrs := scanFile(fset, f)
	got := problems(map[string]string{"Org": "org", "Env": "env", "Err": "err", "UserID": "user_id"}, calls, attrs)
	want := []string{`key "domain"`, `"Bad start"`, `key "error"`, `logged under "error"`, `value password`,
		`key "user"`, `key "tenant"`, `the message is a *ast.CallExpr`, `logkey.Nope`, `p.go:18: key "domain"`}
	if len(got) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || strings.Contains(g, w)
		}
		if !found {
			t.Errorf("no problem mentions %s:\n%s", w, strings.Join(got, "\n"))
		}
	}
}
