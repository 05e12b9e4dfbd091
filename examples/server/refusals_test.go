package main

import (
	"encoding/json"
	"html"
	"net/url"
	"strings"
	"testing"
)

// TestRefusedSignInReasons: a refused SAML sign-in and wrong passwords on
// the hosted page and the Crafter face each leave their private reason in
// the audit event the account reads through GET …/log-events (data.reason)
// and in the server log, while the end user's answer stays generic.
func TestRefusedSignInReasons(t *testing.T) {
	hx := newHarness(t, "memory:")
	bearer := []string{"Authorization", "Bearer " + hx.mgmt}

	// A SAML response for a connection still being onboarded (no metadata).
	saml := hx.do("POST", "/enterprise/"+hx.idp+"/acs", "application/x-www-form-urlencoded",
		[]byte("SAMLResponse=PHNhbWxwOlJlc3BvbnNlLz4%3D&RelayState=x"))
	// A wrong password on the Crafter face.
	crafter := hx.do("POST", "/api/1/authentication/authenticate.json?accessTokenId="+hx.appToken,
		"application/x-www-form-urlencoded",
		[]byte(url.Values{"tenantName": {hx.org}, "username": {"bob"}, "password": {"wrong password"}}.Encode()))
	// A wrong password on the hosted login page.
	authz := "/t/" + hx.org + "/authorize?" + url.Values{"response_type": {"code"}, "client_id": {hx.spaID},
		"redirect_uri": {"https://spa.acme.test/cb"}, "scope": {"openid email"}, "state": {"s"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}.Encode()
	page := hx.do("GET", authz, "", nil)
	csrf, req := fuzzCSRF.FindStringSubmatch(page.Body.String()), fuzzRequest.FindStringSubmatch(page.Body.String())
	if csrf == nil || req == nil {
		t.Fatalf("login page: %d", page.Code)
	}
	cookie := ""
	for _, ck := range page.Result().Cookies() {
		cookie += ck.Name + "=" + ck.Value + "; "
	}
	hosted := hx.do("POST", "/t/"+hx.org+"/login", "application/x-www-form-urlencoded", []byte(url.Values{
		"csrf_token": {csrf[1]}, "request": {html.UnescapeString(req[1])}, "action": {"password"},
		"email": {"bob@acme.test"}, "password": {"wrong password"}}.Encode()), "Cookie", cookie)

	for _, c := range []struct {
		name   string
		status int
		body   string
	}{
		{"SAML sign-in", saml.Code, saml.Body.String()},
		{"Crafter authenticate", crafter.Code, crafter.Body.String()},
		{"hosted password login", hosted.Code, hosted.Body.String()},
	} {
		if c.status < 400 {
			t.Errorf("%s: %d, want a refusal", c.name, c.status)
		}
		for _, private := range []string{"connection_not_configured", "bad_password", "metadata"} {
			if strings.Contains(c.body, private) {
				t.Errorf("%s: the user's answer shows the private reason %q: %s", c.name, private, c.body)
			}
		}
	}

	w := hx.do("GET", "/api/v2/org/"+hx.org+"/log-events?per_page=100", "", nil, bearer...)
	if w.Code != 200 {
		t.Fatalf("log events: %d %s", w.Code, w.Body)
	}
	var list struct {
		Data []struct {
			Code     string         `json:"event_code"`
			ClientID *string        `json:"client_id"`
			Data     map[string]any `json:"data"`
		} `json:"data"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	type seen struct{ code, reason, client string }
	var got []seen
	for _, e := range list.Data {
		s := seen{code: e.Code}
		s.reason, _ = e.Data["reason"].(string)
		if e.ClientID != nil {
			s.client = *e.ClientID
		}
		got = append(got, s)
	}
	for _, want := range []seen{
		{"SSO_END_USER_SAML_FAILED", "connection_not_configured", ""},
		{"PASSWORD_LOGIN_FAILED", "bad_password", ""},
		{"PASSWORD_LOGIN_FAILED", "bad_password", hx.spaID},
	} {
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			t.Errorf("log events lack %+v: %+v", want, got)
		}
	}

	logs := hx.logs.String()
	for _, want := range []string{
		`msg="sign-in refused" event=SSO_END_USER_SAML_FAILED reason=connection_not_configured org=` + hx.org,
		`msg="sign-in refused" event=PASSWORD_LOGIN_FAILED reason=bad_password org=` + hx.org,
		"client_id=" + hx.spaID, "idp_id=" + hx.idp,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the server log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "wrong password") {
		t.Error("the server log holds the attempted password")
	}
}
