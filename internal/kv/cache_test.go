package kv

import (
	"errors"
	"fmt"
	"testing"
)

// TestGetCached: identical bytes reuse the decoded value; any change to
// the stored bytes (an update by another instance included) is seen by
// the next read; a deleted record is not found; the cache stays bounded.
func TestGetCached(t *testing.T) {
	type rec struct{ Name string }
	recs := Records[rec]{Env: "production", Kind: "thing"}
	tx := mapTx{}
	c := NewDecodeCache[rec](2)
	if err := recs.Put(tx, "a", rec{Name: "one"}); err != nil {
		t.Fatal(err)
	}
	first, err := recs.GetCached(tx, c, "a")
	if err != nil || first.Name != "one" {
		t.Fatalf("first read: %+v %v", first, err)
	}
	again, _ := recs.GetCached(tx, c, "a")
	if again != first {
		t.Error("identical bytes decoded again")
	}
	if err := recs.Put(tx, "a", rec{Name: "two"}); err != nil {
		t.Fatal(err)
	}
	changed, err := recs.GetCached(tx, c, "a")
	if err != nil || changed.Name != "two" || first.Name != "one" {
		t.Fatalf("after a change: %+v (first %+v) %v", changed, first, err)
	}
	if err := recs.Delete(tx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := recs.GetCached(tx, c, "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted: %v", err)
	}
	for _, id := range []string{"", "a/b", "x\x00"} {
		if _, err := recs.GetCached(tx, c, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("bad id %q: %v", id, err)
		}
	}
	for i := range 5 {
		id := fmt.Sprint("r", i)
		if err := recs.Put(tx, id, rec{Name: id}); err != nil {
			t.Fatal(err)
		}
		if v, err := recs.GetCached(tx, c, id); err != nil || v.Name != id {
			t.Fatalf("%s: %+v %v", id, v, err)
		}
	}
	if n := len(c.m); n > 2 {
		t.Errorf("cache holds %d entries, bound 2", n)
	}
	tx[string(recs.Key("bad"))] = []byte("{not json")
	if _, err := recs.GetCached(tx, c, "bad"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("undecodable record: %v", err)
	}
}
