package gatehouse

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrustedProxies parses a comma-separated list of addresses and
// networks (CIDR) of reverse proxies, for TrustProxies: "10.0.0.0/8,
// 192.0.2.7, fd00::/8". An empty list is none.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
				// ::ffff:10.0.0.0/104 is 10.0.0.0/8: peers are compared
				// unmapped.
				p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: an address or a network (CIDR) is expected", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// TrustProxies returns a handler that, for a request whose peer is one of
// the trusted reverse proxies, sets r.RemoteAddr to the client's address
// those proxies report in X-Forwarded-For, then calls next. Gatehouse's
// per-address limits (sign-in, mail sends, authorization requests) count
// r.RemoteAddr: behind a proxy every client would otherwise share the
// proxy's address, and one client could exhaust the limits of all.
//
// The client is the right-most X-Forwarded-For entry that is not a trusted
// proxy itself, read from the right (each proxy appends the peer it saw):
// entries to its left were written by the client and are not believed. A
// request from an untrusted peer, or one whose header names no valid
// address, keeps its peer address. With no trusted proxy, next is returned
// as is.
func TrustProxies(trusted []netip.Prefix, next http.Handler) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	isTrusted := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		peer, err := netip.ParseAddr(host)
		if err != nil || !isTrusted(peer) {
			next.ServeHTTP(w, r)
			return
		}
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a malformed hop: believe nothing left of it
			}
			if isTrusted(a) {
				continue
			}
			r2 := r.Clone(r.Context())
			r2.RemoteAddr = net.JoinHostPort(a.Unmap().String(), "0")
			next.ServeHTTP(w, r2)
			return
		}
		next.ServeHTTP(w, r)
	})
}
