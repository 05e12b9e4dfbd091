package httpx

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/google/uuid"
)

// Recover returns a handler that serves next and turns a panic into a
// logged 500 for that request only, instead of a crashed process.
//
// The panic is logged at error level on log with msg, the request's
// method and path with every segment that may be a secret redacted (see
// LoggedPath; never its
// query, headers or body, which may carry secrets), the panic value and
// the stack. When nothing was written yet,
// answer writes the face's own 500 (Cryptr JSON, Crafter JSON, a page);
// after a partial answer nothing more is written. http.ErrAbortHandler is
// re-panicked, as net/http expects.
//
// Recovery is the last line of defence: no input may produce a 500, so a
// logged panic is a bug to fix.
func Recover(log *slog.Logger, msg string, next http.Handler, answer func(w http.ResponseWriter, r *http.Request)) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &trackingWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			log.LogAttrs(r.Context(), slog.LevelError, msg,
				slog.String("method", r.Method), slog.String("path", LoggedPath(r)),
				slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
			if !tw.wrote {
				answer(tw, r)
			}
		}()
		next.ServeHTTP(tw, r)
	})
}

// trackingWriter records whether the answer has started, so a recovered
// panic does not write a second header.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(code int) { t.wrote = true; t.ResponseWriter.WriteHeader(code) }

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}

// Unwrap returns the wrapped writer (for http.ResponseController).
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// LoggedPath is what a log line may say of r's path. One-time secrets
// travel in paths (magic links, setup links, verification links), so it
// is the path with every segment of 20 characters or more that is not a
// UUID replaced by "{redacted}" (a 128-bit secret is at least 22
// characters in base64url).
func LoggedPath(r *http.Request) string {
	segs := strings.Split(r.URL.Path, "/")
	for i, s := range segs {
		if len(s) < 20 {
			continue
		}
		if _, err := uuid.Parse(s); err == nil && len(s) == 36 {
			continue
		}
		segs[i] = "{redacted}"
	}
	return strings.Join(segs, "/")
}
