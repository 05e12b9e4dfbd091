package saml

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	csaml "github.com/crewjam/saml"
)

func TestMemoryReplayCache(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := NewMemoryReplayCache(func() time.Time { return now })
	ctx := context.Background()
	claim := func(conn, id string, until time.Time) bool {
		ok, err := c.Claim(ctx, conn, id, until)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim("c1", "a", now.Add(time.Minute)) || claim("c1", "a", now.Add(time.Minute)) {
		t.Fatal("first claim must win, second must lose")
	}
	if !claim("c2", "a", now.Add(time.Minute)) {
		t.Fatal("connections are separate namespaces")
	}
	now = now.Add(2 * time.Minute) // expired: swept, claimable again
	if !claim("c3", "b", now.Add(time.Minute)) || c.Len() != 1 {
		t.Fatalf("expired entries not swept: %d left", c.Len())
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Claim(cctx, "c1", "z", now); err == nil {
		t.Fatal("canceled context accepted")
	}

	// Concurrent claims of one id: exactly one winner.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, _ := c.Claim(ctx, "c1", "race", now.Add(time.Hour)); ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d winners", wins.Load())
	}
}

type failingCache struct{}

func (failingCache) Claim(context.Context, string, string, time.Time) (bool, error) {
	return false, errors.New("store down")
}

func TestReplayCacheFailureAndCancel(t *testing.T) {
	e := newEnv(t, func(_ *env, _ *csaml.IdentityProvider, c *Config) { c.ReplayCache = failingCache{} })
	resp, reqID := e.spInitiated()
	_, err := e.sp.ParseResponse(context.Background(), resp, spACS, []string{reqID})
	if r := reasonOf(t, err); r != ReasonReplayCacheError {
		t.Fatalf("reason %q", r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = e.sp.ParseResponse(ctx, resp, spACS, []string{reqID})
	if r := reasonOf(t, err); r != ReasonCanceled {
		t.Fatalf("reason %q", r)
	}
}

func deflate(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	return buf.Bytes()
}

// TestCompressionBombInput mirrors gosaml2's test of the same name
// (CVE-2023-28119): 200 MB of zeros deflate to ~200 KB; inflating must stop
// at the limit instead of allocating it all.
func TestCompressionBombInput(t *testing.T) {
	bomb := deflate(t, make([]byte, 200<<20))
	if len(bomb) > 1<<20 {
		t.Fatalf("bomb is %d bytes compressed", len(bomb))
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := inflateBounded(bomb, DefaultMaxMessageBytes)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, errInflateLimit) {
		t.Fatalf("err = %v, want the limit error", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Fatalf("inflating the bomb allocated %d bytes", grew)
	}

	small := []byte("<samlp:LogoutRequest/>")
	out, err := inflateBounded(deflate(t, small), len(small))
	if err != nil || !bytes.Equal(out, small) {
		t.Fatalf("exact-limit message refused: %v", err)
	}
	if _, err := inflateBounded([]byte("not deflate data \xff\xff"), 1024); err == nil {
		t.Fatal("garbage accepted")
	}
}

// TestDecodeBase64Bounded: the line breaks, spaces and tabs IdPs put in the
// encoded message are skipped; anything else that is not base64, an empty
// message and one over the bound are refused.
func TestDecodeBase64Bounded(t *testing.T) {
	msg := []byte(strings.Repeat("<samlp:Response/>", 10))
	enc := base64.StdEncoding.EncodeToString(msg)
	wrap := func(sep string, every int) string {
		var b strings.Builder
		for i := 0; i < len(enc); i += every {
			b.WriteString(enc[i:min(i+every, len(enc))])
			b.WriteString(sep)
		}
		return b.String()
	}
	for _, tc := range []struct {
		name, in string
		max      int
		reason   Reason
	}{
		{"plain", enc, 1024, ""},
		{"CRLF every 76", wrap("\r\n", 76), 1024, ""},
		{"LF every 64", wrap("\n", 64), 1024, ""},
		{"spaces and tabs", wrap(" \t", 10), 1024, ""},
		{"leading and trailing blanks", " \r\n" + enc + "\t\n", 1024, ""},
		{"empty", "", 1024, ReasonMalformed},
		{"only line breaks", "\r\n\r\n", 1024, ReasonMalformed},
		{"only blanks", " \t ", 1024, ReasonMalformed},
		{"not base64", enc[:8] + "*" + enc[9:], 1024, ReasonMalformed},
		{"URL alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(base64.StdEncoding.EncodeToString([]byte{0xfb, 0xff, 0xfe})), 1024, ReasonMalformed},
		{"decoded over the bound", enc, len(msg) - 1, ReasonTooLarge},
		{"encoded over the bound", enc + strings.Repeat("\n", maxEncodedLen(len(msg))), len(msg), ReasonTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, ferr := decodeBase64Bounded(tc.in, tc.max)
			if tc.reason != "" {
				if ferr == nil || ferr.Reason != tc.reason {
					t.Fatalf("got %v, want reason %q", ferr, tc.reason)
				}
				return
			}
			if ferr != nil {
				t.Fatal(ferr.AuditString())
			}
			if !bytes.Equal(raw, msg) {
				t.Fatalf("decoded %q", raw)
			}
		})
	}
}

// TestVerifyResponseThenClaim: VerifyResponse makes the checks but leaves
// the replay cache alone, with a ReplayUntil covering the assertion's
// validity and the skew; Claim then claims once, and the response cannot
// be used again by either path. A refused response is refused by
// VerifyResponse as by ParseResponse.
func TestVerifyResponseThenClaim(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	resp, reqID := e.spInitiated()
	if _, err := e.sp.VerifyResponse(ctx, resp, spACS+"?x", []string{reqID}); reasonOf(t, err) != ReasonDestination {
		t.Fatalf("received at another URL: %v", err)
	}
	if _, err := e.sp.VerifyResponse(ctx, resp, spACS, []string{"id-other"}); reasonOf(t, err) != ReasonInResponseTo {
		t.Fatalf("another request: %v", err)
	}
	a, err := e.sp.VerifyResponse(ctx, resp, spACS, []string{reqID})
	if err != nil {
		t.Fatal(err.(*Error).AuditString())
	}
	if e.cache.Len() != 0 {
		t.Fatal("VerifyResponse claimed the assertion")
	}
	if a.ReplayUntil.Before(a.NotOnOrAfter.Add(MaxAllowedSkew)) {
		t.Fatalf("ReplayUntil %s is before NotOnOrAfter %s + skew", a.ReplayUntil, a.NotOnOrAfter)
	}
	// Verifying twice is allowed (nothing is consumed) ...
	if _, err := e.sp.VerifyResponse(ctx, resp, spACS, []string{reqID}); err != nil {
		t.Fatal(err.(*Error).AuditString())
	}
	// ... claiming is not.
	if err := e.sp.Claim(ctx, a); err != nil {
		t.Fatal(err.(*Error).AuditString())
	}
	if err := e.sp.Claim(ctx, a); reasonOf(t, err) != ReasonReplay {
		t.Fatalf("second claim: %v", err)
	}
	if _, err := e.sp.ParseResponse(ctx, resp, spACS, []string{reqID}); reasonOf(t, err) != ReasonReplay {
		t.Fatalf("ParseResponse after Claim: %v", err)
	}
	for _, bad := range []*Assertion{nil, {}} {
		if err := e.sp.Claim(ctx, bad); reasonOf(t, err) != ReasonMissingElement {
			t.Fatalf("claim of %v: %v", bad, err)
		}
	}
	// ParseResponse claims what it accepts, with the same deadline.
	resp, reqID = e.spInitiated()
	want, err := e.sp.VerifyResponse(ctx, resp, spACS, []string{reqID})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.sp.ParseResponse(ctx, resp, spACS, []string{reqID})
	if err != nil {
		t.Fatal(err)
	}
	if !got.ReplayUntil.Equal(want.ReplayUntil) || got.AssertionID != want.AssertionID {
		t.Fatalf("ParseResponse %+v, VerifyResponse %+v", got, want)
	}
	if err := e.sp.Claim(ctx, got); reasonOf(t, err) != ReasonReplay {
		t.Fatalf("claim after ParseResponse: %v", err)
	}
}
