package provider

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/google/uuid"
)

// The provider's records live in the account-wide space of the store (each
// carries its environment) and are found by the SHA-256 of the secret that
// names them (codes and refresh tokens: by their time and that hash, see
// secretKey); raw secrets are never stored.
var (
	authRequests = kv.Records[authRequest]{Kind: "oidc-authreq"}
	codes        = kv.Records[codeRecord]{Kind: "oidc-code"}
	refreshes    = kv.Records[refreshRecord]{Kind: "oidc-refresh"}
	families     = kv.Records[familyRecord]{Kind: "oidc-family"}
	accessRecs   = kv.Records[accessRecord]{Kind: "oidc-access"}
	sessions     = kv.Records[sessionRecord]{Kind: "oidc-session"}
	magicLinks   = kv.Records[magicLinkRecord]{Kind: "oidc-magiclink"}
)

// Flavors of authorization requests: they decide the callback parameters.
const (
	flavorOIDC     = "oidc"     // standard OIDC client
	flavorCryptr   = "cryptr"   // Cryptr era-1 / gateway front ends
	flavorHeadless = "headless" // POST /api/v2/magic-link-challenge, /api/v2/sso-*-challenges
)

// authRequest is a pending authorization request, validated, waiting for
// the user to authenticate.
type authRequest struct {
	Env         identity.Environment `json:"env"`
	OrgDomain   string               `json:"org_domain,omitempty"`
	ClientID    string               `json:"client_id"`
	RedirectURI string               `json:"redirect_uri"`
	Scopes      []string             `json:"scopes,omitempty"`
	State       string               `json:"state,omitempty"`
	Nonce       string               `json:"nonce,omitempty"`
	Challenge   string               `json:"code_challenge,omitempty"`
	Prompt      string               `json:"prompt,omitempty"`
	MaxAge      int                  `json:"max_age"`
	LoginHint   string               `json:"login_hint,omitempty"`
	Locale      string               `json:"locale"`
	SignType    string               `json:"sign_type,omitempty"`
	Flavor      string               `json:"flavor"`
	// Era1 marks Cryptr's era-1 sign-in pages, whose clients redeem the
	// code at the era-1 token URL: their callback has no request_id (a
	// request_id sends Cryptr's SPA to the universal token URL).
	Era1  bool   `json:"era1,omitempty"`
	IdPID string `json:"idp_id,omitempty"`
	// SSOChallenge marks a headless SSO challenge (POST
	// /api/v2/sso-saml-challenges): only a sign-in through the
	// connection IdPID completes it, never the hosted login page.
	SSOChallenge  bool      `json:"sso_challenge,omitempty"`
	RequestID     string    `json:"request_id"`
	FindOrCreate  bool      `json:"find_or_create,omitempty"`
	MagicEmail    string    `json:"magic_email,omitempty"`
	MagicCodeHash string    `json:"magic_code_hash,omitempty"`
	MagicExpires  time.Time `json:"magic_expires,omitempty"`
	MagicAttempts int       `json:"magic_attempts,omitempty"`
	Done          bool      `json:"done,omitempty"`
	ExpiresAt     time.Time `json:"expires_at"`
}

// codeRecord is an issued authorization code.
type codeRecord struct {
	Env             identity.Environment `json:"env"`
	OrgDomain       string               `json:"org_domain"`
	ClientID        string               `json:"client_id"`
	RedirectURI     string               `json:"redirect_uri"`
	Scopes          []string             `json:"scopes,omitempty"`
	Nonce           string               `json:"nonce,omitempty"`
	State           string               `json:"state,omitempty"`
	Challenge       string               `json:"code_challenge,omitempty"`
	AuthorizationID string               `json:"authorization_id"`
	RequestID       string               `json:"request_id,omitempty"`
	Flavor          string               `json:"flavor"`
	UserID          string               `json:"user_id"`
	AuthTime        time.Time            `json:"auth_time"`
	IPS             string               `json:"ips,omitempty"`
	SCI             string               `json:"sci,omitempty"`
	ExpiresAt       time.Time            `json:"expires_at"`
	Used            bool                 `json:"used,omitempty"`
	FamilyID        string               `json:"family_id,omitempty"`
	AccessJTI       string               `json:"access_jti,omitempty"`
}

