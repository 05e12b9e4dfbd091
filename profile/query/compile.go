package query

import (
	"math"
	"regexp"
	"regexp/syntax"
	"strings"
)

type compiler struct {
	cfg       *config
	seen      map[string]struct{}
	regexCost int // summed regexCost of the $regex operators compiled so far
}

// filter compiles a filter document. prefix is the path of the array being
// matched by $elemMatch, or "" at top level.
func (c *compiler) filter(obj *ast, prefix string) (andNode, error) {
	out := make(andNode, 0, len(obj.members))
	for _, m := range obj.members {
		if strings.HasPrefix(m.key, "$") {
			n, err := c.logical(m, prefix)
			if err != nil {
				return nil, err
			}
			out = append(out, n)
			continue
		}
		n, err := c.field(m, prefix)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func (c *compiler) logical(m member, prefix string) (node, error) {
	switch m.key {
	case "$and", "$or", "$nor":
	default:
		return nil, newError(KindOperator, m.pos, "unknown top-level operator %q", m.key)
	}
	if m.val.kind != astArray || len(m.val.elems) == 0 {
		return nil, newError(KindOperator, m.val.pos, "%s needs a non-empty array of filters", m.key)
	}
	subs := make([]node, 0, len(m.val.elems))
	for _, e := range m.val.elems {
		if e.kind != astObject {
			return nil, newError(KindOperator, e.pos, "%s needs a non-empty array of filters", m.key)
		}
		n, err := c.filter(e, prefix)
		if err != nil {
			return nil, err
		}
		subs = append(subs, n)
	}
	switch m.key {
	case "$and":
		return andNode(subs), nil
	case "$or":
		return orNode(subs), nil
	default:
		return norNode(subs), nil
	}
}

func (c *compiler) field(m member, prefix string) (node, error) {
	parts := strings.Split(m.key, ".")
	for _, p := range parts {
		if p == "" {
			return nil, &Error{Kind: KindOperator, Offset: m.pos, Path: m.key, Msg: "invalid field path " + quote(m.key) + ": empty component"}
		}
		if p[0] == '$' {
			return nil, &Error{Kind: KindOperator, Offset: m.pos, Path: m.key, Msg: "invalid field path " + quote(m.key) + ": component starts with '$'"}
		}
	}
	full := m.key
	if prefix != "" {
		full = prefix + "." + m.key
	}
	if err := c.validate(full, m.pos); err != nil {
		return nil, err
	}
	p, err := c.predicate(m.val, full)
	if err != nil {
		return nil, err
	}
	return &fieldNode{path: full, parts: parts, p: p}, nil
}

func quote(s string) string { return `"` + s + `"` }

func (c *compiler) validate(path string, pos int) error {
	c.seen[path] = struct{}{}
	for _, v := range c.cfg.validators {
		if err := v(path); err != nil {
			return &Error{Kind: KindDenied, Offset: pos, Path: path, Msg: err.Error(), Err: err}
		}
	}
	return nil
}

// predicate compiles the value of a field: an operator expression or a
// literal for implicit equality.
func (c *compiler) predicate(v *ast, path string) (pred, error) {
	if !v.isOperatorObject() || wrapper(v) != "" {
		lit, err := literal(v)
		if err != nil {
			return nil, withPath(err, path)
		}
		return anyPred{&eqCheck{v: lit}}, nil
	}
	return c.operators(v, path)
}

// operators compiles an object whose keys are all operators; the result is
// their conjunction.
func (c *compiler) operators(obj *ast, path string) (pred, error) {
	var preds allPred
	var regex, options *member
	for i := range obj.members {
		m := &obj.members[i]
		switch m.key {
		case "$regex":
			regex = m
			continue
		case "$options":
			options = m
			continue
		}
		p, err := c.operator(m, path)
		if err != nil {
			return nil, err
		}
		preds = append(preds, p)
	}
	if options != nil && regex == nil {
		return nil, &Error{Kind: KindOperator, Offset: options.pos, Path: path, Msg: "$options needs $regex"}
	}
	if regex != nil {
		re, err := c.compileRegex(regex, options, path)
		if err != nil {
			return nil, err
		}
		preds = append(preds, anyPred{&regexCheck{re: re}})
	}
	if len(preds) == 1 {
		return preds[0], nil
	}
	return preds, nil
}

func (c *compiler) operator(m *member, path string) (pred, error) {
	bad := func(format string) error {
		return &Error{Kind: KindOperator, Offset: m.val.pos, Path: path, Msg: strings.ReplaceAll(format, "%op", m.key)}
	}
	switch m.key {
	case "$eq", "$ne":
		lit, err := literal(m.val)
		if err != nil {
			return nil, withPath(err, path)
		}
		p := anyPred{&eqCheck{v: lit}}
		if m.key == "$ne" {
			return notPred{p}, nil
		}
		return p, nil
	case "$gt", "$gte", "$lt", "$lte":
		op := map[string]cmpOp{"$gt": opGT, "$gte": opGTE, "$lt": opLT, "$lte": opLTE}[m.key]
		v, err := literal(m.val)
		if err != nil {
			return nil, withPath(err, path)
		}
		return anyPred{&cmpCheck{op: op, v: v, cl: classOf(v)}}, nil
	case "$in", "$nin":
		if m.val.kind != astArray {
			return nil, bad("%op needs an array")
		}
		chk := &inCheck{}
		for _, e := range m.val.elems {
			if regex, options, ok := regexObject(e); ok {
				re, err := c.compileRegex(regex, options, path)
				if err != nil {
					return nil, err
				}
				chk.res = append(chk.res, re)
				continue
			}
			if e.isOperatorObject() && wrapper(e) == "" {
				return nil, &Error{Kind: KindOperator, Offset: e.pos, Path: path, Msg: "cannot nest operators in " + m.key}
			}
			v, err := literal(e)
			if err != nil {
				return nil, withPath(err, path)
			}
			if v == nil {
				chk.hasNull = true
			}
			chk.vals = append(chk.vals, v)
		}
		if m.key == "$nin" {
			return notPred{anyPred{chk}}, nil
		}
		return anyPred{chk}, nil
	case "$exists":
		want, ok := truthy(m.val)
		if !ok {
			return nil, bad("%op needs a boolean or a number")
		}
		p := anyPred{existsCheck{}}
		if !want {
			return notPred{p}, nil
		}
		return p, nil
	case "$not":
		if !m.val.isOperatorObject() {
			return nil, bad("%op needs a non-empty operator expression")
		}
		p, err := c.operators(m.val, path)
		if err != nil {
			return nil, err
		}
		return notPred{p}, nil
	case "$size":
		n, ok := nonNegInt(m.val)
		if !ok {
			return nil, bad("%op needs a non-negative integer")
		}
		return anyPred{&sizeCheck{n: n}}, nil
	case "$all":
		return c.all(m, path)
	case "$elemMatch":
		return c.elemMatch(m, path)
	default:
		return nil, &Error{Kind: KindOperator, Offset: m.pos, Path: path, Msg: "unknown operator " + quote(m.key)}
	}
}

func (c *compiler) all(m *member, path string) (pred, error) {
	if m.val.kind != astArray {
		return nil, &Error{Kind: KindOperator, Offset: m.val.pos, Path: path, Msg: "$all needs an array"}
	}
	if len(m.val.elems) == 0 {
		return falsePred{}, nil
	}
	preds := make(allPred, 0, len(m.val.elems))
	for _, e := range m.val.elems {
		if !e.isOperatorObject() || wrapper(e) != "" {
			lit, err := literal(e)
			if err != nil {
				return nil, withPath(err, path)
			}
			preds = append(preds, anyPred{&eqCheck{v: lit}})
			continue
		}
		if len(e.members) != 1 || e.members[0].key != "$elemMatch" {
			return nil, &Error{Kind: KindOperator, Offset: e.pos, Path: path, Msg: "$all accepts values or {$elemMatch: ...} objects only"}
		}
		p, err := c.elemMatch(&e.members[0], path)
		if err != nil {
			return nil, err
		}
		preds = append(preds, p)
	}
	return preds, nil
}

func (c *compiler) elemMatch(m *member, path string) (pred, error) {
	if m.val.kind != astObject {
		return nil, &Error{Kind: KindOperator, Offset: m.val.pos, Path: path, Msg: "$elemMatch needs an object"}
	}
	isFilter := true
	if m.val.isOperatorObject() {
		switch m.val.members[0].key {
		case "$and", "$or", "$nor":
		default:
			isFilter = false
		}
	}
	if isFilter {
		n, err := c.filter(m.val, path)
		if err != nil {
			return nil, err
		}
		return anyPred{&elemMatchCheck{doc: n}}, nil
	}
	for _, mb := range m.val.members {
		if !strings.HasPrefix(mb.key, "$") {
			return nil, &Error{Kind: KindOperator, Offset: mb.pos, Path: path, Msg: "cannot mix operators and field names in $elemMatch"}
		}
	}
	p, err := c.operators(m.val, path)
	if err != nil {
		return nil, err
	}
	return anyPred{&elemMatchCheck{valuePred: p}}, nil
}

// truthy interprets the operand of $exists like MongoDB: false, 0 and null
// are false, true and other numbers are true.
func truthy(v *ast) (bool, bool) {
	switch v.kind {
	case astBool:
		return v.b, true
	case astInt:
		return v.i != 0, true
	case astFloat:
		return v.f != 0, true
	case astNull:
		return false, true
	}
	return false, false
}

func nonNegInt(v *ast) (int, bool) {
	switch v.kind {
	case astInt:
		if v.i >= 0 && v.i <= math.MaxInt32 {
			return int(v.i), true
		}
	case astFloat:
		if v.f >= 0 && v.f <= math.MaxInt32 && v.f == math.Trunc(v.f) {
			return int(v.f), true
		}
	}
	return 0, false
}

// compileRegex builds the $regex predicate with Go's RE2 engine.
func (c *compiler) compileRegex(regex, options *member, path string) (*regexp.Regexp, error) {
	if regex.val.kind != astString {
		return nil, &Error{Kind: KindOperator, Offset: regex.val.pos, Path: path, Msg: "$regex needs a string"}
	}
	pattern := regex.val.s
	flags := ""
	if options != nil {
		if options.val.kind != astString {
			return nil, &Error{Kind: KindOperator, Offset: options.val.pos, Path: path, Msg: "$options needs a string"}
		}
		extended := false
		for _, r := range options.val.s {
			switch r {
			case 'i', 'm', 's':
				if !strings.ContainsRune(flags, r) {
					flags += string(r)
				}
			case 'x':
				extended = true
			case 'u':
				// Patterns are always Unicode-aware in RE2.
			default:
				return nil, &Error{Kind: KindOperator, Offset: options.val.pos, Path: path, Msg: "invalid $options flag " + quote(string(r))}
			}
		}
		if extended {
			pattern = stripExtended(pattern)
		}
	}
	if flags != "" {
		pattern = "(?" + flags + ")" + pattern
	}
	tree, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, &Error{Kind: KindOperator, Offset: regex.val.pos, Path: path, Msg: "invalid $regex: " + err.Error(), Err: err}
	}
	cost := regexCost(tree)
	if cost > maxRegexCost {
		return nil, &Error{Kind: KindOperator, Offset: regex.val.pos, Path: path, Msg: "$regex too complex"}
	}
	c.regexCost += cost
	if c.regexCost > maxTotalRegexCost {
		return nil, &Error{Kind: KindOperator, Offset: regex.val.pos, Path: path, Msg: "too many or too complex $regex operators"}
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, &Error{Kind: KindOperator, Offset: regex.val.pos, Path: path, Msg: "invalid $regex: " + err.Error(), Err: err}
	}
	return re, nil
}

// regexObject recognises {$regex: ..., $options: ...} written as a value,
// which Jongo turns into a regular expression (MongoDB accepts those in
// $in and $nin).
func regexObject(a *ast) (regex, options *member, ok bool) {
	if a.kind != astObject || len(a.members) == 0 || len(a.members) > 2 {
		return nil, nil, false
	}
	for i := range a.members {
		switch a.members[i].key {
		case "$regex":
			regex = &a.members[i]
		case "$options":
			options = &a.members[i]
		default:
			return nil, nil, false
		}
	}
	return regex, options, regex != nil
}

// withPath records the field path on a literal conversion error.
func withPath(err error, path string) error {
	if e, ok := err.(*Error); ok && e.Path == "" {
		e.Path = path
	}
	return err
}

// maxRegexCost bounds the size of a compiled regular expression: RE2 runs
// in time proportional to the subject length times the program size, so
// this keeps the matching of one string linear with a small constant.
const maxRegexCost = 4000

// maxTotalRegexCost bounds the summed cost of all regular expressions in
// one query.
const maxTotalRegexCost = 2 * maxRegexCost

// regexCost estimates the number of instructions re compiles to, with
// counted repetitions expanded, saturating above maxRegexCost.
func regexCost(re *syntax.Regexp) int {
	cost := 1
	switch re.Op {
	case syntax.OpLiteral:
		cost = len(re.Rune)
	case syntax.OpRepeat:
		n := re.Max
		if n < 0 {
			n = re.Min + 1
		}
		n = max(n, 1)
		sub := regexCost(re.Sub[0])
		if sub > maxRegexCost || n > maxRegexCost/sub {
			return maxRegexCost + 1
		}
		return sub*n + 1
	}
	for _, s := range re.Sub {
		cost += regexCost(s)
		if cost > maxRegexCost {
			return maxRegexCost + 1
		}
	}
	return cost
}

// stripExtended implements PCRE's x flag: unescaped whitespace outside
// character classes is dropped, and '#' outside a class starts a comment
// that runs to the end of the line.
func stripExtended(p string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		ch := p[i]
		switch {
		case ch == '\\' && i+1 < len(p):
			next := p[i+1]
			i++
			if next == ' ' {
				// "\ " is a literal space; RE2 has no such escape.
				b.WriteString(`\x20`)
				continue
			}
			b.WriteByte(ch)
			b.WriteByte(next)
		case inClass:
			if ch == ']' {
				inClass = false
			}
			b.WriteByte(ch)
		case ch == '[':
			inClass = true
			b.WriteByte(ch)
			// A ']' right after '[' or '[^' is a literal member.
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v':
		case ch == '#':
			for i+1 < len(p) && p[i+1] != '\n' {
				i++
			}
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}
