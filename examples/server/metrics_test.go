package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// scrape returns the metrics text of the app's registry.
func scrape(t *testing.T, a *app) string {
	t.Helper()
	mh := a.MetricsHandler()
	if mh == nil {
		t.Fatal("no metrics handler with -metrics-addr")
	}
	w := httptest.NewRecorder()
	mh.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != 200 {
		t.Fatalf("/metrics: %d %s", w.Code, w.Body)
	}
	return w.Body.String()
}

// sample returns the value of the series line (name with its labels in
// the exposition's order), or -1 when it is absent.
func sample(text, series string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// TestMetrics: with -metrics-addr, requests are counted by route pattern
// (never the raw path) and status, sign-ins by method and outcome, tokens
// by kind, store transactions by kind, and mails sent.
func TestMetrics(t *testing.T) {
	hx := newHarness(t, "memory:", "-metrics-addr", "127.0.0.1:1")
	before := scrape(t, hx.a)
	crafter := func(pw string) int {
		return hx.do("POST", "/api/1/authentication/authenticate.json?accessTokenId="+hx.appToken,
			"application/x-www-form-urlencoded",
			[]byte(url.Values{"tenantName": {hx.org}, "username": {"bob"}, "password": {pw}}.Encode())).Code
	}
	if c := crafter("wrong password"); c != 401 {
		t.Fatalf("wrong password: %d", c)
	}
	if c := crafter(bobPassword); c != 200 {
		t.Fatalf("right password: %d", c)
	}
	hx.do("GET", "/healthz", "", nil)
	hx.do("GET", "/t/"+hx.org+"/.well-known/openid-configuration", "", nil)
	hx.do("GET", "/no/such/path/12345", "", nil)
	text := scrape(t, hx.a)

	for _, c := range []struct {
		series string
		min    float64
	}{
		{`gatehouse_sign_ins_total{method="password",outcome="failure"}`, 1},
		{`gatehouse_sign_ins_total{method="password",outcome="success"}`, 1},
		{`gatehouse_tokens_issued_total{kind="api_key"}`, 1},
		{`gatehouse_http_requests_total{route="GET /healthz",status="200"}`, 1},
		{`gatehouse_store_transaction_seconds_count{kind="read",outcome="ok"}`, 1},
		{`gatehouse_store_transaction_seconds_count{kind="write",outcome="ok"}`, 1},
		// The SSO invitation of the harness's setup was mailed.
		{`gatehouse_mail_sent_total{outcome="sent"}`, 1},
		{`gatehouse_mail_queue_depth`, 0},
	} {
		if v := sample(text, c.series); v < c.min {
			t.Errorf("%s = %v, want at least %v", c.series, v, c.min)
		}
	}
	if b, a := sample(before, `gatehouse_sign_ins_total{method="password",outcome="failure"}`),
		sample(text, `gatehouse_sign_ins_total{method="password",outcome="failure"}`); a != max(b, 0)+1 {
		t.Errorf("password failures went from %v to %v, want one more", b, a)
	}
	for _, raw := range []string{"/no/such/path", hx.org + "/.well-known", hx.appToken} {
		if strings.Contains(text, raw) {
			t.Errorf("a metric label holds the raw path or a secret %q", raw)
		}
	}
}

// TestMetricsListener: -metrics-addr serves /metrics on its own listener;
// the public listener does not serve it; without the flag nothing is
// served.
func TestMetricsListener(t *testing.T) {
	maddr := freeAddr(t)
	base, _, _ := startServer(t, "-store", "memory:", "-master-key", hMasterID+":"+hMasterSecret,
		"-metrics-addr", maddr)
	resp, err := http.Get("http://" + maddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `gatehouse_http_requests_total{route="GET /healthz",status="200"}`) {
		t.Fatalf("metrics listener: %d %s", resp.StatusCode, body)
	}
	if resp, err := http.Get(base + "/metrics"); err != nil || resp.StatusCode == 200 {
		t.Fatalf("the public listener serves /metrics: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	hx := newHarness(t, "memory:")
	if hx.a.MetricsHandler() != nil {
		t.Fatal("metrics without -metrics-addr")
	}
}