// refreshRecord is a refresh token (found by the SHA-256 of its value).
type refreshRecord struct {
	FamilyID  string               `json:"family_id"`
	Env       identity.Environment `json:"env"`
	OrgDomain string               `json:"org_domain"`
	ClientID  string               `json:"client_id"`
	UserID    string               `json:"user_id"`
	Scopes    []string             `json:"scopes,omitempty"`
	AuthTime  time.Time            `json:"auth_time"`
	IPS       string               `json:"ips,omitempty"`
	SCI       string               `json:"sci,omitempty"`
	Nonce     string               `json:"nonce,omitempty"`
	ExpiresAt time.Time            `json:"expires_at"`
	UsedAt    *time.Time           `json:"used_at,omitempty"`
	// OIDC: issued to a standard client (ID token aud = client_id);
	// RedirectURI is the audience of last resort.
	OIDC        bool   `json:"oidc,omitempty"`
	RedirectURI string `json:"redirect_uri,omitempty"`
	// Successor is the next refresh token sealed under a key derived from
	// this token's raw value, so only a holder of this token can read it
	// during the grace window; the store alone cannot.
	Successor []byte `json:"successor,omitempty"`
}

// familyRecord is one rotation chain of refresh tokens and the access
// tokens issued along it.
type familyRecord struct {
	ClientID  string     `json:"client_id"`
	UserID    string     `json:"user_id"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	// Current and Previous are identity.HashSecret of the family's newest
	// refresh token and of the one it replaced (honoured during the
	// refresh grace window): an identity.SessionRef that names either one
	// keeps the family (endUserSessions), although the tokens' own
	// records are keyed by time and hash (secretKey).
	Current  string `json:"current,omitempty"`
	Previous string `json:"previous,omitempty"`
}

// names reports whether hash (identity.HashSecret of a refresh token) is
// the family's newest token or the one it replaced.
func (f familyRecord) names(hash string) bool {
	return hash != "" && (subtle.ConstantTimeCompare([]byte(hash), []byte(f.Current)) == 1 ||
		subtle.ConstantTimeCompare([]byte(hash), []byte(f.Previous)) == 1)
}

// accessRecord links an access token (by jti) to its family, or marks it
// revoked.
type accessRecord struct {
	FamilyID  string    `json:"family_id,omitempty"`
	ClientID  string    `json:"client_id"`
	Revoked   bool      `json:"revoked,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
}

// sessionRecord is a browser session.
type sessionRecord struct {
	Env       identity.Environment `json:"env"`
	OrgDomain string               `json:"org_domain"`
	UserID    string               `json:"user_id"`
	AuthTime  time.Time            `json:"auth_time"`
	IPS       string               `json:"ips,omitempty"`
	SCI       string               `json:"sci,omitempty"`
	// SSONameID and SSOSessionIndex name the IdP session of an SSO
	// sign-in, for single logout.
	SSONameID       string    `json:"sso_name_id,omitempty"`
	SSOSessionIndex string    `json:"sso_session_index,omitempty"`
	ExpiresAt       time.Time `json:"expires_at"`
}

