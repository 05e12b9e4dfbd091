package profile

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzHandler drives random paths, parameters and bodies at the handler:
// no input may panic or answer 500.
func FuzzHandler(f *testing.F) {
	e := newEnv(f)
	e.tenant("acme", AttributeDefinition{Name: "plan", Indexed: true, Permissions: all})
	p := e.profile("acme", "alice", url.Values{"attributes": {`{"plan":"gold"}`}})
	var tk Ticket
	e.mustOK(e.login("alice", "pw-alice")).json(f, &tk)
	for _, r := range routes {
		path := strings.Join(r.pattern, "/")
		path = strings.Replace(path, "*", p.ID, 1)
		path = strings.Replace(path, "*", "acme", 1)
		f.Add(uint8(0), path+".json", "tenantName=acme&query={username:'alice'}&role=A,B&sortBy=username&start=0&count=2", `{"name":"acme"}`, uint8(0))
		f.Add(uint8(1), path, "ticketId="+tk.ID+"&attributeName=plan&attributeValue=gold", `[{"name":"x","defaultValue":{"a":[1,2]}}]`, uint8(1))
	}
	f.Add(uint8(1), "profile/create", "tenantName=acme&username=u&email=u@example.com&enabled=true&attributes={\"plan\":[1,{}]}", "", uint8(1))
	f.Add(uint8(0), "profile/by_query", "tenantName=acme&query={$or:[{attributes.plan:{$regex:'(a|b)*c',$options:'imsx'}}]}", "", uint8(0))
	f.Add(uint8(1), "profile/"+p.ID+"/uploadAttachment", "", "--x\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"a.png\"\r\n\r\n\x89PNG\r\n--x--\r\n", uint8(2))
	methods := []string{"GET", "POST", "PUT", "DELETE", "HEAD"}
	ctypes := []string{"application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain", ""}
	f.Fuzz(func(t *testing.T, m uint8, path, query, body string, ct uint8) {
		if strings.ContainsAny(path, " \r\n\t#?") || len(path) > 512 {
			return
		}
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		q.Set("accessTokenId", e.master)
		target := "/api/1/" + path + "?" + q.Encode()
		if _, err := url.ParseRequestURI(target); err != nil {
			return
		}
		req := httptest.NewRequest(methods[int(m)%len(methods)], target, strings.NewReader(body))
		req.Header.Set("Content-Type", ctypes[int(ct)%len(ctypes)])
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s: %d %s", req.Method, target, w.Code, w.Body.String())
		}
	})
}
