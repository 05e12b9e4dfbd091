// Package httpx holds the HTTP plumbing every face shares: the client
// address that rate limits are keyed by (ClientAddress) and the panic
// recovery middleware (Recover). It knows no wire format: each face passes
// its own error writer.
package httpx
