package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestReadyz: /readyz answers 200 {"status":"ready"} while the store
// answers a read, and 503 {"status":"unavailable"} once it is closed.
func TestReadyz(t *testing.T) {
	for _, store := range []string{"memory:", "bolt:" + t.TempDir() + "/ready.db"} {
		t.Run(store[:4], func(t *testing.T) {
			a := inProcess(t, "-store", store, "-addr", "127.0.0.1:1", "-base-url", "http://gatehouse.test",
				"-master-key", hMasterID+":"+hMasterSecret, "-mail-dir", t.TempDir())
			h := a.Handler()
			probe := func() (int, string, string) {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("GET", "http://gatehouse.test/readyz", nil))
				var body map[string]string
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
					t.Fatalf("/readyz: not JSON: %s", w.Body)
				}
				return w.Code, body["status"], w.Header().Get("Cache-Control")
			}
			if code, status, cc := probe(); code != http.StatusOK || status != "ready" || cc != "no-store" {
				t.Fatalf("open store: %d %q %q", code, status, cc)
			}
			if err := a.store.Close(); err != nil {
				t.Fatal(err)
			}
			if code, status, _ := probe(); code != http.StatusServiceUnavailable || status != "unavailable" {
				t.Fatalf("closed store: %d %q", code, status)
			}
		})
	}
}
