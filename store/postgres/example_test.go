package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/postgres"
)

// Open a store shared by every instance of the host program, and build the
// identity service on it. Pool settings come from the URL or options.
func ExampleOpen() {
	ctx := context.Background()
	st, err := postgres.Open(ctx, "postgres://gatehouse@db.internal/gatehouse?sslmode=verify-full&pool_max_conns=20",
		postgres.WithSchema("gatehouse"))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	svc, err := identity.NewService(identity.Options{Store: st})
	if err != nil {
		log.Fatal(err)
	}
	name := "Blue Fin"
	org, err := svc.CreateOrganization(ctx, identity.OrganizationInput{Name: &name})
	switch {
	case errors.Is(err, postgres.ErrUnavailable):
		// The database is down or restarting: nothing was corrupted, try
		// again later (a face answers 503: the error also wraps
		// identity.ErrBusy).
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println(org.Domain)
	}
}

// Run the migrations as a separate deployment step, then open the store
// without migrating (the application's role then needs no DDL rights).
func ExampleMigrate() {
	ctx := context.Background()
	url := "postgres://gatehouse_owner@db.internal/gatehouse"
	from, err := postgres.Migrate(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("migrated from %d to %d\n", from, postgres.SchemaVersion)
	st, err := postgres.Open(ctx, "postgres://gatehouse_app@db.internal/gatehouse", postgres.WithoutMigrations())
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
}

// Sweep expired records from every instance: concurrent sweepers delete
// each entry once, in small transactions.
func ExampleStore_sweep() {
	ctx := context.Background()
	st, err := postgres.Open(ctx, "postgres://gatehouse@db.internal/gatehouse")
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	svc, err := identity.NewService(identity.Options{Store: st})
	if err != nil {
		log.Fatal(err)
	}
	for range time.Tick(time.Minute) {
		if _, err := svc.SweepExpired(ctx, 200); err != nil {
			log.Print(err)
		}
	}
}
