package safefetch

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// tlsServer is an httptest TLS server and a Fetcher that trusts it and may
// reach loopback (the explicit test option).
func tlsServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *Fetcher) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return srv, &Fetcher{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs,
		AllowLoopbackForTests: true, Timeout: 2 * time.Second, MaxBytes: 1000}
}

func TestGetFetchesFromTLSServer(t *testing.T) {
	srv, f := tlsServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<EntityDescriptor/>")) })
	body, err := f.Get(context.Background(), srv.URL+"/metadata")
	if err != nil || string(body) != "<EntityDescriptor/>" {
		t.Fatalf("got %q, %v", body, err)
	}
	// A name resolving to loopback is also fine with the test option.
	f.LookupIP = func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	if _, err := f.Get(context.Background(), "https://example.com"+port+"/metadata"); err != nil {
		t.Fatalf("name resolving to the test server: %v", err)
	}
}

func TestGetRefusesNonPublicAddresses(t *testing.T) {
	srv, _ := tlsServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("secret")) })
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	strict := &Fetcher{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs, Timeout: 2 * time.Second}
	for _, tc := range []struct {
		name, url string
		resolve   []string
	}{
		{"loopback literal without the test option", srv.URL, nil},
		{"ipv6 loopback", "https://[::1]" + port, nil},
		{"mapped loopback", "https://[::ffff:127.0.0.1]" + port, nil},
		{"private 10/8", "https://10.0.0.1/", nil},
		{"private 192.168", "https://192.168.1.1/", nil},
		{"cloud metadata (link-local)", "https://169.254.169.254/latest/meta-data", nil},
		{"unspecified", "https://0.0.0.0" + port, nil},
		{"cgnat", "https://100.64.0.1/", nil},
		{"unique local v6", "https://[fd00::1]/", nil},
		{"name resolving to loopback", "https://idp.example.com" + port, []string{"127.0.0.1"}},
		{"name resolving to private", "https://idp.example.com/", []string{"10.1.2.3"}},
		{"name with one private address among public ones", "https://idp.example.com/", []string{"93.184.216.34", "192.168.0.10"}},
		{"http", "http://93.184.216.34/metadata", nil},
		{"credentials in URL", "https://user:pw@93.184.216.34/", nil},
		{"not a URL", "://", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := *strict
			if tc.resolve != nil {
				f.LookupIP = func(context.Context, string) ([]netip.Addr, error) {
					var out []netip.Addr
					for _, s := range tc.resolve {
						out = append(out, netip.MustParseAddr(s))
					}
					return out, nil
				}
			}
			_, err := f.Get(context.Background(), tc.url)
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("%s: want ErrRefused, got %v", tc.url, err)
			}
		})
	}
	// With the test option, loopback is allowed but nothing else private.
	loose := *strict
	loose.AllowLoopbackForTests = true
	if _, err := loose.Get(context.Background(), "https://10.0.0.1/"); !errors.Is(err, ErrRefused) {
		t.Fatalf("test option opened a private address: %v", err)
	}
}

func TestGetRefusesRedirectsToPrivateAddresses(t *testing.T) {
	for _, target := range []string{"https://10.0.0.1/metadata", "https://169.254.169.254/", "http://example.com/metadata"} {
		srv, f := tlsServer(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target, http.StatusFound) })
		if _, err := f.Get(context.Background(), srv.URL); !errors.Is(err, ErrRefused) {
			t.Errorf("redirect to %s: want ErrRefused, got %v", target, err)
		}
	}
	// Endless redirects stop.
	var srv *httptest.Server
	srv, f := tlsServer(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, srv.URL, http.StatusFound) })
	if _, err := f.Get(context.Background(), srv.URL); !errors.Is(err, ErrRefused) {
		t.Errorf("redirect loop: %v", err)
	}
}

func TestGetLimitsSizeAndTime(t *testing.T) {
	srv, f := tlsServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(make([]byte, 1001)) })
	if _, err := f.Get(context.Background(), srv.URL); !errors.Is(err, ErrTooLarge) {
		t.Errorf("1001 bytes with MaxBytes 1000: %v", err)
	}
	// The slow server never answers while the fetch runs: it waits for
	// release alone (closed before the server's cleanup), not for its
	// request's end, which would let it answer an empty 200 as the
	// client's deadline closes the connection.
	release := make(chan struct{})
	slow, f2 := tlsServer(t, func(w http.ResponseWriter, r *http.Request) { <-release })
	t.Cleanup(func() { close(release) })
	f2.Timeout = 200 * time.Millisecond
	start := time.Now()
	if _, err := f2.Get(context.Background(), slow.URL); err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("slow server: %v after %s", err, time.Since(start))
	}
	notFound, f3 := tlsServer(t, http.NotFound)
	if _, err := f3.Get(context.Background(), notFound.URL); err == nil {
		t.Error("a 404 was accepted")
	}
}

func TestPublic(t *testing.T) {
	for s, want := range map[string]bool{
		"93.184.216.34": true, "2606:2800:220:1:248:1893:25c8:1946": true,
		"127.0.0.1": false, "10.0.0.1": false, "172.16.0.1": false, "192.168.0.1": false,
		"169.254.169.254": false, "100.64.0.1": false, "0.0.0.0": false, "::1": false, "::": false,
		"fe80::1": false, "fd00::1": false, "::ffff:10.0.0.1": false, "224.0.0.1": false, "192.0.2.1": false,
	} {
		if got := Public(netip.MustParseAddr(s)); got != want {
			t.Errorf("Public(%s) = %v, want %v", s, got, want)
		}
	}
}
