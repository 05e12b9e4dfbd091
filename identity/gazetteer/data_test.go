package gazetteer

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

func gz(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// tiny is a hand-written data file: "lila" is the own name of a small town
// and an alternate name of a city more than ten times bigger; "bigtown" is
// the own name of a hamlet and an alternate name of a city less than ten
// times bigger.
const tiny = "gazetteer-v1\t2\t2\t4\t4\t6\tsource\n" +
	"A\tFR\t32\tHauts-de-France\n" +
	"A\tPH\t07\tCentral Visayas\n" +
	"C\tfrance\tFR\n" +
	"C\tphilippines\tPH\n" +
	"P\tLille\tFR\t0\t100010\n" +
	"P\tBig City\tFR\t\t50000\n" +
	"P\tLila\tPH\t1\t10000\n" +
	"P\tBigtown\tPH\t1\t5001\n" +
	"K\tbig city\t1\t\n" +
	"K\tbigtown\t3\t1\n" +
	"K\tlila\t2\t0\n" +
	"K\tlille\t0\t\n"

func TestTinyData(t *testing.T) {
	g, err := newFromData(gz(t, tiny))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		query string
		want  identity.Place
		err   error
	}{
		{query: "Lila", want: identity.Place{Locality: "Lille", State: "Hauts-de-France", Country: "FR"}},
		{query: "Lila, PH", want: identity.Place{Locality: "Lila", State: "Central Visayas", Country: "PH"}},
		{query: "Lila, Central Visayas", want: identity.Place{Locality: "Lila", State: "Central Visayas", Country: "PH"}},
		{query: "Lila, 07", want: identity.Place{Locality: "Lila", State: "Central Visayas", Country: "PH"}},
		{query: "Bigtown", want: identity.Place{Locality: "Bigtown", State: "Central Visayas", Country: "PH"}},
		{query: "Bigtown, France", want: identity.Place{Locality: "Big City", Country: "FR"}},
		{query: "big city", want: identity.Place{Locality: "Big City", Country: "FR"}},
		{query: "Big City, Hauts-de-France", err: identity.ErrNotFound}, // no admin1 known
		{query: "Lille, Philippines", err: identity.ErrNotFound},
		{query: "Lil", err: identity.ErrNotFound},
		{query: "lillez", err: identity.ErrNotFound},
		{query: "zzz", err: identity.ErrNotFound},
	}
	for _, tt := range tests {
		got, err := g.ResolvePlace(context.Background(), tt.query)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("ResolvePlace(%q) = %+v, %v; want error %v", tt.query, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ResolvePlace(%q) = %+v, %v; want %+v", tt.query, got, err, tt.want)
		}
	}
}

func TestCorruptData(t *testing.T) {
	if _, err := newFromData("not gzip"); !errors.Is(err, errCorrupt) {
		t.Errorf("newFromData(not gzip) = %v, want errCorrupt", err)
	}
	replace := func(old, new string) string {
		if !strings.Contains(tiny, old) {
			t.Fatalf("fixture lacks %q", old)
		}
		return strings.Replace(tiny, old, new, 1)
	}
	tests := []struct {
		name, data string
	}{
		{"empty", ""},
		{"wrong magic", replace("gazetteer-v1", "gazetteer-v2")},
		{"bad count", replace("\t2\t2\t4", "\tx\t2\t4")},
		{"huge count", replace("\t2\t2\t4", "\t99999999\t2\t4")},
		{"count too high", replace("\t2\t2\t4\t4", "\t2\t2\t5\t4")},
		{"count too low", replace("\t2\t2\t4\t4", "\t2\t2\t3\t4")},
		{"missing field", replace("A\tFR\t32\tHauts-de-France", "A\tFR\t32")},
		{"bad country code", replace("P\tLille\tFR", "P\tLille\tFRA")},
		{"admin1 out of range", replace("P\tLille\tFR\t0", "P\tLille\tFR\t9")},
		{"bad population", replace("\t100010", "\t-1")},
		{"population overflow", replace("\t100010", "\t99999999999")},
		{"keys out of order", replace("K\tbigtown", "K\tzzz")},
		{"empty key", replace("K\tbig city", "K\t")},
		{"posting out of range", replace("K\tlille\t0", "K\tlille\t4")},
		{"bad posting", replace("K\tlille\t0", "K\tlille\t0,,1")},
		{"truncated", tiny[:len(tiny)-20]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := newFromData(gz(t, tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Load(); !errors.Is(err, errCorrupt) {
				t.Fatalf("Load = %v, want errCorrupt", err)
			}
			// The failure is remembered and returned by every lookup.
			if _, err := g.ResolvePlace(context.Background(), "Lille"); !errors.Is(err, errCorrupt) {
				t.Errorf("ResolvePlace after a failed load = %v, want errCorrupt", err)
			}
		})
	}
	t.Run("trailing data", func(t *testing.T) {
		g, err := newFromData(gz(t, tiny+"K\tzzz\t0\t\n"))
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Load(); !errors.Is(err, errCorrupt) {
			t.Fatalf("Load = %v, want errCorrupt", err)
		}
	})
}

func TestBadGzipBody(t *testing.T) {
	// Valid magic number, broken stream: New accepts it, Load reports it.
	data := gz(t, tiny)
	broken := data[:10] + strings.Repeat("\xff", len(data)-10)
	g, err := newFromData(broken)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Load(); !errors.Is(err, errCorrupt) {
		t.Errorf("Load = %v, want errCorrupt", err)
	}
}
