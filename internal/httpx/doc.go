// Package httpx holds the HTTP plumbing every face shares: the client
// address that rate limits are keyed by (ClientAddress), the panic
// recovery middleware (Recover) and the listener that lets a face answer
// requests net/http refuses before any handler (AnswerMalformedTargets),
// and the body limit that refuses a body declared too long before
// anything is read (LimitBody). It knows no wire format: each face passes
// its own error writer.
package httpx
