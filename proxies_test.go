package gatehouse_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-id/gatehouse"
)

// TestTrustProxies (the attacker's test): only a trusted peer's
// X-Forwarded-For is read, from the right, past the trusted hops; what a
// client writes to the left of the proxies' own entries is not believed.
func TestTrustProxies(t *testing.T) {
	trusted, err := gatehouse.ParseTrustedProxies("10.0.0.0/8, 192.0.2.7,fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	var seen string
	h := gatehouse.TrustProxies(trusted, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = r.RemoteAddr }))
	cases := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"untrusted peer's header ignored", "198.51.100.1:4000", []string{"203.0.113.9"}, "198.51.100.1:4000"},
		{"trusted proxy", "10.1.2.3:4000", []string{"203.0.113.9"}, "203.0.113.9:0"},
		{"two trusted hops", "192.0.2.7:4000", []string{"203.0.113.9, 10.0.0.5"}, "203.0.113.9:0"},
		{"a spoofed entry left of the client's", "10.1.2.3:4000", []string{"1.2.3.4, 203.0.113.9"}, "203.0.113.9:0"},
		{"headers joined", "10.1.2.3:4000", []string{"1.2.3.4", "203.0.113.9"}, "203.0.113.9:0"},
		{"IPv6 client", "[fd00::1]:4000", []string{"2001:db8::5"}, "[2001:db8::5]:0"},
		{"no header", "10.1.2.3:4000", nil, "10.1.2.3:4000"},
		{"only trusted hops", "10.1.2.3:4000", []string{"10.9.9.9"}, "10.1.2.3:4000"},
		{"malformed hop", "10.1.2.3:4000", []string{"203.0.113.9, not-an-ip"}, "10.1.2.3:4000"},
		{"a port in the entry", "10.1.2.3:4000", []string{"203.0.113.9:5555"}, "10.1.2.3:4000"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		seen = ""
		h.ServeHTTP(httptest.NewRecorder(), r)
		if seen != c.want {
			t.Errorf("%s: RemoteAddr %q, want %q", c.name, seen, c.want)
		}
	}
	mapped, err := gatehouse.ParseTrustedProxies("::ffff:10.0.0.0/104")
	if err != nil || len(mapped) != 1 || mapped[0].String() != "10.0.0.0/8" {
		t.Errorf("an IPv4-mapped network: %v, %v", mapped, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "10.0.0.1/"} {
		if _, err := gatehouse.ParseTrustedProxies(bad); err == nil {
			t.Errorf("ParseTrustedProxies(%q) accepted", bad)
		}
	}
	if h := gatehouse.TrustProxies(nil, http.NotFoundHandler()); fmt.Sprintf("%T", h) != fmt.Sprintf("%T", http.NotFoundHandler()) {
		t.Error("no trusted proxy should leave the handler as is")
	}
}

// Behind a load balancer at 10.0.0.0/8, Gatehouse's per-address limits
// count the client the balancer names.
func ExampleTrustProxies() {
	trusted, _ := gatehouse.ParseTrustedProxies("10.0.0.0/8")
	h := gatehouse.TrustProxies(trusted, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		fmt.Println(r.RemoteAddr)
	}))
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.2:51000"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	h.ServeHTTP(httptest.NewRecorder(), r)
	// Output: 203.0.113.9:0
}
