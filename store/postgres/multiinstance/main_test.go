package multiinstance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/password"
	"github.com/gatehouse-id/gatehouse/internal/testkit"
	"github.com/gatehouse-id/gatehouse/store/postgres"
	"github.com/gatehouse-id/gatehouse/store/postgres/pgtest"
)

// requireEnv, when set to a non-empty value, turns a missing PostgreSQL
// server into a failure instead of a skip.
const requireEnv = "GATEHOUSE_TEST_REQUIRE_POSTGRES"

// server is the throwaway cluster TestMain starts; nil when PostgreSQL is
// not installed.
var server *pgtest.Cluster

// schemas numbers the schemas of fresh databases.
var schemas atomic.Int64

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := pgtest.Start(ctx, pgtest.Options{})
	cancel()
	switch {
	case errors.Is(err, pgtest.ErrNotInstalled) && os.Getenv(requireEnv) != "":
		fmt.Fprintf(os.Stderr, "store/postgres/multiinstance: %v and %s is set (%s)\n", err, requireEnv, pgtest.InstallHint)
		os.Exit(1)
	case errors.Is(err, pgtest.ErrNotInstalled):
		fmt.Fprintf(os.Stderr, "SKIP store/postgres/multiinstance: %v; these tests need it (%s)\n", err, pgtest.InstallHint)
	case err != nil:
		fmt.Fprintf(os.Stderr, "store/postgres/multiinstance: start a throwaway PostgreSQL: %v\n", err)
		os.Exit(1)
	}
	server = c
	code := m.Run()
	if c != nil {
		if err := c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "store/postgres/multiinstance: stop PostgreSQL: %v\n", err)
		}
	}
	os.Exit(code)
}

// newClock returns a settable clock shared by every service of both
// instances, as synchronized machine clocks would be.
func newClock() *testkit.Clock { return testkit.NewClock(time.Now().UTC().Truncate(time.Second)) }

// logCounter is a slog handler that counts the records with a given
// message, across both instances.
type logCounter struct {
	msg string
	n   *atomic.Int64
}

func (h logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h logCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.n.Add(1)
	}
	return nil
}
func (h logCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h logCounter) WithGroup(string) slog.Handler      { return h }

// countingHasher is a cheap argon2id hasher that counts the password
// checks of both instances.
type countingHasher struct {
	h       *password.Hasher
	verifys atomic.Int64
}

func newCountingHasher() *countingHasher {
	return &countingHasher{h: password.New(password.WithConcurrency(4), password.WithMaxWait(time.Minute),
		password.WithParams(password.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}))}
}

func (c *countingHasher) Hash(ctx context.Context, pw string) (string, error) {
	return c.h.Hash(ctx, pw)
}

func (c *countingHasher) Verify(ctx context.Context, pw, enc string) (bool, bool, error) {
	c.verifys.Add(1)
	return c.h.Verify(ctx, pw, enc)
}

// instance is one instance of the host program: its own connection pool
// and identity service on the shared database.
type instance struct {
	store *postgres.Store
	ids   *identity.Service
}

// setup configures a pair of instances.
type setup struct {
	logger *slog.Logger
	hasher identity.PasswordHasher
}

// pair opens two instances on a fresh schema of the shared cluster.
func pair(t *testing.T, clk *testkit.Clock, s setup) [2]*instance {
	t.Helper()
	if server == nil {
		t.Skipf("PostgreSQL server not installed; run %s to include these tests", pgtest.InstallHint)
	}
	if s.logger == nil {
		s.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	schema := fmt.Sprintf("mi%d", schemas.Add(1))
	// The instances of one deployment share its key-encryption key.
	kek := bytes.Repeat([]byte{0x5e}, 32)
	var out [2]*instance
	for i := range out {
		st, err := postgres.Open(context.Background(), server.URL("postgres"), postgres.WithSchema(schema), postgres.WithMaxConns(8))
		if err != nil {
			t.Fatalf("instance %d: Open: %v", i, err)
		}
		t.Cleanup(func() { _ = st.Close() })
		ids, err := identity.NewService(identity.Options{Store: st, Clock: clk.Now, Logger: s.logger,
			Hasher: s.hasher, AccountDomain: "acme-account", KeyEncryptionKey: kek})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = &instance{store: st, ids: ids}
	}
	return out
}

// race runs fn(inst, i) for i in [0, n) on n goroutines released together,
// alternating between instance 0 and instance 1.
func race(n int, fn func(inst, i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i%2, i)
		}()
	}
	close(start)
	wg.Wait()
}
