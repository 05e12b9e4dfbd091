package gazetteer

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// load returns a gazetteer over the embedded data, already loaded.
func load(t testing.TB) *Gazetteer {
	t.Helper()
	g, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := g.Load(); err != nil {
		t.Fatalf("Load: %v", err)
	}
	return g
}

// TestEmbedded runs the checks on the real data against one loaded
// gazetteer (loading costs seconds under -race).
func TestEmbedded(t *testing.T) {
	g := load(t)
	t.Run("ResolvePlace", func(t *testing.T) { testResolvePlace(t, g) })
	t.Run("ResolvePlaceErrors", func(t *testing.T) { testResolvePlaceErrors(t, g) })
	t.Run("MaxLength", func(t *testing.T) { testMaxLength(t, g) })
	t.Run("DataInvariants", func(t *testing.T) { testDataInvariants(t, g.idx) })
}

func testResolvePlace(t *testing.T, g *Gazetteer) {
	tests := []struct {
		query string
		want  identity.Place
	}{
		{"Lille", identity.Place{Locality: "Lille", State: "Hauts-de-France", Country: "FR"}},
		{"Dublin", identity.Place{Locality: "Dublin", State: "Leinster", Country: "IE"}},
		{"San Francisco", identity.Place{Locality: "San Francisco", State: "California", Country: "US"}},
		{"Paris", identity.Place{Locality: "Paris", State: "Île-de-France", Country: "FR"}},
		// case, accents, spaces and punctuation
		{"Montréal", identity.Place{Locality: "Montréal", State: "Quebec", Country: "CA"}},
		{"montreal", identity.Place{Locality: "Montréal", State: "Quebec", Country: "CA"}},
		{"  MONTREAL  ", identity.Place{Locality: "Montréal", State: "Quebec", Country: "CA"}},
		{"saint etienne", identity.Place{Locality: "Saint-Étienne", State: "Auvergne-Rhône-Alpes", Country: "FR"}},
		{"san   FRANCISCO", identity.Place{Locality: "San Francisco", State: "California", Country: "US"}},
		// qualifiers: country code, country name (English, French), state name or code
		{"Springfield, US", identity.Place{Locality: "Springfield", State: "Missouri", Country: "US"}},
		{"Springfield, IL", identity.Place{Locality: "Springfield", State: "Illinois", Country: "US"}},
		{"Springfield, Illinois", identity.Place{Locality: "Springfield", State: "Illinois", Country: "US"}},
		{"Springfield, Illinois, USA", identity.Place{Locality: "Springfield", State: "Illinois", Country: "US"}},
		{"Paris, Texas", identity.Place{Locality: "Paris", State: "Texas", Country: "US"}},
		{"Dublin, Ohio", identity.Place{Locality: "Dublin", State: "Ohio", Country: "US"}},
		{"Dublin, Ireland", identity.Place{Locality: "Dublin", State: "Leinster", Country: "IE"}},
		{"Lille, Belgique", identity.Place{Locality: "Lille", State: "Flanders", Country: "BE"}},
		{"Lille, fr", identity.Place{Locality: "Lille", State: "Hauts-de-France", Country: "FR"}},
		{"Cambridge, MA", identity.Place{Locality: "Cambridge", State: "Massachusetts", Country: "US"}},
		{"Paris,", identity.Place{Locality: "Paris", State: "Île-de-France", Country: "FR"}},
		// qualifier without a comma, tried only when the whole text is unknown
		{"Lille France", identity.Place{Locality: "Lille", State: "Hauts-de-France", Country: "FR"}},
		{"Lille (Belgique)", identity.Place{Locality: "Lille", State: "Flanders", Country: "BE"}},
		{"San Francisco CA", identity.Place{Locality: "San Francisco", State: "California", Country: "US"}},
		{"Dublin United States", identity.Place{Locality: "Dublin", State: "California", Country: "US"}},
		{"Frankfurt am Main", identity.Place{Locality: "Frankfurt am Main", State: "Hesse", Country: "DE"}},
		// alternate names (exonyms) of large places
		{"Londres", identity.Place{Locality: "London", State: "England", Country: "GB"}},
		{"Bruxelles", identity.Place{Locality: "Brussels", State: "Brussels Capital", Country: "BE"}},
		{"München", identity.Place{Locality: "Munich", State: "Bavaria", Country: "DE"}},
		{"Mexico", identity.Place{Locality: "Mexico City", State: "Mexico City", Country: "MX"}},
		{"Cologne", identity.Place{Locality: "Köln", State: "North Rhine-Westphalia", Country: "DE"}},
		{"Séville", identity.Place{Locality: "Sevilla", State: "Andalusia", Country: "ES"}},
		// an alternate-name match wins only when ten times as populous;
		// a qualifier settles the close calls
		{"Valence, France", identity.Place{Locality: "Valence", State: "Auvergne-Rhône-Alpes", Country: "FR"}},
		{"Geneva, Switzerland", identity.Place{Locality: "Genève", State: "Geneva", Country: "CH"}},
		{"Geneva, CH", identity.Place{Locality: "Genève", State: "Geneva", Country: "CH"}},
		// a primary name beats a far less populous alternate-name match
		{"Paris, FR", identity.Place{Locality: "Paris", State: "Île-de-France", Country: "FR"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got, err := g.ResolvePlace(context.Background(), tt.query)
			if err != nil {
				t.Fatalf("ResolvePlace(%q): %v", tt.query, err)
			}
			if got != tt.want {
				t.Errorf("ResolvePlace(%q) = %+v, want %+v", tt.query, got, tt.want)
			}
		})
	}
}

