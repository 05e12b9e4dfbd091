package provider

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
)

// TestSigningAlgThroughAPI: an application's signing_alg, set through the
// Cryptr API, is the algorithm of its tokens: go-oidc verifies the ID
// token of a code flow (discovery, the organization's JWKS, at_hash) and
// the access token of a client_credentials grant with that algorithm
// alone, for RS256, ES256 and EdDSA.
func TestSigningAlgThroughAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	base, bearer := e.managementAPI(t)
	apps := base + "/api/v2/org/" + e.org.Domain + "/applications"
	for _, alg := range []string{"ES256", "EdDSA", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPut, apps+"/"+e.spa.ClientID, strings.NewReader(`{"signing_alg":"`+alg+`"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", bearer)
			up := do(t, http.DefaultClient, req)
			if up.status != http.StatusOK || up.json(t)["signing_alg"] != alg {
				t.Fatalf("set signing_alg: %d %s", up.status, up.body)
			}
			m := e.postJSON(http.DefaultClient, apps, map[string]any{"name": "m " + alg, "application_type": "machine",
				"signing_alg": alg}, "Authorization", bearer)
			if m.status != http.StatusCreated || m.json(t)["signing_alg"] != alg {
				t.Fatalf("create machine app: %d %s", m.status, m.body)
			}
			mj := m.json(t)
			tr := e.spaTokens()
			p, err := oidc.NewProvider(ctx, e.issuer())
			if err != nil {
				t.Fatal(err)
			}
			v := p.Verifier(&oidc.Config{ClientID: e.spa.ClientID, SupportedSigningAlgs: []string{alg}})
			idt, err := v.Verify(ctx, tr["id_token"].(string))
			if err != nil {
				t.Fatalf("go-oidc refuses the %s ID token: %v", alg, err)
			}
			if err := idt.VerifyAccessToken(tr["access_token"].(string)); err != nil {
				t.Fatalf("at_hash: %v", err)
			}
			for _, tok := range []string{tr["id_token"].(string), tr["access_token"].(string)} {
				if got := headerAlg(t, tok); got != alg {
					t.Fatalf("token signed with %s, want %s", got, alg)
				}
			}
			// Another algorithm alone does not verify it.
			other := map[string]string{"ES256": "RS256", "EdDSA": "ES256", "RS256": "EdDSA"}[alg]
			if _, err := p.Verifier(&oidc.Config{ClientID: e.spa.ClientID, SupportedSigningAlgs: []string{other}}).
				Verify(ctx, tr["id_token"].(string)); err == nil {
				t.Fatalf("a %s token verified as %s", alg, other)
			}
			cc := e.postForm(http.DefaultClient, e.issuer()+"/oauth/token", url.Values{"grant_type": {"client_credentials"}},
				"Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(mj["client_id"].(string))+":"+
					url.QueryEscape(mj["client_secret"].(string)))))
			if cc.status != http.StatusOK {
				t.Fatalf("client_credentials: %d %s", cc.status, cc.body)
			}
			at := cc.json(t)["access_token"].(string)
			if got := headerAlg(t, at); got != alg {
				t.Fatalf("machine token signed with %s, want %s", got, alg)
			}
			keys := oidc.NewRemoteKeySet(ctx, e.issuer()+"/.well-known/jwks")
			if _, err := keys.VerifySignature(ctx, at); err != nil {
				t.Fatalf("the JWKS does not verify the %s access token: %v", alg, err)
			}
		})
	}
}

// headerAlg returns the alg of a JWS's protected header.
func headerAlg(t *testing.T, tok string) string {
	t.Helper()
	h, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(raw, &hdr); err != nil {
		t.Fatal(err)
	}
	return hdr.Alg
}
