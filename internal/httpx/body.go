package httpx

import (
	"io"
	"net/http"
	"strings"
)

// LimitBody is http.MaxBytesReader for r's body, except that a request
// that declares a longer body (its Content-Length over n) fails at its
// first read with an *http.MaxBytesError and nothing read. net/http sends
// "100 Continue" to a client that asked for it (Expect: 100-continue) at
// the handler's first read of the body: refused before that read, such a
// client gets the face's 4xx instead of a connection reset while it
// sends a body nobody reads, and every other client gets the answer
// before the connection closes.
//
// Over HTTP/1, the answer to such a request, and to any that asked for
// "100 Continue", closes the connection (Connection: close): net/http
// would otherwise read up to 256 KiB of a body the handler left unread
// before it answered, from a client that sends none until it gets "100
// Continue". HTTP/2 has no such read, and there Connection: close would
// shut down every stream of the client's connection: it is not set.
func LimitBody(w http.ResponseWriter, r *http.Request, n int64) io.ReadCloser {
	if r.ProtoMajor < 2 && (r.ContentLength > n || strings.EqualFold(r.Header.Get("Expect"), "100-continue")) {
		w.Header().Set("Connection", "close")
	}
	if r.ContentLength > n {
		return declaredTooLarge{limit: n, body: r.Body}
	}
	return http.MaxBytesReader(w, r.Body, n)
}

// declaredTooLarge is the body of a request that declared more than
// limit bytes: it reads nothing.
type declaredTooLarge struct {
	limit int64
	body  io.ReadCloser
}

func (d declaredTooLarge) Read([]byte) (int, error) { return 0, &http.MaxBytesError{Limit: d.limit} }

func (d declaredTooLarge) Close() error { return d.body.Close() }
