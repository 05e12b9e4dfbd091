package query

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestParseValues(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want any // value of the literal under key "v"
	}{
		{"single quoted", `{v: 'a b'}`, "a b"},
		{"double quoted", `{v: "a b"}`, "a b"},
		{"quoted key", `{"v": 1}`, int64(1)},
		{"single quoted key", `{'v': 1}`, int64(1)},
		{"escapes", `{v: 'it\'s \"x\" \\ \/ \n\t\r\b\f'}`, "it's \"x\" \\ / \n\t\r\b\f"},
		{"unicode escape", `{v: '\u00e9\u4e2d'}`, "é中"},
		{"surrogate pair", `{v: "\ud83d\ude00"}`, "😀"},
		{"raw unicode", `{v: 'ça'}`, "ça"},
		{"int", `{v: -42}`, int64(-42)},
		{"zero", `{v: 0}`, int64(0)},
		{"float", `{v: 1.5}`, 1.5},
		{"exponent", `{v: 2e3}`, 2000.0},
		{"negative exponent", `{v: -1.25E-2}`, -0.0125},
		{"int overflow becomes float", `{v: 9223372036854775808}`, 9223372036854775808.0},
		{"max int64", `{v: 9223372036854775807}`, int64(math.MaxInt64)},
		{"true", `{v: true}`, true},
		{"false", `{v: false}`, false},
		{"null", `{v: null}`, nil},
		{"array", `{v: [1, 'a', [true], {}]}`, []any{int64(1), "a", []any{true}, map[string]any{}}},
		{"empty array", `{v: []}`, []any{}},
		{"object", `{v: {x: 1, 'y z': [null]}}`, map[string]any{"x": int64(1), "y z": []any{nil}}},
		{"whitespace", " \t\n{ v : 1 }\r\n", int64(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree, err := parseSource(tt.src, DefaultMaxDepth)
			if err != nil {
				t.Fatalf("parse %s: %v", tt.src, err)
			}
			got := tree.value().(map[string]any)["v"]
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
			if _, err := Parse(tt.src); err != nil {
				t.Fatalf("Parse(%s): %v", tt.src, err)
			}
		})
	}
}

