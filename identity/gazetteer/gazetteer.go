// Package gazetteer resolves place names ("Lille", "San Francisco",
// "Springfield, US") to a locality, its first-level administrative division
// and its ISO 3166-1 alpha-2 country code, offline, from an embedded extract
// of GeoNames (CC BY 4.0). It implements identity.PlaceResolver, which backs
// Cryptr's autocomplete_address on organizations.
//
// The data covers about 200,000 populated places (GeoNames cities500). See
// README.md for its provenance, attribution and how to regenerate it.
package gazetteer

//go:generate go run ./internal/gen -out places.gz

import (
	"context"
	_ "embed" // places.gz
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/gazetteer/internal/fold"
)

// placesGz is the embedded data file (see data.go for its format). A string,
// so it cannot be modified.
//
//go:embed places.gz
var placesGz string

// MaxQueryLen is the longest query, in bytes after trimming spaces, that
// ResolvePlace accepts.
const MaxQueryLen = 200

// maxQualifiers bounds the comma-separated parts after the place name.
const maxQualifiers = 3

// altWeight divides the population of a place matched by an alternate name
// (an exonym such as "Bruxelles") when it competes with a place whose own
// name matches: an alternate-name match must be ten times as populous to
// win. "Mexico" is Mexico City (12 million, alternate name) rather than
// Mexico, Pampanga (44,000), while a town whose own name is a transliteration
// of a big city keeps its name unless the city dwarfs it.
const altWeight = 10

// field is the wire name reported in validation errors.
const field = "autocomplete_address"

// Gazetteer resolves place names from the embedded GeoNames extract. It is
// safe for concurrent use. The data (about 4 MB compressed) is decompressed
// and indexed once, on the first ResolvePlace or an explicit Load.
type Gazetteer struct {
	data string // gzip'd data file

	once sync.Once
	idx  *index
	err  error
}

var _ identity.PlaceResolver = (*Gazetteer)(nil)

// New returns a Gazetteer over the embedded data. It is cheap: it checks the
// data's gzip magic number and defers decompression and indexing to first use
// (call Load to pay that cost up front, for example at start-up).
func New() (*Gazetteer, error) {
	return newFromData(placesGz)
}

func newFromData(data string) (*Gazetteer, error) {
	// gzip magic and the deflate method (RFC 1952); the rest is checked on
	// load.
	if len(data) < 18 || data[0] != 0x1f || data[1] != 0x8b || data[2] != 8 {
		return nil, fmt.Errorf("%w: not gzip data", errCorrupt)
	}
	return &Gazetteer{data: data}, nil
}

// Load decompresses and indexes the data if that has not been done yet.
// ResolvePlace calls it; calling it early moves the cost (about 0.2 s of
// CPU and 25 MB of transient allocations) out of the first request.
func (g *Gazetteer) Load() error {
	g.once.Do(func() {
		g.idx, g.err = parseGzip(g.data)
		g.data = "" // the index no longer needs it
	})
	return g.err
}

