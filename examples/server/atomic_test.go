package main

import (
	"bytes"
	"net/url"
	"testing"
)

// TestBadInputChangesNothing: a write refused for one bad field leaves the
// resource exactly as it was (no partial update), on both faces.
func TestBadInputChangesNothing(t *testing.T) {
	hx := newHarness(t, "memory:")
	auth := []string{"Authorization", "Bearer " + hx.mgmt}
	form := "application/x-www-form-urlencoded"
	for _, c := range []struct {
		name             string
		method, path, ct string
		body             string
		hdr              []string
		read             string
	}{
		{"Cryptr user", "PUT", "/api/v2/org/" + hx.org + "/users/" + hx.userID, "application/json",
			`{"profile":{"given_name":"CHANGED","email":"not-an-email","birthdate":"1999-99-99"}}`, auth,
			"/api/v2/org/" + hx.org + "/users/" + hx.userID},
		{"Cryptr organization", "PUT", "/api/v2/organizations/" + hx.org, "application/json",
			`{"name":"CHANGED","country_name":"ZZZ","privacy_policy_url":"javascript:alert(1)"}`, auth,
			"/api/v2/organizations/" + hx.org},
		{"Cryptr application", "PUT", "/api/v2/org/" + hx.org + "/applications/" + hx.spaID, "application/json",
			`{"name":"CHANGED","allowed_redirect_urls":["javascript:alert(1)"]}`, auth,
			"/api/v2/org/" + hx.org + "/applications/" + hx.spaID},
		{"Crafter profile", "POST", "/api/1/profile/" + hx.profile + "/update.json?accessTokenId=" + hx.appToken, form,
			url.Values{"username": {"CHANGED"}, "email": {"bad"}, "attributes": {"{bad json"}}.Encode(), nil,
			"/api/1/profile/" + hx.profile + ".json?accessTokenId=" + hx.appToken},
		{"Crafter profile email", "POST", "/api/1/profile/" + hx.profile + "/update.json?accessTokenId=" + hx.appToken, form,
			url.Values{"username": {"CHANGED"}, "email": {"not an email"}}.Encode(), nil,
			"/api/1/profile/" + hx.profile + ".json?accessTokenId=" + hx.appToken},
		{"Crafter tenant", "POST", "/api/1/tenant/update.json?accessTokenId=" + hMasterSecret, "application/json",
			`{"name":"` + hx.org + `","verifyNewProfiles":true,"availableRoles":["A"],"attributeDefinitions":[{"name":""}]}`, nil,
			"/api/1/tenant/" + hx.org + ".json?accessTokenId=" + hMasterSecret},
	} {
		before := hx.do("GET", c.read, "", nil, c.hdr...)
		w := hx.do(c.method, c.path, c.ct, []byte(c.body), c.hdr...)
		if w.Code < 400 || w.Code >= 500 {
			t.Errorf("%s: bad input answered %d %s", c.name, w.Code, w.Body)
		}
		after := hx.do("GET", c.read, "", nil, c.hdr...)
		if before.Code != 200 || !bytes.Equal(before.Body.Bytes(), after.Body.Bytes()) {
			t.Errorf("%s changed on a refused write:\nbefore %s\nafter  %s", c.name, before.Body, after.Body)
		}
	}
}
