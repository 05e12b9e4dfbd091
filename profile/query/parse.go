package query

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Default limits applied by Parse.
const (
	// DefaultMaxLen is the default maximum source length in bytes.
	DefaultMaxLen = 16 << 10
	// DefaultMaxDepth is the default maximum nesting of objects and arrays.
	DefaultMaxDepth = 32
)

type astKind uint8

const (
	astObject astKind = iota + 1
	astArray
	astString
	astInt
	astFloat
	astBool
	astNull
)

// member is one key/value pair of a parsed object, in source order.
type member struct {
	key string
	pos int
	val *ast
}

// ast is a parsed relaxed-JSON value with its source position.
type ast struct {
	kind    astKind
	pos     int
	s       string
	i       int64
	f       float64
	b       bool
	members []member
	elems   []*ast
}

// value converts the syntax tree into a plain Go value: map[string]any,
// []any, string, int64, float64, bool or nil.
func (a *ast) value() any {
	switch a.kind {
	case astObject:
		m := make(map[string]any, len(a.members))
		for _, mb := range a.members {
			m[mb.key] = mb.val.value()
		}
		return m
	case astArray:
		s := make([]any, len(a.elems))
		for i, e := range a.elems {
			s[i] = e.value()
		}
		return s
	case astString:
		return a.s
	case astInt:
		return a.i
	case astFloat:
		return a.f
	case astBool:
		return a.b
	default:
		return nil
	}
}

// isOperatorObject reports whether a is an object whose first key starts
// with '$', which MongoDB reads as an operator expression.
func (a *ast) isOperatorObject() bool {
	return a.kind == astObject && len(a.members) > 0 && strings.HasPrefix(a.members[0].key, "$")
}

type parser struct {
	src      string
	i        int
	depth    int
	maxDepth int
}