func TestParseKeys(t *testing.T) {
	tests := []struct {
		src  string
		want []string
	}{
		{`{}`, []string{}},
		{`{email: 'a'}`, []string{"email"}},
		{`{attributes.subscriptions.targets: 'news'}`, []string{"attributes.subscriptions.targets"}},
		{`{'attributes.first name': 'x'}`, []string{"attributes.first name"}},
		{`{roles.0: 'x', _id: 1, a1_b: 2}`, []string{"_id", "a1_b", "roles.0"}},
		{`{prénom: 'x'}`, []string{"prénom"}},
		{`{$or: [{a: 1}, {b: {$gt: 2}}], c: {$elemMatch: {d: 1, e: {$elemMatch: {f: 1}}}}}`,
			[]string{"a", "b", "c", "c.d", "c.e", "c.e.f"}},
	}
	for _, tt := range tests {
		q, err := Parse(tt.src)
		if err != nil {
			t.Fatalf("Parse(%s): %v", tt.src, err)
		}
		if got := q.Paths(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Paths(%s) = %q, want %q", tt.src, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		kind   Kind
		offset int
		msg    string // substring of Msg
	}{
		{"empty", ``, KindSyntax, 0, "empty"},
		{"blank", `   `, KindSyntax, 3, "empty"},
		{"not object", `[1]`, KindSyntax, 0, "must be an object"},
		{"string top", `'a'`, KindSyntax, 0, "must be an object"},
		{"unterminated object", `{a: 1`, KindSyntax, 5, "expected ',' or '}'"},
		{"missing colon", `{a 1}`, KindSyntax, 3, "expected ':'"},
		{"missing value", `{a: }`, KindSyntax, 4, "expected a value"},
		{"trailing comma", `{a: 1,}`, KindSyntax, 6, "expected a key"},
		{"trailing comma array", `{a: [1,]}`, KindSyntax, 7, "expected a value"},
		{"unquoted value", `{a: admin}`, KindSyntax, 4, `identifier "admin"`},
		{"bad array sep", `{a: [1 2]}`, KindSyntax, 7, "expected ',' or ']'"},
		{"trailing garbage", `{a: 1} x`, KindSyntax, 7, "after the query"},
		{"two objects", `{}{}`, KindSyntax, 2, "after the query"},
		{"unterminated string", `{a: 'abc}`, KindSyntax, 4, "unterminated string"},
		{"control char", "{a: 'a\nb'}", KindSyntax, 6, "control character"},
		{"bad escape", `{a: '\q'}`, KindSyntax, 5, "invalid escape"},
		{"bad unicode escape", `{a: '\u12G4'}`, KindSyntax, 5, `\u`},
		{"lone surrogate", `{a: '\ud800x'}`, KindSyntax, 5, "surrogate"},
		{"lone low surrogate", `{a: '\udc00'}`, KindSyntax, 5, "surrogate"},
		{"leading zero", `{a: 01}`, KindSyntax, 4, "leading zero"},
		{"bare minus", `{a: -}`, KindSyntax, 4, "invalid number"},
		{"dot without digits", `{a: 1.}`, KindSyntax, 4, "after '.'"},
		{"exponent without digits", `{a: 1e}`, KindSyntax, 4, "exponent"},
		{"huge float", `{a: 1e400}`, KindSyntax, 4, "out of range"},
		{"plus sign", `{a: +1}`, KindSyntax, 4, "expected a value"},
		{"comment", `{a: 1 /* x */}`, KindSyntax, 6, "expected ',' or '}'"},
		{"duplicate key", `{a: 1, 'a': 2}`, KindSyntax, 7, "duplicate key"},
		{"duplicate key many", `{a1:1,a2:1,a3:1,a4:1,a5:1,a6:1,a7:1,a8:1,a9:1,a3:1}`, KindSyntax, 46, "duplicate key"},
		{"invalid utf8", "{a: '\xff'}", KindSyntax, 5, "UTF-8"},
		{"empty key", `{'': 1}`, KindOperator, 1, "empty component"},
		{"empty path component", `{a..b: 1}`, KindOperator, 1, "empty component"},
		{"trailing dot", `{a.: 1}`, KindOperator, 1, "empty component"},
		{"dollar component", `{a.$b: 1}`, KindOperator, 1, "starts with '$'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := Parse(tt.src)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want error", tt.src, q)
			}
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("error %T %v is not *Error", err, err)
			}
			if qe.Kind != tt.kind || qe.Offset != tt.offset || !strings.Contains(qe.Msg, tt.msg) {
				t.Fatalf("got kind %v offset %d msg %q; want kind %v offset %d msg containing %q",
					qe.Kind, qe.Offset, qe.Msg, tt.kind, tt.offset, tt.msg)
			}
			if !strings.Contains(err.Error(), qe.Msg) {
				t.Fatalf("Error() %q lacks Msg", err.Error())
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	deep := strings.Repeat("{a: ", 40) + "1" + strings.Repeat("}", 40)
	if _, err := Parse(deep); !isKind(err, KindLimit) {
		t.Fatalf("deep object: got %v, want limit error", err)
	}
	deepArr := "{a: " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "}"
	if _, err := Parse(deepArr); !isKind(err, KindLimit) {
		t.Fatalf("deep array: got %v, want limit error", err)
	}
	ok := strings.Repeat("{a: ", 10) + "1" + strings.Repeat("}", 10)
	if _, err := Parse(ok, WithMaxDepth(10)); err != nil {
		t.Fatalf("depth 10 with limit 10: %v", err)
	}
	if _, err := Parse(ok, WithMaxDepth(9)); !isKind(err, KindLimit) {
		t.Fatalf("depth 10 with limit 9: got %v, want limit error", err)
	}
	long := "{a: '" + strings.Repeat("x", DefaultMaxLen) + "'}"
	if _, err := Parse(long); !isKind(err, KindLimit) {
		t.Fatalf("long: got %v, want limit error", err)
	}
	if _, err := Parse(long, WithMaxLen(len(long))); err != nil {
		t.Fatalf("long with raised limit: %v", err)
	}
	if _, err := Parse(`{a: 1}`, WithMaxLen(5)); !isKind(err, KindLimit) {
		t.Fatalf("short limit: got %v, want limit error", err)
	}
}

func isKind(err error, k Kind) bool {
	var qe *Error
	return errors.As(err, &qe) && qe.Kind == k
}

func TestKindString(t *testing.T) {
	for k := KindSyntax; k <= KindDenied; k++ {
		if s := k.String(); s == "" || strings.HasPrefix(s, "Kind(") {
			t.Errorf("Kind %d has no name", k)
		}
	}
	if Kind(99).String() != "Kind(99)" {
		t.Errorf("unknown kind: %q", Kind(99).String())
	}
}
