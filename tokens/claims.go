package tokens

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
)

// Claims are the claims of a Cryptr `ver: 1` token. Registered fields are
// typed; profile claims (ID tokens) and host-added claims are in Extra.
// Claims returned by a verifier are shared with its cache: treat them as
// read-only.
type Claims struct {
	Issuer   string   // iss: {BaseURL}/t/{domain}
	Subject  string   // sub: user id; API-key tokens: the credential id
	Audience Audience // aud: the application's origin
	ClientID string   // cid: the application's client_id (API-key tokens: credential id)
	Tenant   string   // tnt: organization (or account) domain
	Database string   // dbs: "sandbox" or "default"
	ID       string   // jti: UUID of the token
	Type     string   // jtt: access, openid or api_key
	Version  int      // ver: 1
	// Scopes is scp: a JSON array on user tokens (null when empty), a
	// space-separated string on API-key tokens.
	Scopes           []string
	Email            string // email
	IdentityProvider string // ips: "cryptr", or the SSO provider type
	SSOConnectionID  string // sci: SSO connection id, null otherwise
	// ApplicationMetadata is application_metadata ({} when empty).
	ApplicationMetadata map[string]any
	// ResourceOwnerMetadata is resource_owner_metadata (ID tokens; access
	// tokens only with Options.MetadataInAccessToken).
	ResourceOwnerMetadata map[string]any
	IssuedAt              int64 // iat, seconds
	Expiry                int64 // exp, seconds
	// ID-token claims.
	Nonce    string // nonce
	AtHash   string // at_hash
	CHash    string // c_hash
	SHash    string // s_hash
	AuthTime int64  // auth_time (0: absent)
	// Extra holds every other claim: OIDC profile claims, custom claims.
	// Keys that name a registered claim are ignored when signing.
	Extra map[string]any
}

// Audience is the aud claim. Cryptr writes one string (or null); a list of
// several values is written as a JSON array.
type Audience []string

