package fold

import (
	"strings"
	"testing"
)

func TestKey(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"Lille", "lille"},
		{"  SAN   Francisco ", "san francisco"},
		{"Montréal", "montreal"},
		{"MONTRÉAL", "montreal"},
		{"Montre\u0301al", "montreal"}, // decomposed input
		{"Saint-Étienne", "saint etienne"},
		{"L'Haÿ-les-Roses", "l hay les roses"},
		{"St. Louis", "st louis"},
		{"Łódź", "lodz"},
		{"Straße", "strasse"},
		{"Ærøskøbing", "aeroskobing"},
		{"Þórshöfn", "thorshofn"},
		{"İstanbul", "istanbul"},
		{"ＴＯＫＹＯ", "tokyo"}, // full-width letters (NFKD)
		{"Москва", "москва"},
		{"a\xffb", "a b"}, // invalid UTF-8 separates
		{"--", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Key(tt.in); got != tt.want {
			t.Errorf("Key(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func BenchmarkKey(b *testing.B) {
	for b.Loop() {
		Key("Saint-Étienne-du-Rouvray")
	}
}

// FuzzKey checks that keys are stable under folding again and never start,
// end or double up with a space.
func FuzzKey(f *testing.F) {
	for _, s := range []string{"Saint-Étienne", "Łódź", "a\xffb", " x  y ", "ＴＯＫＹＯ", "ǖ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := Key(s)
		if again := Key(k); again != k {
			t.Errorf("Key(Key(%q)) = %q, want %q", s, again, k)
		}
		if strings.HasPrefix(k, " ") || strings.HasSuffix(k, " ") || strings.Contains(k, "  ") {
			t.Errorf("Key(%q) = %q has stray spaces", s, k)
		}
	})
}
