package main

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/url"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// pngBytes is the smallest PNG header the attachment check accepts.
var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")

// TestCrafterSessionWritesAreAudited: a persistent login opened or
// deleted, a verification token created or deleted and an attachment
// added through the Crafter face each log an event in the profile's
// organization, naming the profile and the access token that did it.
func TestCrafterSessionWritesAreAudited(t *testing.T) {
	hx := newHarness(t, "memory:")
	crafter := func(path string, v url.Values) map[string]any {
		t.Helper()
		v.Set("accessTokenId", hx.appToken)
		w := hx.do("POST", "/api/1/"+path, "application/x-www-form-urlencoded", []byte(v.Encode()))
		var out map[string]any
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		return out
	}
	u, err := hx.a.envs[identity.Production].GetUserByEmail(t.Context(), hx.org, "bob@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	upload := func() {
		t.Helper()
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("attachment", "avatar.png")
		_, _ = fw.Write(pngBytes)
		_ = mw.Close()
		w := hx.do("POST", "/api/1/profile/"+hx.profile+"/uploadAttachment.json?accessTokenId="+hx.appToken, mw.FormDataContentType(), body.Bytes())
		if w.Code != 200 {
			t.Fatalf("upload: %d %s", w.Code, w.Body)
		}
	}
	cases := []struct {
		code string
		do   func()
	}{
		{identity.EventPersistentLoginCreated, func() { crafter("authentication/persistent_login/create", url.Values{"profileId": {hx.profile}}) }},
		{identity.EventPersistentLoginDeleted, func() {
			pl := crafter("authentication/persistent_login/create", url.Values{"profileId": {hx.profile}})
			crafter("authentication/persistent_login/"+pl["id"].(string)+"/delete", url.Values{})
		}},
		{identity.EventVerificationTokenCreated, func() { crafter("profile/"+hx.profile+"/verification_token/create", url.Values{}) }},
		{identity.EventVerificationTokenDeleted, func() {
			vt := crafter("profile/"+hx.profile+"/verification_token/create", url.Values{})
			crafter("profile/verification_token/"+vt["id"].(string)+"/delete", url.Values{})
		}},
		{identity.EventUserAttachmentAdded, upload},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			c.do()
			evs := hx.logEvents(hx.mgmt, hx.org, c.code)
			if len(evs) == 0 {
				t.Fatalf("no %s in %s's log", c.code, hx.org)
			}
			e := evs[0]
			if e.Actor == nil || e.Actor.Kind != identity.ActorAccessToken || e.Actor.ID == hx.appToken {
				t.Fatalf("%s actor %+v, want the access token's credential (not its secret)", c.code, e.Actor)
			}
			raw := hx.do("GET", "/api/v2/org/"+hx.org+"/log-events?per_page=1&code="+c.code, "", nil, "Authorization", "Bearer "+hx.mgmt)
			if !bytes.Contains(raw.Body.Bytes(), []byte(u.ID)) {
				t.Fatalf("%s does not name the profile's user %s: %s", c.code, u.ID, raw.Body)
			}
		})
	}
}