// parseSource parses src as one relaxed-JSON object.
func parseSource(src string, maxDepth int) (*ast, error) {
	if !utf8.ValidString(src) {
		off := 0
		for off < len(src) {
			r, n := utf8.DecodeRuneInString(src[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return nil, newError(KindSyntax, off, "invalid UTF-8")
	}
	p := &parser{src: src, maxDepth: maxDepth}
	p.skipWS()
	if p.i >= len(p.src) {
		return nil, newError(KindSyntax, p.i, "empty query")
	}
	if p.src[p.i] != '{' {
		return nil, newError(KindSyntax, p.i, "query must be an object")
	}
	root, err := p.parseValue()
	if err != nil {
		return nil, err
	}
	p.skipWS()
	if p.i < len(p.src) {
		return nil, newError(KindSyntax, p.i, "unexpected %s after the query", p.describe())
	}
	return root, nil
}

func (p *parser) skipWS() {
	for p.i < len(p.src) {
		switch p.src[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// describe names the character at the current position for error messages.
func (p *parser) describe() string {
	if p.i >= len(p.src) {
		return "end of input"
	}
	r, _ := utf8.DecodeRuneInString(p.src[p.i:])
	return strconv.QuoteRune(r)
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > p.maxDepth {
		return newError(KindLimit, p.i, "nesting deeper than %d", p.maxDepth)
	}
	return nil
}

func (p *parser) parseValue() (*ast, error) {
	p.skipWS()
	if p.i >= len(p.src) {
		return nil, newError(KindSyntax, p.i, "unexpected end of input, expected a value")
	}
	start := p.i
	switch c := p.src[p.i]; {
	case c == '{':
		return p.parseObject()
	case c == '[':
		return p.parseArray()
	case c == '"' || c == '\'':
		s, err := p.parseString()
		if err != nil {
			return nil, err
		}
		return &ast{kind: astString, pos: start, s: s}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return p.parseNumber()
	}
	word := p.scanIdent()
	switch word {
	case "true":
		return &ast{kind: astBool, pos: start, b: true}, nil
	case "false":
		return &ast{kind: astBool, pos: start}, nil
	case "null":
		return &ast{kind: astNull, pos: start}, nil
	case "":
		return nil, newError(KindSyntax, start, "unexpected %s, expected a value", p.describe())
	}
	p.i = start
	return nil, newError(KindSyntax, start, "unexpected identifier %q, expected a value (strings must be quoted)", word)
}

func (p *parser) parseObject() (*ast, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	obj := &ast{kind: astObject, pos: p.i}
	p.i++ // '{'
	p.skipWS()
	if p.i < len(p.src) && p.src[p.i] == '}' {
		p.i++
		return obj, nil
	}
	var seen map[string]struct{}
	for {
		p.skipWS()
		keyPos := p.i
		key, err := p.parseKey()
		if err != nil {
			return nil, err
		}
		if err := checkKey(key, keyPos); err != nil {
			return nil, err
		}
		if seen == nil && len(obj.members) >= 8 {
			seen = make(map[string]struct{}, 2*len(obj.members))
			for _, m := range obj.members {
				seen[m.key] = struct{}{}
			}
		}
		if seen != nil {
			if _, dup := seen[key]; dup {
				return nil, newError(KindSyntax, keyPos, "duplicate key %q", key)
			}
			seen[key] = struct{}{}
		} else {
			for _, m := range obj.members {
				if m.key == key {
					return nil, newError(KindSyntax, keyPos, "duplicate key %q", key)
				}
			}
		}
		p.skipWS()
		if p.i >= len(p.src) || p.src[p.i] != ':' {
			return nil, newError(KindSyntax, p.i, "unexpected %s, expected ':' after key %q", p.describe(), key)
		}
		p.i++
		val, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		obj.members = append(obj.members, member{key: key, pos: keyPos, val: val})
		p.skipWS()
		if p.i >= len(p.src) {
			return nil, newError(KindSyntax, p.i, "unexpected end of input, expected ',' or '}'")
		}
		switch p.src[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return obj, nil
		default:
			return nil, newError(KindSyntax, p.i, "unexpected %s, expected ',' or '}'", p.describe())
		}
	}
}

// checkKey applies Crafter Profile's key rules, which it enforces with the
// regular expressions ['"]?tenant['"]?\s*: and ['"]?\$where['"]?\s*: on the
// raw text: both match any key that ends with the word.
func checkKey(key string, pos int) error {
	if strings.HasSuffix(key, "tenant") {
		return &Error{Kind: KindTenant, Offset: pos, Path: key, Msg: msgTenant}
	}
	if strings.HasSuffix(key, "$where") {
		return &Error{Kind: KindWhere, Offset: pos, Path: key, Msg: msgWhere}
	}
	return nil
}

func (p *parser) parseKey() (string, error) {
	if p.i >= len(p.src) {
		return "", newError(KindSyntax, p.i, "unexpected end of input, expected a key")
	}
	if c := p.src[p.i]; c == '"' || c == '\'' {
		return p.parseString()
	}
	start := p.i
	key := p.scanIdent()
	if key == "" {
		return "", newError(KindSyntax, start, "unexpected %s, expected a key", p.describe())
	}
	return key, nil
}

// scanIdent consumes an unquoted key or keyword: letters, digits, '_', '$'
// and '.'.
func (p *parser) scanIdent() string {
	start := p.i
	for p.i < len(p.src) {
		c := p.src[p.i]
		if c < utf8.RuneSelf {
			if c == '_' || c == '$' || c == '.' || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z') {
				p.i++
				continue
			}
			break
		}
		r, n := utf8.DecodeRuneInString(p.src[p.i:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			break
		}
		p.i += n
	}
	return p.src[start:p.i]
}

func (p *parser) parseArray() (*ast, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	arr := &ast{kind: astArray, pos: p.i}
	p.i++ // '['
	p.skipWS()
	if p.i < len(p.src) && p.src[p.i] == ']' {
		p.i++
		return arr, nil
	}
	for {
		v, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		arr.elems = append(arr.elems, v)
		p.skipWS()
		if p.i >= len(p.src) {
			return nil, newError(KindSyntax, p.i, "unexpected end of input, expected ',' or ']'")
		}
		switch p.src[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return arr, nil
		default:
			return nil, newError(KindSyntax, p.i, "unexpected %s, expected ',' or ']'", p.describe())
		}
	}
}

// parseString parses a string quoted with ' or " and JSON escapes; either
// quote character may be escaped.
func (p *parser) parseString() (string, error) {
	start := p.i
	quote := p.src[p.i]
	p.i++
	// Fast path: no escapes.
	for j := p.i; j < len(p.src); j++ {
		c := p.src[j]
		if c == quote {
			s := p.src[p.i:j]
			p.i = j + 1
			return s, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
	}
	var b strings.Builder
	for p.i < len(p.src) {
		c := p.src[p.i]
		switch {
		case c == quote:
			p.i++
			return b.String(), nil
		case c < 0x20:
			return "", newError(KindSyntax, p.i, "control character in string")
		case c == '\\':
			if err := p.parseEscape(&b); err != nil {
				return "", err
			}
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return "", newError(KindSyntax, start, "unterminated string")
}

func (p *parser) parseEscape(b *strings.Builder) error {
	at := p.i
	p.i++ // '\\'
	if p.i >= len(p.src) {
		return newError(KindSyntax, at, "unterminated escape sequence")
	}
	c := p.src[p.i]
	p.i++
	switch c {
	case '"', '\'', '\\', '/':
		b.WriteByte(c)
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'u':
		r, ok := p.hex4()
		if !ok {
			return newError(KindSyntax, at, `invalid \u escape`)
		}
		if utf16IsHigh(r) {
			if p.i+1 < len(p.src) && p.src[p.i] == '\\' && p.src[p.i+1] == 'u' {
				p.i += 2
				lo, ok := p.hex4()
				if ok && utf16IsLow(lo) {
					b.WriteRune(0x10000 + (r-0xD800)<<10 + (lo - 0xDC00))
					return nil
				}
			}
			return newError(KindSyntax, at, "unpaired surrogate in \\u escape")
		}
		if utf16IsLow(r) {
			return newError(KindSyntax, at, "unpaired surrogate in \\u escape")
		}
		b.WriteRune(r)
	default:
		return newError(KindSyntax, at, "invalid escape sequence \\%c", c)
	}
	return nil
}

func utf16IsHigh(r rune) bool { return r >= 0xD800 && r < 0xDC00 }
func utf16IsLow(r rune) bool  { return r >= 0xDC00 && r < 0xE000 }

func (p *parser) hex4() (rune, bool) {
	if p.i+4 > len(p.src) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(p.src[p.i : p.i+4]) {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	p.i += 4
	return r, true
}

func (p *parser) parseNumber() (*ast, error) {
	start := p.i
	isFloat := false
	if p.src[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.src) && p.src[p.i] >= '0' && p.src[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	intStart := p.i
	n := digits()
	if n == 0 {
		return nil, newError(KindSyntax, start, "invalid number")
	}
	if n > 1 && p.src[intStart] == '0' {
		return nil, newError(KindSyntax, start, "invalid number: leading zero")
	}
	if p.i < len(p.src) && p.src[p.i] == '.' {
		isFloat = true
		p.i++
		if digits() == 0 {
			return nil, newError(KindSyntax, start, "invalid number: digits expected after '.'")
		}
	}
	if p.i < len(p.src) && (p.src[p.i] == 'e' || p.src[p.i] == 'E') {
		isFloat = true
		p.i++
		if p.i < len(p.src) && (p.src[p.i] == '+' || p.src[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, newError(KindSyntax, start, "invalid number: digits expected in exponent")
		}
	}
	text := p.src[start:p.i]
	if !isFloat {
		if i, err := strconv.ParseInt(text, 10, 64); err == nil {
			return &ast{kind: astInt, pos: start, i: i}, nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) || math.IsInf(f, 0) {
		return nil, newError(KindSyntax, start, "number out of range")
	}
	return &ast{kind: astFloat, pos: start, f: f}, nil
}
