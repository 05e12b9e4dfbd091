package gazetteer_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/gazetteer"
)

func ExampleGazetteer_ResolvePlace() {
	g, err := gazetteer.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for _, q := range []string{"Lille", "san francisco", "Montreal", "Springfield, Illinois", "Londres"} {
		p, err := g.ResolvePlace(ctx, q)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s: %s / %s / %s\n", q, p.Locality, p.State, p.Country)
	}
	if _, err := g.ResolvePlace(ctx, "Nowhereville"); errors.Is(err, identity.ErrNotFound) {
		fmt.Println("Nowhereville: not found")
	}
	// Output:
	// Lille: Lille / Hauts-de-France / FR
	// san francisco: San Francisco / California / US
	// Montreal: Montréal / Quebec / CA
	// Springfield, Illinois: Springfield / Illinois / US
	// Londres: London / England / GB
	// Nowhereville: not found
}
