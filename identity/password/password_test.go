package password

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

// fast keeps tests quick: the minimum is enforced by WithParams, so tests
// construct the parameters directly.
func fast() *Hasher {
	h := New()
	h.params = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	return h
}

const crafterAdmin = "4rQ8a67wAk1GRwIqHix5kYw1MORa49o83Y7zXQhBqT0=|j4vsWtPbYjO3LfSiQcnGlw=="

func TestCrafterVector(t *testing.T) {
	h := fast()
	ctx := context.Background()
	tests := []struct {
		pw         string
		ok, rehash bool
	}{
		{"admin", true, true},
		{"Admin", false, false},
		{"", false, false},
		{"admin ", false, false},
	}
	for _, tc := range tests {
		ok, rehash, err := h.Verify(ctx, tc.pw, crafterAdmin)
		if err != nil || ok != tc.ok || rehash != tc.rehash {
			t.Errorf("Verify(%q) = %v,%v,%v; want %v,%v", tc.pw, ok, rehash, err, tc.ok, tc.rehash)
		}
	}
	if !IsCrafterHash(crafterAdmin) || IsCrafterHash("$argon2id$v=19$x|y") {
		t.Error("IsCrafterHash misclassifies")
	}
}

func TestHashVerifyRoundTrip(t *testing.T) {
	h := fast()
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("unexpected encoding %q", enc)
	}
	enc2, _ := h.Hash(ctx, "correct horse battery staple")
	if enc == enc2 {
		t.Error("two hashes of one password are equal: salt not random")
	}
	for _, tc := range []struct {
		pw string
		ok bool
	}{{"correct horse battery staple", true}, {"correct horse battery stapl", false}, {"", false},
		{strings.Repeat("x", MaxPasswordLen+1), false}} {
		ok, rehash, err := h.Verify(ctx, tc.pw, enc)
		if err != nil || ok != tc.ok || rehash {
			t.Errorf("Verify(%.20q) = %v,%v,%v; want %v,false,nil", tc.pw, ok, rehash, err, tc.ok)
		}
	}
	// Stronger parameters make old hashes ask for a rehash.
	h2 := fast()
	h2.params.Time = 2
	if ok, rehash, err := h2.Verify(ctx, "correct horse battery staple", enc); !ok || !rehash || err != nil {
		t.Errorf("after a parameter change: %v,%v,%v; want true,true,nil", ok, rehash, err)
	}
}

func TestDefaultsAreOWASP(t *testing.T) {
	p := New(WithParams(Params{Memory: 1, Time: 0})).Params()
	if p.Memory < 19456 || p.Time < 1 || p.Threads < 1 || p.SaltLen < 16 {
		t.Fatalf("parameters below the OWASP minimum: %+v", p)
	}
	enc, err := New().Hash(context.Background(), "pw")
	if err != nil || !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("default hash %q, %v", enc, err)
	}
}

func TestMalformed(t *testing.T) {
	h := fast()
	for _, enc := range []string{"", "$argon2id$", "$argon2i$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=999999999,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=1,p=0$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
		"plain", "a|b"} {
		ok, _, err := h.Verify(context.Background(), "pw", enc)
		if ok || !errors.Is(err, ErrMalformed) {
			t.Errorf("Verify(%q) = %v, %v; want false, ErrMalformed", enc, ok, err)
		}
	}
}

func TestBusy(t *testing.T) {
	h := fast()
	h.sem = make(chan struct{}, 1)
	h.maxWait = 0
	h.sem <- struct{}{} // the only slot is taken
	if _, err := h.Hash(context.Background(), "pw"); !errors.Is(err, identity.ErrBusy) {
		t.Fatalf("Hash with a full limiter: %v, want ErrBusy", err)
	}
	if _, _, err := h.Verify(context.Background(), "admin", crafterAdmin); !errors.Is(err, identity.ErrBusy) {
		t.Fatalf("Verify with a full limiter: %v, want ErrBusy", err)
	}
	h.maxWait = 20 * time.Millisecond
	go func() { time.Sleep(5 * time.Millisecond); h.release() }()
	if _, err := h.Hash(context.Background(), "pw"); err != nil {
		t.Fatalf("Hash after a slot frees: %v", err)
	}
}

func TestConcurrentLimit(t *testing.T) {
	h := fast()
	h.sem = make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.Hash(context.Background(), "pw"); err != nil {
				t.Error(err)
			}
			if len(h.sem) > 2 {
				t.Error("limiter exceeded")
			}
		}()
	}
	wg.Wait()
}

func TestDummyVerifyMatchesNothing(t *testing.T) {
	h := fast()
	if err := h.DummyVerify(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := h.Verify(context.Background(), "", h.dummy); ok {
		t.Fatal("the dummy hash matches the empty password")
	}
}

func BenchmarkHashDefault(b *testing.B) {
	h := New()
	for b.Loop() {
		if _, err := h.Hash(context.Background(), "correct horse"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyDefault(b *testing.B) {
	h := New()
	enc, _ := h.Hash(context.Background(), "correct horse")
	for b.Loop() {
		h.Verify(context.Background(), "correct horse", enc)
	}
}

func BenchmarkDummyVerify(b *testing.B) {
	h := New()
	for b.Loop() {
		h.DummyVerify(context.Background(), "correct horse")
	}
}

func BenchmarkVerifyCrafter(b *testing.B) {
	h := New()
	for b.Loop() {
		h.Verify(context.Background(), "admin", crafterAdmin)
	}
}
