package httpx

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sync"
)

// MalformedAnswer returns the answer to a request whose target (the
// second word of its request line) net/http could not parse, or ok=false
// to keep net/http's own.
type MalformedAnswer func(target string) (status int, contentType string, body []byte, ok bool)

// AnswerMalformedTargets wraps l so that a face answers, in its own
// format, the requests net/http refuses before any handler runs because
// their target does not parse (a malformed escape such as "%zz" in the
// path): net/http writes a plain-text "400 Bad Request" and closes the
// connection; on these connections that answer is replaced by
// answer(target) when it claims the target.
//
// Each connection keeps the latest 8 KiB it read to find the refused
// request line (the first one in them whose target does not parse);
// nothing else is changed. Wrap the listener net/http serves, after any
// TLS layer.
func AnswerMalformedTargets(l net.Listener, answer MalformedAnswer) net.Listener {
	return &malformedListener{Listener: l, answer: answer}
}

type malformedListener struct {
	net.Listener
	answer MalformedAnswer
}

// Accept wraps the accepted connection.
func (l *malformedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &malformedConn{Conn: c, answer: l.answer}, nil
}

// netHTTPBadRequest is what net/http writes when it cannot parse a
// request (server.go, conn.serve).
const netHTTPBadRequest = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request"

const keepRead = 8 << 10

var requestLine = regexp.MustCompile(`(?m)^[A-Z]+ (\S+) HTTP/1\.[01]\r?$`)

type malformedConn struct {
	net.Conn
	answer MalformedAnswer
	mu     sync.Mutex
	seen   []byte
}

func (c *malformedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if n >= keepRead {
			c.seen = append(c.seen[:0], p[n-keepRead:n]...)
		} else {
			if drop := len(c.seen) + n - keepRead; drop > 0 {
				c.seen = append(c.seen[:0], c.seen[drop:]...)
			}
			c.seen = append(c.seen, p[:n]...)
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *malformedConn) Write(p []byte) (int, error) {
	if string(p) != netHTTPBadRequest {
		return c.Conn.Write(p)
	}
	c.mu.Lock()
	seen := bytes.Clone(c.seen)
	c.mu.Unlock()
	for _, m := range requestLine.FindAllSubmatch(seen, -1) {
		target := string(m[1])
		if _, err := url.ParseRequestURI(target); err == nil {
			continue
		}
		status, ctype, body, ok := c.answer(target)
		if !ok {
			break
		}
		head := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nCache-Control: no-store\r\n"+
			"X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n", status, http.StatusText(status), ctype, len(body))
		if _, err := c.Conn.Write(append([]byte(head), body...)); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}
