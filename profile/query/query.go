package query

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Query is a parsed and validated filter. It is immutable and safe for
// concurrent use.
type Query struct {
	root  andNode
	paths []string
}

// Option configures Parse.
type Option func(*config)

type config struct {
	maxLen     int
	maxDepth   int
	validators []func(path string) error
}

// WithMaxLen sets the maximum source length in bytes (default
// DefaultMaxLen). Values below 1 keep the default.
func WithMaxLen(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxLen = n
		}
	}
}

// WithMaxDepth sets the maximum nesting of objects and arrays (default
// DefaultMaxDepth). Values below 1 keep the default.
func WithMaxDepth(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxDepth = n
		}
	}
}

// WithValidator adds a check run on the full dotted path of every field the
// query tests, in source order. Paths inside $elemMatch are joined to the
// array's path ({a: {$elemMatch: {b: 1}}} yields "a" and "a.b"). A non-nil
// error makes Parse fail with an *Error of KindDenied whose Msg is the
// error's text and whose Err is the error.
func WithValidator(fn func(path string) error) Option {
	return func(c *config) {
		if fn != nil {
			c.validators = append(c.validators, fn)
		}
	}
}

// WithDeniedAttributes rejects queries on the named profile attributes, as
// Crafter Profile does for attributes the calling application may not read:
// the paths attributes.<name> and attributes.<name>.<anything> fail with
// the message `Attribute "<name>" is not allowed in query`. When at least
// one name is given, the bare path "attributes" is rejected too, since
// comparing the whole object would reveal the denied values.
func WithDeniedAttributes(names ...string) Option {
	denied := make(map[string]struct{}, len(names))
	for _, n := range names {
		denied[n] = struct{}{}
	}
	return WithValidator(func(path string) error {
		if len(denied) == 0 {
			return nil
		}
		if path == "attributes" {
			return errors.New(`Field "attributes" is not allowed in query while some attributes are not readable`)
		}
		rest, ok := strings.CutPrefix(path, "attributes.")
		if !ok {
			return nil
		}
		name, _, _ := strings.Cut(rest, ".")
		if _, ok := denied[name]; ok {
			return fmt.Errorf(`Attribute "%s" is not allowed in query`, name)
		}
		return nil
	})
}

// Parse parses and validates a filter. Every error it returns is an
// *Error.
func Parse(src string, opts ...Option) (*Query, error) {
	cfg := config{maxLen: DefaultMaxLen, maxDepth: DefaultMaxDepth}
	for _, o := range opts {
		o(&cfg)
	}
	if len(src) > cfg.maxLen {
		return nil, newError(KindLimit, cfg.maxLen, "query longer than %d bytes", cfg.maxLen)
	}
	tree, err := parseSource(src, cfg.maxDepth)
	if err != nil {
		return nil, err
	}
	c := compiler{cfg: &cfg, seen: map[string]struct{}{}}
	root, err := c.filter(tree, "")
	if err != nil {
		return nil, err
	}
	q := &Query{root: root, paths: make([]string, 0, len(c.seen))}
	for p := range c.seen {
		q.paths = append(q.paths, p)
	}
	slices.Sort(q.paths)
	return q, nil
}

// Match reports whether doc satisfies the filter. See the package
// documentation for the accepted value types. A nil Query matches every
// document.
func (q *Query) Match(doc map[string]any) bool {
	if q == nil {
		return true
	}
	return q.root.match(doc)
}

// Paths returns the sorted, distinct full paths of all fields the query
// tests, including those inside $elemMatch, $not and logical operators.
func (q *Query) Paths() []string {
	if q == nil {
		return nil
	}
	return slices.Clone(q.paths)
}
