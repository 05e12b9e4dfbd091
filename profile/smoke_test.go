package profile

import (
	"net/url"
	"testing"
)

func TestSmoke(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("acme")
	if tn.Name != "acme" || len(tn.ID) != 24 || !tn.CleanseAttributes {
		t.Fatalf("tenant %+v", tn)
	}
	p := e.profile("acme", "alice", url.Values{"attributes": {`{"firstName":"<b>Al</b>"}`}, "role": {"USER"}})
	if p.Attributes["firstName"] != "&lt;b&gt;Al&lt;/b&gt;" || len(p.Roles) != 1 {
		t.Fatalf("profile %+v", p)
	}
	r := e.do("POST", "/api/1/authentication/authenticate.json", e.master, url.Values{"tenantName": {"acme"}, "username": {"alice"}, "password": {"pw-alice"}})
	var tk Ticket
	e.mustOK(r).json(t, &tk)
	var got Profile
	e.mustOK(e.do("GET", "/api/1/profile/by_ticket.json", e.master, url.Values{"ticketId": {tk.ID}})).json(t, &got)
	if got.ID != p.ID {
		t.Fatalf("by_ticket %+v", got)
	}
	var list []Profile
	e.mustOK(e.do("GET", "/api/1/profile/by_query.json", e.master, url.Values{"tenantName": {"acme"}, "query": {"{username: 'alice'}"}})).json(t, &list)
	if len(list) != 1 {
		t.Fatalf("by_query %v", list)
	}
}