// MarshalJSON writes null, a string, or an array.
func (a Audience) MarshalJSON() ([]byte, error) {
	switch len(a) {
	case 0:
		return []byte("null"), nil
	case 1:
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON reads null, a string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	aud, ok := audienceOf(v)
	if !ok {
		return fmt.Errorf("aud: unexpected %s", b)
	}
	*a = aud
	return nil
}

func audienceOf(v any) (Audience, bool) {
	switch t := v.(type) {
	case nil:
		return nil, true
	case string:
		return Audience{t}, true
	case []any:
		out := make(Audience, 0, len(t))
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// scopesOf reads scp: null, a space-separated string or an array of strings.
func scopesOf(v any) ([]string, bool) {
	switch t := v.(type) {
	case nil:
		return nil, true
	case string:
		return strings.Fields(t), true
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// Contains reports whether aud lists v.
func (a Audience) Contains(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

// ExpiresAt returns exp as a time.
func (c *Claims) ExpiresAt() time.Time { return time.Unix(c.Expiry, 0) }

// Environment returns the environment named by dbs.
func (c *Claims) Environment() (identity.Environment, error) {
	return identity.ParseEnvironment(c.Database)
}

// HasScope reports whether scp grants scope.
func (c *Claims) HasScope(scope string) bool {
	for _, s := range c.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// registered lists the claim names Claims types; Extra may not override them.
var registered = map[string]bool{
	"iss": true, "sub": true, "aud": true, "cid": true, "tnt": true, "dbs": true, "jti": true,
	"jtt": true, "ver": true, "scp": true, "email": true, "ips": true, "sci": true,
	"application_metadata": true, "resource_owner_metadata": true, "iat": true, "exp": true,
	"nonce": true, "at_hash": true, "c_hash": true, "s_hash": true, "auth_time": true,
}

// IsRegistered reports whether name is a claim the Claims type owns, which a
// ClaimsUpdater cannot set through Extra.
func IsRegistered(name string) bool { return registered[name] }

// jsonWriter writes one JSON object, key by key.
type jsonWriter struct {
	buf   bytes.Buffer
	first bool
	err   error
}

func (w *jsonWriter) key(k string) {
	if w.first {
		w.first = false
	} else {
		w.buf.WriteByte(',')
	}
	w.str(k)
	w.buf.WriteByte(':')
}

func (w *jsonWriter) str(s string) {
	if safeJSON(s) {
		w.buf.WriteByte('"')
		w.buf.WriteString(s)
		w.buf.WriteByte('"')
		return
	}
	b, _ := json.Marshal(s) // strings always encode
	w.buf.Write(b)
}

// safeJSON reports whether s needs no escaping (printable ASCII without
// quote, backslash, or HTML-sensitive characters).
func safeJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

func (w *jsonWriter) strOrNull(k, v string) {
	w.key(k)
	if v == "" {
		w.buf.WriteString("null")
	} else {
		w.str(v)
	}
}

func (w *jsonWriter) strIf(k, v string) {
	if v != "" {
		w.key(k)
		w.str(v)
	}
}

func (w *jsonWriter) num(k string, v int64) {
	w.key(k)
	var b [20]byte
	w.buf.Write(strconv.AppendInt(b[:0], v, 10))
}

func (w *jsonWriter) value(k string, v any) {
	if w.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		w.err = fmt.Errorf("claim %s: %w", k, err)
		return
	}
	w.key(k)
	w.buf.Write(b)
}

// MarshalJSON writes the claims in Cryptr's layout: registered claims in
// alphabetical order (as Cryptr's tokens show them), then Extra sorted by
// name. Which claims appear, and which are written null when empty,
// depends on Type: access tokens keep Cryptr's nulls (aud, cid, email, scp,
// sci, sub), ID tokens omit empty claims, API-key tokens carry scp as a
// space-separated string.
func (c *Claims) MarshalJSON() ([]byte, error) {
	w := &jsonWriter{first: true}
	w.buf.Grow(512)
	w.buf.WriteByte('{')
	apiKey := c.Type == TypeAPIKey
	access := c.Type == TypeAccess
	id := c.Type == TypeID
	if !apiKey {
		md := c.ApplicationMetadata
		if md == nil {
			w.key("application_metadata")
			w.buf.WriteString("{}")
		} else {
			w.value("application_metadata", md)
		}
	}
	if id {
		w.strIf("at_hash", c.AtHash)
	}
	switch {
	case access:
		w.key("aud")
		w.buf.Write(mustAud(c.Audience))
	case len(c.Audience) > 0:
		w.key("aud")
		w.buf.Write(mustAud(c.Audience))
	}
	if id && c.AuthTime != 0 {
		w.num("auth_time", c.AuthTime)
	}
	if id {
		w.strIf("c_hash", c.CHash)
	}
	if access || apiKey {
		w.strOrNull("cid", c.ClientID)
	} else {
		w.strIf("cid", c.ClientID)
	}
	w.strIf("dbs", c.Database)
	switch {
	case access:
		w.strOrNull("email", c.Email)
	case !apiKey:
		w.strIf("email", c.Email)
	}
	w.num("exp", c.Expiry)
	w.num("iat", c.IssuedAt)
	if !apiKey && (access || c.IdentityProvider != "") {
		w.strOrNull("ips", c.IdentityProvider)
	}
	w.str2("iss", c.Issuer)
	w.strIf("jti", c.ID)
	w.strIf("jtt", c.Type)
	if id {
		w.strIf("nonce", c.Nonce)
	}
	if c.ResourceOwnerMetadata != nil && !apiKey {
		w.value("resource_owner_metadata", c.ResourceOwnerMetadata)
	}
	if id {
		w.strIf("s_hash", c.SHash)
	}
	if !apiKey && (access || c.SSOConnectionID != "") {
		w.strOrNull("sci", c.SSOConnectionID)
	}
	switch {
	case apiKey:
		w.key("scp")
		w.str(strings.Join(c.Scopes, " "))
	case access:
		if len(c.Scopes) == 0 {
			w.key("scp")
			w.buf.WriteString("null")
		} else {
			w.value("scp", c.Scopes)
		}
	case len(c.Scopes) > 0:
		w.value("scp", c.Scopes)
	}
	if access || apiKey {
		w.strOrNull("sub", c.Subject)
	} else {
		w.strIf("sub", c.Subject)
	}
	w.strIf("tnt", c.Tenant)
	w.num("ver", int64(c.Version))
	if len(c.Extra) > 0 {
		names := make([]string, 0, len(c.Extra))
		for k := range c.Extra {
			if !registered[k] {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		for _, k := range names {
			w.value(k, c.Extra[k])
		}
	}
	w.buf.WriteByte('}')
	if w.err != nil {
		return nil, w.err
	}
	return w.buf.Bytes(), nil
}

func (w *jsonWriter) str2(k, v string) {
	w.key(k)
	w.str(v)
}

func mustAud(a Audience) []byte {
	b, _ := a.MarshalJSON() // strings always encode
	return b
}

// UnmarshalJSON reads claims; unknown claims go to Extra. Numbers must be
// integers where the format says so.
func (c *Claims) UnmarshalJSON(b []byte) error {
	// Fast path: only registered claims (access and API-key tokens).
	var w wireClaims
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err == nil && !dec.More() {
		if err := w.to(c); err == nil {
			return nil
		}
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	return c.fromMap(m)
}

// wireClaims decodes the registered claims in one pass.
type wireClaims struct {
	Iss                   string         `json:"iss"`
	Sub                   string         `json:"sub"`
	Aud                   any            `json:"aud"`
	Cid                   string         `json:"cid"`
	Tnt                   string         `json:"tnt"`
	Dbs                   string         `json:"dbs"`
	Jti                   string         `json:"jti"`
	Jtt                   string         `json:"jtt"`
	Ver                   int64          `json:"ver"`
	Scp                   any            `json:"scp"`
	Email                 string         `json:"email"`
	Ips                   string         `json:"ips"`
	Sci                   string         `json:"sci"`
	ApplicationMetadata   map[string]any `json:"application_metadata"`
	ResourceOwnerMetadata map[string]any `json:"resource_owner_metadata"`
	Iat                   int64          `json:"iat"`
	Exp                   int64          `json:"exp"`
	Nonce                 string         `json:"nonce"`
	AtHash                string         `json:"at_hash"`
	CHash                 string         `json:"c_hash"`
	SHash                 string         `json:"s_hash"`
	AuthTime              int64          `json:"auth_time"`
}

func (w *wireClaims) to(c *Claims) error {
	*c = Claims{Issuer: w.Iss, Subject: w.Sub, ClientID: w.Cid, Tenant: w.Tnt, Database: w.Dbs,
		ID: w.Jti, Type: w.Jtt, Version: int(w.Ver), Email: w.Email, IdentityProvider: w.Ips,
		SSOConnectionID: w.Sci, ApplicationMetadata: w.ApplicationMetadata,
		ResourceOwnerMetadata: w.ResourceOwnerMetadata, IssuedAt: w.Iat, Expiry: w.Exp,
		Nonce: w.Nonce, AtHash: w.AtHash, CHash: w.CHash, SHash: w.SHash, AuthTime: w.AuthTime}
	aud, ok := audienceOf(w.Aud)
	if !ok {
		return errors.New("aud has the wrong type")
	}
	c.Audience = aud
	scp, ok := scopesOf(w.Scp)
	if !ok {
		return errors.New("scp has the wrong type")
	}
	c.Scopes = scp
	return nil
}

func (c *Claims) fromMap(m map[string]any) error {
	*c = Claims{}
	var bad string
	str := func(k string) string {
		v, ok := m[k]
		if !ok || v == nil {
			return ""
		}
		s, ok := v.(string)
		if !ok {
			bad = k
		}
		return s
	}
	num := func(k string) int64 {
		v, ok := m[k]
		if !ok || v == nil {
			return 0
		}
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			bad = k
			return 0
		}
		return int64(f)
	}
	obj := func(k string) map[string]any {
		v, ok := m[k]
		if !ok || v == nil {
			return nil
		}
		o, ok := v.(map[string]any)
		if !ok {
			bad = k
		}
		return o
	}
	c.Issuer, c.Subject, c.ClientID = str("iss"), str("sub"), str("cid")
	c.Tenant, c.Database, c.ID, c.Type = str("tnt"), str("dbs"), str("jti"), str("jtt")
	c.Email, c.IdentityProvider, c.SSOConnectionID = str("email"), str("ips"), str("sci")
	c.Nonce, c.AtHash, c.CHash, c.SHash = str("nonce"), str("at_hash"), str("c_hash"), str("s_hash")
	c.IssuedAt, c.Expiry, c.AuthTime = num("iat"), num("exp"), num("auth_time")
	c.Version = int(num("ver"))
	c.ApplicationMetadata = obj("application_metadata")
	c.ResourceOwnerMetadata = obj("resource_owner_metadata")
	if aud, ok := audienceOf(m["aud"]); ok {
		c.Audience = aud
	} else {
		bad = "aud"
	}
	if scp, ok := scopesOf(m["scp"]); ok {
		c.Scopes = scp
	} else {
		bad = "scp"
	}
	if bad != "" {
		return fmt.Errorf("claim %s has the wrong type", bad)
	}
	for k, v := range m {
		if !registered[k] {
			if c.Extra == nil {
				c.Extra = map[string]any{}
			}
			c.Extra[k] = v
		}
	}
	return nil
}

// HalfHash is the OIDC hash of a token, code or state for at_hash, c_hash
// and s_hash: the left half of the hash that the signing algorithm uses
// (SHA-256 for RS256 and ES256, SHA-512 for EdDSA), base64url without
// padding (OpenID Connect Core §3.1.3.6, §3.3.2.11).
func HalfHash(alg, value string) (string, error) {
	var h hash.Hash
	switch alg {
	case RS256, ES256:
		h = sha256.New()
	case EdDSA:
		h = sha512.New()
	default:
		return "", fmt.Errorf("%w: %q", ErrUnsupportedAlg, alg)
	}
	h.Write([]byte(value))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2]), nil
}
