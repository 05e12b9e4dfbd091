package testkit

import "testing"

func TestParseCurl(t *testing.T) {
	tests := []struct {
		name, line, method, url, body, ct, accept string
	}{
		{"data-raw with continuation", `curl 'https://x/api/v2/a' \ --request PUT \ --data-raw '{ "a": "b c" }' -d x="y z" -H "Accept: application/json"`,
			"PUT", "https://x/api/v2/a", `{ "a": "b c" }&x=y z`, "application/x-www-form-urlencoded", "application/json"},
		{"-d without -X is POST", `curl https://x/api/v2/a -d a=1`, "POST", "https://x/api/v2/a", "a=1", "application/x-www-form-urlencoded", "*/*"},
		{"-H sets the content type", `curl https://x/a -H "Content-Type: application/json" -d profile="https://f.com"`,
			"POST", "https://x/a", "profile=https://f.com", "application/json", "*/*"},
		{"no data is GET", `curl --location -g https://x/a`, "GET", "https://x/a", "", "", "*/*"},
		{"escaped quote", `curl https://x/a -d "a=\"b\""`, "POST", "https://x/a", `a="b"`, "application/x-www-form-urlencoded", "*/*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCurl(tt.line)
			if err != nil {
				t.Fatal(err)
			}
			if c.Method != tt.method || c.URL != tt.url || c.Body != tt.body || c.Header.Get("Content-Type") != tt.ct ||
				c.Header.Get("Accept") != tt.accept || c.Header.Get("User-Agent") == "" {
				t.Fatalf("%+v", c)
			}
		})
	}
	for _, bad := range []string{`wget x`, `curl 'x`, `curl "x`, `curl -F a=b x`, `curl x -d`} {
		if _, err := ParseCurl(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	c, _ := ParseCurl(`curl https://h/base/api/v2/x?q=1 -d a=b`)
	r, err := c.Request("/api/")
	if err != nil || r.URL.Path != "/api/v2/x" || r.URL.RawQuery != "q=1" || r.Method != "POST" || r.ContentLength != 3 {
		t.Fatalf("request %+v, %v", r, err)
	}
	if _, err := c.Request("/nope/"); err == nil {
		t.Error("missing prefix accepted")
	}
}
