// Package multiinstance holds only tests: multi-instance correctness of
// Gatehouse's real features on PostgreSQL. Each test opens two complete
// instances of the host program on one database (separate postgres.Open
// pools, each with its own identity.Service and the feature's own service
// on top) and races them: key rotation (tokens), refresh-token rotation and
// authorization-code redemption, magic links, email-code attempts and
// send limits (tokens/provider), lockout counters and
// single-use verification and reset tokens (profile), and the SAML
// assertion-replay cache (sso).
//
// The tests start a throwaway PostgreSQL cluster (store/postgres/pgtest).
// When no server is installed they skip with a visible message, unless
// GATEHOUSE_TEST_REQUIRE_POSTGRES is set (scripts/test.sh sets it): then a
// missing server fails the package.
package multiinstance
