package httpx

import (
	"net"
	"net/http"
	"net/netip"
)

// ClientAddress returns the address of the peer that sent r as
// per-address limits count it: r.RemoteAddr without its port (RemoteAddr
// itself when it is no IP address), and for an IPv6 peer its /64 network
// ("2001:db8:1:2::/64"): one subscriber is handed at least a /64, so a
// limit per IPv6 address would let one client take 2^64 turns. An
// IPv4-mapped IPv6 address is its IPv4 address.
//
// Proxy headers (Forwarded, X-Forwarded-For, X-Real-IP) are not trusted:
// any client can write them, so a limit keyed by them could be dodged by
// changing the header on every request, or turned against a victim by
// naming its address. Behind a reverse proxy every client therefore shares
// the proxy's address, and a per-address limit applies to all of them
// together; a host that needs per-client limits there sets RemoteAddr
// from its trusted proxies before the request reaches Gatehouse
// (gatehouse.TrustProxies, the example server's -trusted-proxies).
func ClientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = addr.Unmap()
	if addr.Is6() {
		return netip.PrefixFrom(addr.WithZone(""), 64).Masked().String()
	}
	return addr.String()
}
