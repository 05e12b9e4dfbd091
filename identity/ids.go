package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/google/uuid"
)

// NewID returns a new time-ordered UUID (version 7) read from r, so records
// created later sort after earlier ones and "most recent first" is a reverse
// key scan.
func NewID(r io.Reader, now time.Time) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[6:]); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	ms := uint64(now.UnixMilli())
	b[0] = byte(ms >> 40)
	b[1] = byte(ms >> 32)
	b[2] = byte(ms >> 24)
	b[3] = byte(ms >> 16)
	b[4] = byte(ms >> 8)
	b[5] = byte(ms)
	b[6] = 0x70 | (b[6] & 0x0f) // version 7
	b[8] = 0x80 | (b[8] & 0x3f) // RFC 4122 variant
	return uuid.UUID(b).String(), nil
}

// NewObjectID returns a 24-hex-digit identifier shaped like a MongoDB
// ObjectId (4 bytes of seconds, 8 random bytes), which the Crafter Profile
// face shows as profile and tenant ids because its clients parse ObjectIds.
func NewObjectID(r io.Reader, now time.Time) (string, error) {
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(now.Unix()))
	if _, err := io.ReadFull(r, b[4:]); err != nil {
		return "", fmt.Errorf("random object id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// IsObjectID reports whether s has the shape of an ObjectId (24 hex digits).
func IsObjectID(s string) bool {
	if len(s) != 24 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// NewSecret returns a random secret of 256 bits from r, base64url-encoded
// without padding (43 characters).
func NewSecret(r io.Reader) (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("random secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// HashSecret returns the hex SHA-256 of a high-entropy random secret, the
// form in which tickets, tokens and API secrets are stored and looked up.
// (Passwords, which people choose, use a slow hash instead.)
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// SecretMatches compares a presented secret with a stored SHA-256 hash in
// constant time.
func SecretMatches(secret, hash string) bool {
	return subtle.ConstantTimeCompare([]byte(HashSecret(secret)), []byte(hash)) == 1
}

// DefaultRand is the source of randomness used when none is injected.
func DefaultRand() io.Reader { return rand.Reader }

// idSource makes UUID v7 ids that strictly increase within one process,
// even within one millisecond (RFC 9562 §6.2 method 1: a 12-bit counter in
// rand_a), so "most recent first" holds for records created in a burst.
type idSource struct {
	mu     sync.Mutex
	lastMs int64
	seq    uint16
}

func (g *idSource) next(r io.Reader, now time.Time) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[8:]); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	ms := now.UnixMilli()
	g.mu.Lock()
	if ms <= g.lastMs {
		ms = g.lastMs
		g.seq++
		if g.seq > 0x0fff {
			ms++
			g.seq = 0
		}
	} else {
		g.seq = 0
	}
	g.lastMs = ms
	seq := g.seq
	g.mu.Unlock()
	u := uint64(ms)
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(u>>40), byte(u>>32), byte(u>>24), byte(u>>16), byte(u>>8), byte(u)
	b[6] = 0x70 | byte(seq>>8)
	b[7] = byte(seq)
	b[8] = 0x80 | (b[8] & 0x3f)
	return uuid.UUID(b).String(), nil
}
