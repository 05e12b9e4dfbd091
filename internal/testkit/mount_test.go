package testkit

import (
	"io"
	"net/http"
	"slices"
	"testing"
)

func TestUnder(t *testing.T) {
	for _, c := range []struct {
		base, u        string
		under, foreign bool
	}{
		{"http://gh.test/auth", "http://gh.test/auth/t/x", true, false},
		{"http://gh.test/auth", "/auth/t/x/login", true, false},
		{"http://gh.test/auth", "/t/x/login", false, false},
		{"http://gh.test/auth", "/authz/t", false, false},
		{"http://gh.test/auth", "http://gh.test/t/x", false, false},
		{"http://gh.test/auth", "//evil.test/auth/", false, true},
		{"http://gh.test/auth", "https://idp.test/sso", false, true},
		{"http://gh.test", "/t/x", true, false},
		{"http://gh.test", "http://gh.test/t/x", true, false},
		{"http://gh.test/a/b", "/a/b/enterprise-setup/?lang=en", true, false},
		{"http://gh.test/a/b", "/a/enterprise-setup/", false, false},
	} {
		under, foreign := Under(c.base, c.u)
		if under != c.under || foreign != c.foreign {
			t.Errorf("Under(%q, %q) = %v, %v; want %v, %v", c.base, c.u, under, foreign, c.under, c.foreign)
		}
	}
}

func TestLinks(t *testing.T) {
	got := Links(`<a href="#main">s</a><form action="/auth/x?a=1&amp;b=2"><a HREF="/y"><img src="data:x"><link href="http://h/z">`)
	if want := []string{"/auth/x?a=1&b=2", "/y", "http://h/z"}; !slices.Equal(got, want) {
		t.Fatalf("Links = %q, want %q", got, want)
	}
}

func TestMountAtAndTransport(t *testing.T) {
	face := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "face "+r.URL.Path) })
	tr := &Transport{Host: "gh.test", Handler: MountAt("/auth", face)}
	c := tr.Client(nil)
	for u, want := range map[string]string{"http://gh.test/": HostHome, "http://gh.test/host/page": HostPage,
		"http://gh.test/auth/t/x": "face /t/x"} {
		res, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != want {
			t.Errorf("GET %s = %q, want %q", u, b, want)
		}
	}
	if _, err := c.Get("http://other.test/"); err == nil {
		t.Error("a request for another host was served")
	}
}
