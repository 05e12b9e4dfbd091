package fold

import "testing"

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
