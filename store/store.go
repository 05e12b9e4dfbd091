// Package store opens an identity.Store from a URL, so that a host program
// chooses its backend with one configuration string:
//
//	memory:          an in-memory store (tests, demos; lost on exit)
//	bolt:PATH        a bbolt file (the default backend)
//	PATH             a bare path is a bbolt file too
//	postgres://...   PostgreSQL (store/postgres), for many instances on one database
//
// Backends are chosen by a switch in this package, never by a registry filled
// at init time; a host may add or replace one for a call with WithOpener.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/bolt"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// ErrUnsupported is wrapped by Open's error when the URL names a backend
// that this build does not include or that does not exist.
var ErrUnsupported = errors.New("unsupported store")

// Opener opens a store from its full URL.
type Opener func(ctx context.Context, url string) (identity.Store, error)

// Option configures Open.
type Option func(*options)

type options struct {
	bolt    []bolt.Option
	openers map[string]Opener
}

// WithBolt passes options to the bolt backend (lock timeout, NoSync for
// tests, batch delay).
func WithBolt(opts ...bolt.Option) Option {
	return func(o *options) { o.bolt = append(o.bolt, opts...) }
}

// WithOpener makes Open use fn for URLs of the given scheme (without the
// colon, for example "postgres"), before the built-in backends. It is how a
// host plugs in a backend this package does not import.
func WithOpener(scheme string, fn Opener) Option {
	return func(o *options) {
		if o.openers == nil {
			o.openers = map[string]Opener{}
		}
		o.openers[strings.ToLower(scheme)] = fn
	}
}

// Open opens the store that url names; see the package documentation for
// the forms. The caller closes the store.
func Open(ctx context.Context, url string, opts ...Option) (identity.Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	scheme, rest := splitScheme(url)
	if scheme == "postgresql" && o.openers[scheme] == nil {
		scheme = "postgres"
	}
	if fn := o.openers[scheme]; fn != nil {
		return fn(ctx, url)
	}
	switch scheme {
	case "memory", "mem":
		if rest != "" {
			return nil, fmt.Errorf("store %q: memory: takes no path: %w", url, ErrUnsupported)
		}
		return memory.New(), nil
	case "bolt", "":
		path := strings.TrimPrefix(rest, "//")
		if path == "" {
			return nil, fmt.Errorf("store %q: bolt needs a file path, as in bolt:gatehouse.db: %w", url, ErrUnsupported)
		}
		return bolt.Open(ctx, path, o.bolt...)
	case "postgres", "postgresql":
		return openPostgres(ctx, url, &o)
	}
	return nil, fmt.Errorf("store %q: unknown scheme %q; use bolt:PATH, memory: or postgres://...: %w", redact(url), scheme, ErrUnsupported)
}

// splitScheme splits "scheme:rest". A string without a scheme (a bare path,
// or a Windows path such as C:\data\g.db) has scheme "".
func splitScheme(url string) (scheme, rest string) {
	i := strings.IndexByte(url, ':')
	if i < 2 { // no colon, or a one-letter drive name
		return "", url
	}
	for j, r := range url[:i] {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (j == 0 || !(r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')) {
			return "", url
		}
	}
	return strings.ToLower(url[:i]), url[i+1:]
}

// redact hides a password in a URL's user info before it goes in a message.
func redact(url string) string {
	at := strings.LastIndexByte(url, '@')
	start := strings.Index(url, "://")
	if at < 0 || start < 0 || at < start {
		return url
	}
	user := url[start+3 : at]
	if c := strings.IndexByte(user, ':'); c >= 0 {
		return url[:start+3] + user[:c] + ":xxxxx" + url[at:]
	}
	return url
}