// ResolvePlace returns the most populous place named query. Matching ignores
// case, accents, punctuation and extra spaces ("montreal" finds Montréal,
// "saint etienne" finds Saint-Étienne). The name may be followed by
// comma-separated qualifiers, each an ISO country code, a country name in
// English or French, or a state (admin1) name or code: "Springfield, US",
// "Paris, Texas", "Dublin, Ireland", "San Francisco, CA". Alternate names
// (exonyms such as "Londres" or "Bruxelles") are known for places of 15,000
// inhabitants or more.
//
// A qualifier may also follow the name without a comma ("Lille France",
// "Lille (Belgique)") when the whole text is not itself a known name.
//
// An empty, over-long (see MaxQueryLen) or non-UTF-8 query returns an
// *identity.InvalidError for autocomplete_address (errors.Is ErrInvalid); a
// place that is unknown, or matches none of the qualifiers, returns an
// error wrapping identity.ErrNotFound.
func (g *Gazetteer) ResolvePlace(ctx context.Context, query string) (identity.Place, error) {
	if err := ctx.Err(); err != nil {
		return identity.Place{}, err
	}
	q := strings.TrimSpace(query)
	switch {
	case q == "":
		return identity.Place{}, identity.Invalid(field, "is required")
	case len(q) > MaxQueryLen:
		return identity.Place{}, identity.Invalid(field, fmt.Sprintf("must be at most %d bytes", MaxQueryLen))
	case !utf8.ValidString(q):
		return identity.Place{}, identity.Invalid(field, "must be valid UTF-8")
	}
	parts := strings.Split(q, ",")
	name := fold.Key(parts[0])
	if name == "" {
		return identity.Place{}, identity.Invalid(field, "must start with a place name")
	}
	var quals []string
	for _, p := range parts[1:] {
		if k := fold.Key(p); k != "" {
			quals = append(quals, k)
		}
	}
	if len(quals) > maxQualifiers {
		return identity.Place{}, identity.Invalid(field, fmt.Sprintf("must have at most %d comma-separated qualifiers", maxQualifiers))
	}
	if err := g.Load(); err != nil {
		return identity.Place{}, err
	}
	p, ok := g.idx.resolve(name, quals)
	if !ok && len(quals) == 0 {
		p, ok = g.idx.resolveTrailing(name)
	}
	if !ok {
		return identity.Place{}, fmt.Errorf("gazetteer: no place matches %q: %w", q, identity.ErrNotFound)
	}
	return p, nil
}

// resolve looks up a folded name, filtered by folded qualifiers.
func (x *index) resolve(name string, quals []string) (identity.Place, bool) {
	i := sort.Search(len(x.keys), func(i int) bool { return x.str(x.keys[i].key) >= name })
	if i == len(x.keys) || x.str(x.keys[i].key) != name {
		return identity.Place{}, false
	}
	k := x.keys[i]
	prim := x.post[k.post : k.post+uint32(k.nPrim)]
	alt := x.post[k.post+uint32(k.nPrim) : k.post+uint32(k.nPrim)+uint32(k.nAlt)]
	// Postings are in population order: the first that passes the
	// qualifiers is the best of its list.
	best, found := uint32(0), false
	for _, p := range prim {
		if x.matches(p, quals) {
			best, found = p, true
			break
		}
	}
	for _, p := range alt {
		if x.matches(p, quals) {
			if !found || x.places[p].pop/altWeight > x.places[best].pop {
				best, found = p, true
			}
			break
		}
	}
	if !found {
		return identity.Place{}, false
	}
	return x.place(best), true
}

// maxTrailingWords bounds the words resolveTrailing tries as a qualifier.
const maxTrailingWords = 3

// resolveTrailing handles a qualifier written without a comma ("Lille
// France", "Lille (Belgique)", "San Francisco CA"): the last one to
// maxTrailingWords words of the folded name are tried as one qualifier,
// shortest first.
func (x *index) resolveTrailing(name string) (identity.Place, bool) {
	cut := len(name)
	for range maxTrailingWords {
		i := strings.LastIndexByte(name[:cut], ' ')
		if i <= 0 {
			break
		}
		if p, ok := x.resolve(name[:i], []string{name[i+1:]}); ok {
			return p, true
		}
		cut = i
	}
	return identity.Place{}, false
}

// matches reports whether place p satisfies every qualifier.
func (x *index) matches(p uint32, quals []string) bool {
	rec := &x.places[p]
	for _, q := range quals {
		if !x.matchesOne(rec, q) {
			return false
		}
	}
	return true
}

func (x *index) matchesOne(rec *placeRec, q string) bool {
	if len(q) == 2 && q[0]|0x20 == rec.cc[0]|0x20 && q[1]|0x20 == rec.cc[1]|0x20 {
		return true
	}
	if cc, ok := x.countries[q]; ok && len(cc) == 2 && cc[0] == rec.cc[0] && cc[1] == rec.cc[1] {
		return true
	}
	if rec.admin1 != noAdmin1 {
		a := &x.admin1[rec.admin1]
		return a.folded == q || a.code == q
	}
	return false
}

func (x *index) place(p uint32) identity.Place {
	rec := &x.places[p]
	out := identity.Place{Locality: x.str(rec.name), Country: string(rec.cc[:])}
	if rec.admin1 != noAdmin1 {
		out.State = x.admin1[rec.admin1].name
	}
	return out
}
