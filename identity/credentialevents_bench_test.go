package identity_test

import (
	"context"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// BenchmarkLogCredentialEvent: the cost of listing an API key's event in
// the logs of the organizations it reaches (API_KEY_TOKEN_ISSUED, once
// per management token), against the same event kept account-wide (what
// the log did before). Sequential calls: one commit each.
func BenchmarkLogCredentialEvent(b *testing.B) {
	ctx := context.Background()
	orgs := []string{"alpha", "beta", "gamma"}
	for _, c := range []struct {
		name string
		orgs []string
	}{{"account-wide", nil}, {"one-org", orgs[:1]}, {"three-orgs", orgs}} {
		key := &identity.Credential{ID: "bench-key", ManagedOrgs: c.orgs}
		b.Run(c.name, func(b *testing.B) {
			s, _ := newService(b) // a fresh store each: the logs' sizes are alike
			for _, n := range orgs {
				mustOrg(b, s, n)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := s.LogEvent(ctx, identity.CredentialEvent(identity.EventAPIKeyTokenIssued, key, nil)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
