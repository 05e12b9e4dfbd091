package identity

import "context"

// Place is what an address resolver knows about a named place: the locality
// (city), its state or region, and the ISO 3166-1 alpha-2 country code.
type Place struct {
	// Locality is the city or locality name, as the gazetteer spells it.
	Locality string
	// State is the first-level administrative division (state, region).
	State string
	// Country is the ISO 3166-1 alpha-2 code of the country, upper case.
	Country string
}

// PlaceResolver turns a free-text place name ("Lille", "San Francisco") into
// a Place. It backs Cryptr's autocomplete_address on organizations.
// Implementations return an error that satisfies errors.Is(err, ErrNotFound)
// when the place is unknown.
type PlaceResolver interface {
	ResolvePlace(ctx context.Context, query string) (Place, error)
}
