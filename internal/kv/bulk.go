package kv

import "context"

type bulkKey struct{}

// WithBulk marks the writes made with ctx as bulk: large, and not awaited
// by a request (the audit journal's writer, imports). A store may commit
// them differently: store/bolt writes them straight into its file instead
// of appending them to its write-ahead log, which would write them twice.
func WithBulk(ctx context.Context) context.Context { return context.WithValue(ctx, bulkKey{}, true) }

// Bulk reports whether WithBulk marked ctx.
func Bulk(ctx context.Context) bool {
	b, _ := ctx.Value(bulkKey{}).(bool)
	return b
}
