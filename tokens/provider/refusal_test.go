package provider

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestExpiredMagicLinkReason: a magic link used after it expired is
// refused with the generic "link gone" page, and MAGIC_LINK_FAILED with
// data.reason link_expired reaches the account through GET …/log-events.
func TestExpiredMagicLinkReason(t *testing.T) {
	e := newEnv(t)
	base, bearer := e.managementAPI(t)
	c := e.newBrowser()
	_, ch := pkce("x")
	page := e.get(c, e.spaAuthorize(ch, nil))
	action, csrf, request := form(t, page.body)
	if sent := e.postForm(c, e.base+action, url.Values{"csrf_token": {csrf}, "request": {request}, "action": {"magic"},
		"email": {userEmail}}); sent.status != http.StatusOK {
		t.Fatalf("send magic link: %d %s", sent.status, sent.body)
	}
	link := reLink.FindString(e.takeMail().Text)
	confirm := e.get(c, link)
	_, csrf2, _ := form(t, confirm.body)
	e.clock.Advance(DefaultMagicLinkTTL + time.Second)
	done := e.postForm(c, link, url.Values{"csrf_token": {csrf2}})
	if done.status != http.StatusBadRequest || strings.Contains(done.body, "link_expired") {
		t.Fatalf("expired link: %d %s", done.status, done.body)
	}

	ev := e.get(http.DefaultClient, base+"/api/v2/org/"+e.org.Domain+"/log-events?code=MAGIC_LINK_FAILED", "Authorization", bearer)
	var list struct {
		Data []struct {
			ClientID *string        `json:"client_id"`
			Email    *string        `json:"email"`
			Data     map[string]any `json:"data"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(ev.body), &list); err != nil || ev.status != 200 {
		t.Fatalf("log events: %d %s", ev.status, ev.body)
	}
	if len(list.Data) != 1 || list.Data[0].Data["reason"] != "link_expired" || list.Data[0].ClientID == nil ||
		*list.Data[0].ClientID != e.spa.ClientID || list.Data[0].Email == nil || *list.Data[0].Email != userEmail {
		t.Fatalf("MAGIC_LINK_FAILED events: %s", ev.body)
	}
}
