// Package password hashes and verifies user passwords with argon2id
// (RFC 9106), the hash OWASP recommends, and verifies the legacy Crafter
// Profile format so an imported Crafter database migrates at each user's
// next successful login.
//
// Hashes are PHC strings that carry their parameters:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// (salt and hash in unpadded standard base64). Verify reports that a hash
// should be replaced when it is in the legacy format or was made with
// other parameters than the hasher's current ones.
//
// Each argon2id computation holds Params.Memory KiB (19 MiB by default), so
// a Hasher admits at most a fixed number of computations at once and
// answers identity.ErrBusy when a caller would wait longer than MaxWait:
// a burst of login attempts is refused (HTTP 429) instead of exhausting
// memory.
package password

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/gatehouse-id/gatehouse/identity"
)

// Params are argon2id cost parameters.
type Params struct {
	// Memory in KiB.
	Memory uint32
	// Time is the number of passes.
	Time uint32
	// Threads is the degree of parallelism.
	Threads uint8
	// SaltLen and KeyLen are in bytes.
	SaltLen uint32
	KeyLen  uint32
}

// DefaultParams returns the OWASP minimum for argon2id: m=19 MiB, t=2, p=1,
// with a 16-byte salt and a 32-byte key.
func DefaultParams() Params {
	return Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// MaxPasswordLen is the longest password accepted (in bytes). NIST asks
// for at least 64 characters; the bound keeps hashing cost predictable.
const MaxPasswordLen = 1024

// ErrMalformed is returned by Verify for a stored hash it cannot parse.
var ErrMalformed = errors.New("password: malformed hash")

// Hasher is an identity.PasswordHasher. It is safe for concurrent use.
type Hasher struct {
	params  Params
	sem     chan struct{}
	maxWait time.Duration
	rand    io.Reader
	dummy   string
}

// Option configures a Hasher.
type Option func(*Hasher)

// WithParams sets the argon2id parameters of new hashes. Values below
// the OWASP minimum are raised to it.
func WithParams(p Params) Option {
	return func(h *Hasher) {
		d := DefaultParams()
		if p.Memory < d.Memory {
			p.Memory = d.Memory
		}
		if p.Time < 1 {
			p.Time = d.Time
		}
		if p.Threads < 1 {
			p.Threads = d.Threads
		}
		if p.SaltLen < 16 {
			p.SaltLen = d.SaltLen
		}
		if p.KeyLen < 16 {
			p.KeyLen = d.KeyLen
		}
		h.params = p
	}
}

// WithConcurrency sets how many hashes may be computed at once
// (default: the number of CPUs).
func WithConcurrency(n int) Option {
	return func(h *Hasher) {
		if n > 0 {
			h.sem = make(chan struct{}, n)
		}
	}
}

// WithMaxWait sets how long a caller may wait for a hashing slot before
// getting identity.ErrBusy (default 2 s). Zero means do not wait at all.
func WithMaxWait(d time.Duration) Option {
	return func(h *Hasher) {
		if d >= 0 {
			h.maxWait = d
		}
	}
}

// WithRand sets the source of salts (default crypto/rand).
func WithRand(r io.Reader) Option { return func(h *Hasher) { h.rand = r } }

// New returns a Hasher with the OWASP parameters unless options say otherwise.
func New(opts ...Option) *Hasher {
	h := &Hasher{params: DefaultParams(), maxWait: 2 * time.Second, rand: rand.Reader}
	for _, o := range opts {
		o(h)
	}
	if h.sem == nil {
		h.sem = make(chan struct{}, runtime.NumCPU())
	}
	// A fixed hash with the current parameters for DummyVerify; the salt
	// is public and the password is not one anybody can send (NUL bytes
	// never pass validation), so it matches nothing.
	salt := make([]byte, h.params.SaltLen)
	h.dummy = encode(h.params, salt, make([]byte, h.params.KeyLen))
	return h
}

// Params returns the parameters used for new hashes.
func (h *Hasher) Params() Params { return h.params }

// acquire takes a hashing slot, waiting at most maxWait.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	default:
	}
	if h.maxWait == 0 {
		return fmt.Errorf("password hasher: %w", identity.ErrBusy)
	}
	t := time.NewTimer(h.maxWait)
	defer t.Stop()
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-t.C:
		return fmt.Errorf("password hasher: %w", identity.ErrBusy)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.sem }

