package httpx

import (
	"net"
	"net/http"
)

// ClientAddress returns the IP address of the peer that sent r:
// r.RemoteAddr without its port (RemoteAddr itself when it has none).
//
// Proxy headers (Forwarded, X-Forwarded-For, X-Real-IP) are not trusted:
// any client can write them, so a limit keyed by them could be dodged by
// changing the header on every request, or turned against a victim by
// naming its address. Behind a reverse proxy every client therefore shares
// the proxy's address, and a per-address limit applies to all of them
// together; a host that needs per-client limits there must set RemoteAddr
// from its trusted proxy in its own middleware before the request reaches
// Gatehouse.
func ClientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
