// Package safefetch fetches a document a user names by URL (an identity
// provider's SAML metadata) without letting that user reach the server's own
// network: only https, bounded in size and time, and never to a private,
// loopback, link-local or otherwise non-public address.
//
// The host name is resolved once per connection, every address it resolves
// to is checked (one bad address refuses the whole name, so a name cannot
// mix a public and a private answer), and the connection dials the checked
// address itself, so a second resolution (DNS rebinding) cannot swap it.
// Redirects go through the same dialer and must stay on https; no proxy
// from the environment is used.
package safefetch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// ErrRefused is wrapped by every error for a URL or address that may not
// be fetched (not https, a non-public address, too many redirects).
var ErrRefused = errors.New("safefetch: refused")

// ErrTooLarge is wrapped when the document exceeds Fetcher.MaxBytes.
var ErrTooLarge = errors.New("safefetch: document too large")

// Fetcher fetches https documents from public addresses. The zero value is
// usable: 1 MiB, 10 seconds, the system resolver and roots.
type Fetcher struct {
	// MaxBytes bounds the body (default 1 MiB).
	MaxBytes int64
	// Timeout bounds the whole fetch, redirects included (default 10 s).
	Timeout time.Duration
	// MaxRedirects bounds the redirects followed (default 3).
	MaxRedirects int
	// RootCAs verifies the server (default: the system roots).
	RootCAs *x509.CertPool
	// LookupIP resolves a host name (default net.DefaultResolver).
	LookupIP func(ctx context.Context, host string) ([]netip.Addr, error)
	// AllowLoopbackForTests also accepts loopback addresses (127.0.0.0/8,
	// ::1), so a test can fetch from an httptest TLS server. Every other
	// non-public address is still refused. Never set it in production.
	AllowLoopbackForTests bool
}

// Public reports whether ip is a public unicast address: not loopback,
// private (RFC 1918, fc00::/7), link-local, CGNAT (100.64.0.0/10),
// unspecified, multicast, documentation or otherwise reserved.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLoopback() ||
		ip.IsLinkLocalUnicast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range reserved {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// reserved lists ranges that IsGlobalUnicast accepts but are not public.
var reserved = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32",
		"64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "2002::/16",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

func (f *Fetcher) allowed(ip netip.Addr) bool {
	if f.AllowLoopbackForTests && ip.Unmap().IsLoopback() {
		return true
	}
	return Public(ip)
}

// Get fetches rawURL and returns its body.
func (f *Fetcher) Get(ctx context.Context, rawURL string) ([]byte, error) {
	if err := checkURL(rawURL); err != nil {
		return nil, err
	}
	maxBytes, timeout, maxRedirects := f.MaxBytes, f.Timeout, f.MaxRedirects
	if maxBytes <= 0 {
		maxBytes = 1 << 20
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if maxRedirects <= 0 {
		maxRedirects = 3
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            f.dial,
		TLSClientConfig:        &tls.Config{RootCAs: f.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: 64 << 10,
		DisableKeepAlives:      true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > maxRedirects {
			return fmt.Errorf("more than %d redirects: %w", maxRedirects, ErrRefused)
		}
		return checkURL(req.URL.String())
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("safefetch: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("safefetch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("safefetch: %s answered HTTP %d", req.URL.Host, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("safefetch: %w", err)
	}
	if int64(len(body)) > maxBytes {
		return nil, fmt.Errorf("more than %d bytes: %w", maxBytes, ErrTooLarge)
	}
	return body, nil
}

// checkURL refuses anything but an absolute https URL without credentials.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Hostname() == "" {
		return fmt.Errorf("only https URLs without credentials may be fetched: %w", ErrRefused)
	}
	return nil
}

// dial resolves addr's host, checks every address, then dials a checked
// address (never the name again).
func (f *Fetcher) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("safefetch: %w", err)
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		ips = []netip.Addr{ip}
	} else {
		lookup := f.LookupIP
		if lookup == nil {
			lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
				return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
			}
		}
		if ips, err = lookup(ctx, host); err != nil {
			return nil, fmt.Errorf("safefetch: resolve %s: %w", host, err)
		}
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("safefetch: %s has no address", host)
	}
	for _, ip := range ips {
		if !f.allowed(ip) {
			return nil, fmt.Errorf("%s resolves to the non-public address %s: %w", host, ip, ErrRefused)
		}
	}
	var d net.Dialer
	var last error
	for _, ip := range ips {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, fmt.Errorf("safefetch: %w", last)
}