// Hash returns the PHC string of password with a fresh salt.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxPasswordLen {
		return "", identity.Invalid("password", "must be at most 1024 bytes")
	}
	salt := make([]byte, h.params.SaltLen)
	if _, err := io.ReadFull(h.rand, salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.Memory, h.params.Threads, h.params.KeyLen)
	return encode(h.params, salt, key), nil
}

// Verify checks password against encoded (argon2id PHC or legacy Crafter
// "base64(hash)|base64(salt)"). rehash is true when the password matched
// and encoded should be replaced by a fresh Hash.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	if len(password) > MaxPasswordLen {
		return false, false, nil
	}
	if IsCrafterHash(encoded) {
		ok, err := h.verifyCrafter(ctx, password, encoded)
		return ok, ok, err
	}
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	// Refuse parameters that would let a stored hash exhaust memory.
	if p.Memory > 4*1024*1024 || p.Time > 64 || p.KeyLen > 1024 {
		return false, false, ErrMalformed
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	h.release()
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false, nil
	}
	cur := h.params
	rehash = p.Memory != cur.Memory || p.Time != cur.Time || p.Threads != cur.Threads ||
		uint32(len(salt)) != cur.SaltLen || p.KeyLen != cur.KeyLen
	return true, rehash, nil
}

// DummyVerify spends the time of one Verify with the current parameters
// and matches nothing: call it for unknown usernames so that they cost the
// same as wrong passwords.
func (h *Hasher) DummyVerify(ctx context.Context, password string) error {
	_, _, err := h.Verify(ctx, password+"\x00", h.dummy)
	return err
}

func encode(p Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

func decode(s string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, ErrMalformed
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, nil, nil, ErrMalformed
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return p, nil, nil, ErrMalformed
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return p, nil, nil, ErrMalformed
			}
			p.Threads = uint8(n)
		default:
			return p, nil, nil, ErrMalformed
		}
	}
	if p.Memory == 0 || p.Time == 0 || p.Threads == 0 {
		return p, nil, nil, ErrMalformed
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return p, nil, nil, ErrMalformed
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 {
		return p, nil, nil, ErrMalformed
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// crafterRounds is the number of extra SHA-256 rounds of Crafter's
// SimpleDigest.
const crafterRounds = 1000

// IsCrafterHash reports whether s has the legacy Crafter Profile form
// base64(hash)|base64(salt).
func IsCrafterHash(s string) bool {
	h, salt, ok := strings.Cut(s, "|")
	if !ok || strings.HasPrefix(s, "$") {
		return false
	}
	hb, err1 := base64.StdEncoding.DecodeString(h)
	_, err2 := base64.StdEncoding.DecodeString(salt)
	return err1 == nil && err2 == nil && len(hb) == sha256.Size
}

// CrafterHash computes Crafter Profile's legacy hash of password with salt:
// SHA-256 of salt||password, then 1000 more SHA-256 rounds, encoded as
// base64(hash)|base64(salt). It exists to verify and to import; new hashes
// use argon2id.
func CrafterHash(password string, salt []byte) string {
	d := sha256.New()
	d.Write(salt)
	d.Write([]byte(password))
	sum := d.Sum(nil)
	for i := 0; i < crafterRounds; i++ {
		s := sha256.Sum256(sum)
		sum = s[:]
	}
	return base64.StdEncoding.EncodeToString(sum) + "|" + base64.StdEncoding.EncodeToString(salt)
}

func (h *Hasher) verifyCrafter(ctx context.Context, password, encoded string) (bool, error) {
	_, saltB64, _ := strings.Cut(encoded, "|")
	salt, err := base64.StdEncoding.DecodeString(saltB64)
	if err != nil {
		return false, ErrMalformed
	}
	// The legacy hash is cheap; spend an argon2id slot anyway so a
	// legacy account is not an oracle that answers faster.
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	argon2.IDKey([]byte(password), salt, h.params.Time, h.params.Memory, h.params.Threads, h.params.KeyLen)
	h.release()
	got := CrafterHash(password, salt)
	return subtle.ConstantTimeCompare([]byte(got), []byte(encoded)) == 1, nil
}

var _ identity.PasswordHasher = (*Hasher)(nil)
