package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity/api"
)

func TestDecodeParams(t *testing.T) {
	tests := []struct {
		name, target, ct, body string
		want                   api.Params
		status                 int
	}{
		{name: "query", target: "/?a=1&b[]=x&b[]=y&c[d]=e", want: api.Params{"a": "1", "b": []any{"x", "y"}, "c": api.Params{"d": "e"}}},
		{name: "form nested", ct: "application/x-www-form-urlencoded",
			body: "profile[given_name]=Jane&profile[address][city]=Lille&allowed_redirect_urls[]=http://a&allowed_redirect_urls[]=http://b",
			want: api.Params{"profile": api.Params{"given_name": "Jane", "address": api.Params{"city": "Lille"}},
				"allowed_redirect_urls": []any{"http://a", "http://b"}}},
		{name: "repeated key", ct: "application/x-www-form-urlencoded", body: "a=1&a=2", want: api.Params{"a": []any{"1", "2"}}},
		{name: "odd brackets kept literally", ct: "application/x-www-form-urlencoded", body: "a[=1&b]=2&c[][d]=3",
			want: api.Params{"a[": "1", "b]": "2", "c[][d]": "3"}},
		{name: "json", ct: "application/json", body: `{"a":{"b":[1,"x",null]},"c":true}`,
			want: api.Params{"a": api.Params{"b": []any{json.Number("1"), "x", nil}}, "c": true}},
		{name: "json without content type", body: `{"a":"b"}`, want: api.Params{"a": "b"}},
		{name: "body wins over query", target: "/?a=q", ct: "application/json", body: `{"a":"b"}`, want: api.Params{"a": "b"}},
		{name: "json null body", ct: "application/json", body: `null`, want: api.Params{}},
		{name: "empty body", ct: "application/json", body: ``, want: api.Params{}},
		{name: "json array", ct: "application/json", body: `[1]`, status: 400},
		{name: "json trailing", ct: "application/json", body: `{"a":1} {}`, status: 400},
		{name: "json truncated", ct: "application/json", body: `{"a":`, status: 400},
		{name: "json too deep", ct: "application/json", body: strings.Repeat(`{"a":`, 20) + "1" + strings.Repeat("}", 20), status: 400},
		{name: "form too deep", ct: "application/x-www-form-urlencoded", body: "a" + strings.Repeat("[b]", 20) + "=1", status: 400},
		{name: "bad form", ct: "application/x-www-form-urlencoded", body: "a=%zz", status: 400},
		{name: "xml", ct: "application/xml", body: "<a/>", status: 415},
		// curl --data-raw '{…}' labels JSON as a form: it is JSON.
		{name: "json labelled form", ct: "application/x-www-form-urlencoded", body: ` {"a":{"b":"c"}}`,
			want: api.Params{"a": api.Params{"b": "c"}}},
		{name: "json labelled text", ct: "text/plain", body: `{"a":"b"}`, want: api.Params{"a": "b"}},
		{name: "json under another label", ct: "application/octet-stream", body: `{"a":"b"}`, want: api.Params{"a": "b"}},
		// curl -H 'Content-Type: application/json' -d a=b sends a form.
		{name: "form labelled json", ct: "application/json", body: `profile=https://franksinatra.com`,
			want: api.Params{"profile": "https://franksinatra.com"}},
		{name: "form with spaces", ct: "application/x-www-form-urlencoded", body: `locality=San Francisco&x=`,
			want: api.Params{"locality": "San Francisco", "x": ""}},
		{name: "broken json labelled form", ct: "application/x-www-form-urlencoded", body: `{ { "name": "x" } }`, status: 400},
		{name: "words labelled form", ct: "application/x-www-form-urlencoded", body: `hello world`, status: 400},
		{name: "nameless pair", ct: "application/x-www-form-urlencoded", body: `a=1&=2`, status: 400},
		{name: "words without label", body: `hello`, status: 400},
		{name: "json scalar", ct: "application/json", body: `"a"`, status: 400},
		{name: "neither json nor form", ct: "application/json", body: `{a}`, status: 400},
		{name: "words labelled json", ct: "application/json", body: `hello`, status: 400},
		{name: "semicolon form", ct: "application/x-www-form-urlencoded", body: `a=1;b=2`, status: 400},
		{name: "multipart file", ct: "multipart/form-data; boundary=b",
			body: "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\nx\r\n--b--\r\n", status: 400},
		{name: "multipart fields", ct: "multipart/form-data; boundary=b",
			body: "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--b--\r\n", want: api.Params{"a": "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target := tc.target
			if target == "" {
				target = "/"
			}
			r := httptest.NewRequest("POST", target, strings.NewReader(tc.body))
			if tc.ct != "" {
				r.Header.Set("Content-Type", tc.ct)
			}
			got, err := api.DecodeParams(r)
			if tc.status != 0 {
				e, ok := api.AsError(err)
				if err == nil || !ok || e.Status != tc.status {
					t.Fatalf("got %v, %v; want status %d", got, err, tc.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestReader(t *testing.T) {
	p := api.Params{"s": "x", "n": json.Number("3"), "ns": "4", "b": "true", "bb": false, "l": []any{"a", "b"},
		"one": "a", "o": api.Params{"x": 1.5}, "null": nil, "bad": []any{1}}
	rd := p.Reader()
	if *rd.String("s") != "x" || *rd.Int("n") != 3 || *rd.Int("ns") != 4 || !*rd.Bool("b") || *rd.Bool("bb") ||
		len(*rd.Strings("l")) != 2 || (*rd.Strings("one"))[0] != "a" || *rd.String("null") != "" || rd.String("absent") != nil {
		t.Fatal("getters")
	}
	if rd.Err() != nil {
		t.Fatalf("unexpected errors: %v", rd.Err())
	}
	rd.String("n")
	rd.Int("s")
	rd.Bool("s")
	rd.Strings("bad")
	rd.Object("s")
	rd.Object("o").String("x")
	e, _ := api.AsError(rd.Err())
	want := []string{"bad", "n", "o.x", "s"}
	for _, f := range want {
		if _, ok := e.Fields[f]; !ok {
			t.Errorf("field %s not named: %v", f, e.Fields)
		}
	}
	if e.Status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", e.Status)
	}
}