// magicLinkRecord is an unused magic link.
type magicLinkRecord struct {
	RequestHash string    `json:"request_hash"`
	Email       string    `json:"email"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// put stores v and schedules its removal at exp.
func put[T any](tx identity.Tx, recs kv.Records[T], id string, v T, exp time.Time) error {
	if err := recs.Put(tx, id, v); err != nil {
		return err
	}
	return kv.ScheduleExpiry(tx, exp, recs.Key(id))
}

// newSecret returns 256 random bits, base64url.
func (p *Provider) newSecret() (string, error) { return identity.NewSecret(p.opts.Rand) }

// newUUID returns a random UUID (v4) for public identifiers.
func (p *Provider) newUUID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(p.opts.Rand, b[:]); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// newTimeUUID returns a time-ordered UUID (v7: 48 bits of milliseconds,
// 74 random bits) for ids that are not secrets, so that records made
// together sit together in the store's key order.
func (p *Provider) newTimeUUID() (string, error) {
	id, err := uuid.NewV7FromReader(p.opts.Rand)
	if err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return id.String(), nil
}

// newDigits returns a uniformly random 6-digit code.
func (p *Provider) newDigits() (string, error) {
	n, err := rand.Int(p.opts.Rand, big.NewInt(1000000))
	if err != nil {
		return "", fmt.Errorf("random code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// successorKey derives the key that seals a refresh token's successor.
func successorKey(raw string) []byte {
	sum := sha256.Sum256([]byte("gatehouse refresh successor\x00" + raw))
	return sum[:]
}

func sealSuccessor(r io.Reader, raw, successor string) ([]byte, error) {
	block, err := aes.NewCipher(successorKey(raw))
	if err != nil {
		return nil, err
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := io.ReadFull(r, nonce); err != nil {
		return nil, err
	}
	return g.Seal(nonce, nonce, []byte(successor), nil), nil
}

func openSuccessor(raw string, sealed []byte) (string, error) {
	block, err := aes.NewCipher(successorKey(raw))
	if err != nil {
		return "", err
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		return "", err
	}
	if len(sealed) < g.NonceSize() {
		return "", errors.New("sealed successor too short")
	}
	out, err := g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], nil)
	return string(out), err
}

// pkceS256 computes the S256 challenge of a verifier.
func pkceS256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// rateKind is the record kind of the provider's per-address rate
// counters (kv.Window).
const rateKind = "oidc-rate"

// Authorization codes and refresh tokens are ordered secrets: 256 bits,
// base64url (43 characters, like newSecret), whose first 48 bits are the
// time they were made in Unix milliseconds and whose other 208 are
// random. Their records are keyed by that time followed by the SHA-256 of
// the whole token (secretKey), so the records that one commit writes (a
// grant's new refresh token, the code it redeems, made a moment before)
// sit together at the end of their key range instead of on random pages
// of the store: fewer pages written per commit. The time is no secret
// (the tokens issued with them carry it as iat), and 208 random bits
// leave a token as unguessable as any other secret here.
const (
	orderedSecretLen = 43 // base64url characters of 32 bytes
	orderedTimeLen   = 8  // base64url characters of the 6-byte time
)

// newOrderedSecret returns a new ordered secret.
func (p *Provider) newOrderedSecret() (string, error) {
	var b [32]byte
	binary.BigEndian.PutUint64(b[:8], uint64(max(p.now().UnixMilli(), 0))<<16)
	if _, err := io.ReadFull(p.opts.Rand, b[6:]); err != nil {
		return "", fmt.Errorf("random secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// secretKey returns the record key of a code or refresh token raw (a
// refresh token is "org.secret": its time is read from the secret): the
// hex of its time, then identity.HashSecret of the whole token. A value
// without an ordered secret's shape gets the bare hash.
func secretKey(raw string) string {
	s := raw[strings.LastIndexByte(raw, '.')+1:]
	if len(s) != orderedSecretLen {
		return identity.HashSecret(raw)
	}
	var t [6]byte
	if n, err := base64.RawURLEncoding.Decode(t[:], []byte(s[:orderedTimeLen])); err != nil || n != len(t) {
		return identity.HashSecret(raw)
	}
	return hex.EncodeToString(t[:]) + identity.HashSecret(raw)
}

// getBySecret reads the record of the code or refresh token raw: under
// its key (secretKey), else under the bare hash that tokens made before
// ordered secrets are stored by. It returns the key it was found under,
// which names the record from then on (updates, grant index).
func getBySecret[T any](tx kv.ReadTx, recs kv.Records[T], raw string) (T, string, error) {
	key := secretKey(raw)
	v, err := recs.Get(tx, key)
	if legacy := identity.HashSecret(raw); errors.Is(err, identity.ErrNotFound) && legacy != key {
		key = legacy
		v, err = recs.Get(tx, key)
	}
	return v, key, err
}