func testResolvePlaceErrors(t *testing.T, g *Gazetteer) {
	tests := []struct {
		name  string
		query string
		want  error
	}{
		{"unknown", "Zzyzxqville", identity.ErrNotFound},
		{"qualifier excludes every match", "Lille, Japan", identity.ErrNotFound},
		{"unknown qualifier", "Paris, Atlantis", identity.ErrNotFound},
		{"unknown trailing words", "Lille is lovely", identity.ErrNotFound},
		{"non-Latin script is not indexed", "Москва", identity.ErrNotFound},
		{"empty", "", identity.ErrInvalid},
		{"blank", "   \t ", identity.ErrInvalid},
		{"punctuation only", "--, US", identity.ErrInvalid},
		{"too long", strings.Repeat("a", MaxQueryLen+1), identity.ErrInvalid},
		{"invalid UTF-8", "Lil\xffle", identity.ErrInvalid},
		{"too many qualifiers", "Paris, a, b, c, d", identity.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := g.ResolvePlace(context.Background(), tt.query)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ResolvePlace(%q) = %+v, %v; want an error matching %v", tt.query, got, err, tt.want)
			}
			if got != (identity.Place{}) {
				t.Errorf("ResolvePlace(%q) returned %+v with its error", tt.query, got)
			}
			var ie *identity.InvalidError
			if errors.As(err, &ie) && (len(ie.Fields) != 1 || ie.Fields[0].Field != "autocomplete_address") {
				t.Errorf("invalid error fields = %+v, want autocomplete_address", ie.Fields)
			}
		})
	}
}

func testMaxLength(t *testing.T, g *Gazetteer) {
	// Exactly MaxQueryLen bytes is accepted (and unknown), one more is not.
	q := strings.Repeat("a", MaxQueryLen)
	if _, err := g.ResolvePlace(context.Background(), q); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("query of MaxQueryLen bytes: err = %v, want not found", err)
	}
}

func TestResolvePlaceCanceled(t *testing.T) {
	g, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.ResolvePlace(ctx, "Lille"); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestConcurrentFirstUse(t *testing.T) {
	g, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			p, err := g.ResolvePlace(context.Background(), "Dublin")
			if err == nil && p.Country != "IE" {
				err = errors.New("Dublin resolved to " + p.Country)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// testDataInvariants checks the loaded index against the format's promises.
func testDataInvariants(t *testing.T, x *index) {
	if len(x.places) < 150000 || len(x.admin1) < 3000 || len(x.countries) < 240 {
		t.Fatalf("suspiciously small data: %d places, %d admin1, %d country aliases",
			len(x.places), len(x.admin1), len(x.countries))
	}
	for i := 1; i < len(x.places); i++ {
		if x.places[i].pop > x.places[i-1].pop {
			t.Fatalf("places %d and %d out of population order", i-1, i)
		}
	}
	for i := 1; i < len(x.keys); i++ {
		if x.str(x.keys[i-1].key) >= x.str(x.keys[i].key) {
			t.Fatalf("keys %d and %d out of order", i-1, i)
		}
	}
	for cc, want := range map[string]string{"france": "FR", "etats unis": "US", "united states": "US", "allemagne": "DE", "uk": "GB"} {
		if got := x.countries[cc]; got != want {
			t.Errorf("country alias %q = %q, want %q", cc, got, want)
		}
	}
}

// FuzzResolvePlace checks that no input panics and that every failure is
// either invalid input or not found.
func FuzzResolvePlace(f *testing.F) {
	for _, s := range []string{"Lille", "Springfield, US", "Lille France", ",", "a,b,c,d,e", "Montre\u0301al", "\xff"} {
		f.Add(s)
	}
	g := load(f)
	f.Fuzz(func(t *testing.T, q string) {
		p, err := g.ResolvePlace(context.Background(), q)
		switch {
		case err == nil:
			if p.Locality == "" || len(p.Country) != 2 {
				t.Errorf("ResolvePlace(%q) = %+v: incomplete place", q, p)
			}
		case !errors.Is(err, identity.ErrInvalid) && !errors.Is(err, identity.ErrNotFound):
			t.Errorf("ResolvePlace(%q): unexpected error %v", q, err)
		}
	})
}
