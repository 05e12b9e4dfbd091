package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUsefulAlternate(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"Londres", true},
		{"Rijsel", true},
		{"Genève", true},
		{"Saint-Étienne", true},
		{"LIL", false},     // all-caps code
		{"li er", false},   // lower-case romanisation
		{"Лилль", false},   // not Latin
		{"Lille 2", false}, // digits
		{"Li", false},      // too short
		{"'s-Hertogenbosch", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := usefulAlternate(tt.in); got != tt.want {
			t.Errorf("usefulAlternate(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// row builds a GeoNames geoname-table line.
func row(id, name, ascii, alts, fcode, cc, admin1, pop string) string {
	f := make([]string, 19)
	f[0], f[1], f[2], f[3], f[6], f[7], f[8], f[10], f[14] = id, name, ascii, alts, "P", fcode, cc, admin1, pop
	return strings.Join(f, "\t")
}

func writeTgz(t *testing.T, path, name, content string) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content))}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(tw, content); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	cities := strings.Join([]string{
		row("1", "Lille", "Lille", "LIL,Rijsel,li er,Лилль", "PPLA", "FR", "32", "234475"),
		row("2", "Lille", "Lille", "", "PPL", "BE", "VLG", "15466"),
		row("3", "Montréal", "Montreal", "", "PPLA2", "CA", "10", "1600000"),
		row("4", "Old Town", "Old Town", "", "PPLH", "FR", "32", "9000"), // historical: dropped
		row("5", "Nowhere", "Nowhere", "", "PPL", "FR", "99", "700"),     // admin1 without a name
	}, "\n") + "\n"
	writeTgz(t, filepath.Join(dir, citiesTgz), citiesTxt, cities)
	writeTgz(t, filepath.Join(dir, admin1Tgz), admin1JSN,
		`[{"code":"FR.32","name":"Hauts-de-France"},{"code":"BE.VLG","name":"Flanders"},{"code":"CA.10","name":"Quebec"}]`)
	out := filepath.Join(dir, "places.gz")
	if err := run(dir, out); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if !strings.HasPrefix(lines[0], "gazetteer-v1\t3\t") {
		t.Fatalf("header = %q", lines[0])
	}
	var places, keys []string
	for _, l := range lines[1:] {
		switch {
		case strings.HasPrefix(l, "P\t"):
			places = append(places, l)
		case strings.HasPrefix(l, "K\t"):
			keys = append(keys, l)
		}
	}
	// Admin1 table sorted by code: BE.VLG=0, CA.10=1, FR.32=2.
	wantPlaces := []string{
		"P\tMontréal\tCA\t1\t1600000",
		"P\tLille\tFR\t2\t234475",
		"P\tLille\tBE\t0\t15466",
		"P\tNowhere\tFR\t\t700",
	}
	if strings.Join(places, "\n") != strings.Join(wantPlaces, "\n") {
		t.Errorf("places:\n%s\nwant:\n%s", strings.Join(places, "\n"), strings.Join(wantPlaces, "\n"))
	}
	wantKeys := []string{
		"K\tlille\t1,2\t",
		"K\tmontreal\t0\t",
		"K\tnowhere\t3\t",
		"K\trijsel\t\t1",
	}
	if strings.Join(keys, "\n") != strings.Join(wantKeys, "\n") {
		t.Errorf("keys:\n%s\nwant:\n%s", strings.Join(keys, "\n"), strings.Join(wantKeys, "\n"))
	}
	for _, want := range []string{"C\tfrance\tFR", "C\tbelgique\tBE", "C\tcanada\tCA", "C\tfr\tFR"} {
		if !strings.Contains(string(raw), "\n"+want+"\n") {
			t.Errorf("no country alias line %q", want)
		}
	}
}
