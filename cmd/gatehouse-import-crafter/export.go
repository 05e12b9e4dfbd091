package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/password"
	"github.com/gatehouse-id/gatehouse/profile"
)

// Collections of Crafter Profile's database, as the report names them.
const (
	collTenant  = "tenant"
	collProfile = "profile"
	collToken   = "accesstoken"
)

// export is what the files hold: the records that parsed, and a problem
// for every one that did not.
type export struct {
	tenants  []tenantRec
	profiles []profileRec
	tokens   []tokenRec
	problems []problem
}

type tenantRec struct {
	id string
	in profile.TenantInput
}

type profileRec struct {
	id, tenant string
	user       identity.User
}

type tokenRec struct {
	id string
	in profile.AccessToken
}

// problem is one record that was not imported.
type problem struct {
	coll, id string
	// status is "invalid", "duplicate", "unknown tenant", ...
	status string
	reason string
}

// readExport reads the files named by cfg.
func readExport(cfg *config) (*export, error) {
	exp := &export{}
	for _, f := range []struct {
		path, coll string
		add        func(doc map[string]any) (id string, err error)
	}{
		{cfg.tenants, collTenant, exp.addTenant},
		{cfg.tokens, collToken, exp.addToken},
		{cfg.profiles, collProfile, exp.addProfile},
	} {
		if f.path == "" {
			continue
		}
		if err := readFile(f.path, func(where string, raw []byte) {
			doc, err := decodeDoc(raw)
			id := where
			if err == nil {
				var docid string
				docid, err = f.add(doc)
				switch {
				case docid == "":
				case f.coll == collToken:
					id = tokenName(docid) // its id is a secret
				default:
					id = docid
				}
			}
			if err != nil {
				exp.problems = append(exp.problems, problem{coll: f.coll, id: id, status: "invalid", reason: err.Error()})
			}
		}); err != nil {
			return nil, fmt.Errorf("%s: %w", f.path, err)
		}
	}
	return exp, nil
}

// maxDoc bounds one document (MongoDB's own limit is 16 MiB of BSON).
const maxDoc = 64 << 20

// readFile calls fn with each document of a mongoexport file: one per
// line, or the elements of one JSON array (--jsonArray). where names the
// document for a report when it has no usable _id.
func readFile(path string, fn func(where string, raw []byte)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	first, err := peekNonSpace(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty collection
		}
		return err
	}
	if first == '[' {
		d := json.NewDecoder(io.LimitReader(r, 1<<40))
		if _, err := d.Token(); err != nil {
			return err
		}
		for n := 1; d.More(); n++ {
			var raw json.RawMessage
			if err := d.Decode(&raw); err != nil {
				return fmt.Errorf("document %d: %w", n, err)
			}
			fn(fmt.Sprintf("document %d", n), raw)
		}
		return nil
	}
	for line := 1; ; line++ {
		raw, err := readLine(r)
		if len(bytes.TrimSpace(raw)) > 0 {
			fn(fmt.Sprintf("line %d", line), raw)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
	}
}

func peekNonSpace(r *bufio.Reader) (byte, error) {
	for {
		b, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		if b != ' ' && b != '\t' && b != '\r' && b != '\n' {
			return b, r.UnreadByte()
		}
	}
}

// readLine reads one line of at most maxDoc bytes.
func readLine(r *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxDoc {
			return nil, fmt.Errorf("document longer than %d bytes", maxDoc)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return buf, err
	}
}

// docID is a document's _id: an ObjectId (tenant, profile) or a string
// (access token).
func docID(doc map[string]any) (string, error) {
	switch x := doc["_id"].(type) {
	case string:
		if x != "" {
			return x, nil
		}
	case nil:
		return "", errors.New("the document has no _id")
	}
	return "", errors.New("_id must be an ObjectId or a string")
}

func (e *export) addTenant(doc map[string]any) (string, error) {
	id, err := docID(doc)
	if err != nil {
		return "", err
	}
	f := &fields{doc: doc}
	in := profile.TenantInput{
		Name:              f.str("name"),
		VerifyNewProfiles: f.boolean("verifyNewProfiles", false),
		AvailableRoles:    f.strings("availableRoles"),
		SSOEnabled:        f.boolean("ssoEnabled", false),
	}
	if _, ok := doc["availableRoles"]; !ok {
		in.AvailableRoles = f.strings("roles") // Crafter Profile before 4.0
	}
	cleanse := f.boolean("cleanseAttributes", true)
	in.CleanseAttributes = &cleanse
	for i, d := range f.objects("attributeDefinitions") {
		df := &fields{doc: d}
		def := profile.AttributeDefinition{Name: df.str("name"), Metadata: df.object("metadata")}
		if v, ok := d["defaultValue"]; ok {
			def.DefaultValue = attrValue(v)
		}
		for _, p := range df.objects("permissions") {
			pf := &fields{doc: p}
			def.Permissions = append(def.Permissions, profile.AttributePermission{
				Application: pf.str("application"), AllowedActions: pf.strings("allowedActions")})
			if pf.err != nil {
				df.err = pf.err
			}
		}
		if df.err != nil {
			return id, fmt.Errorf("attributeDefinitions[%d]: %w", i, df.err)
		}
		in.AttributeDefinitions = append(in.AttributeDefinitions, def)
	}
	if f.err != nil {
		return id, f.err
	}
	if in.Name == "" {
		return id, errors.New("the tenant has no name")
	}
	e.tenants = append(e.tenants, tenantRec{id: id, in: in})
	return id, nil
}

func (e *export) addProfile(doc map[string]any) (string, error) {
	id, err := docID(doc)
	if err != nil {
		return "", err
	}
	if !identity.IsObjectID(id) {
		return id, errors.New("_id must be an ObjectId")
	}
	f := &fields{doc: doc}
	u := identity.User{
		ObjectID:     id,
		Username:     f.str("username"),
		PasswordHash: f.str("password"),
		Email:        f.str("email"),
		Verified:     f.boolean("verified", false),
		Enabled:      f.boolean("enabled", false),
		Roles:        f.strings("roles"),
	}
	if h := u.PasswordHash; h != "" && !password.IsCrafterHash(h) && !strings.HasPrefix(h, "$argon2id$") {
		return id, errors.New("password is not a Crafter Profile hash (base64(hash)|base64(salt))")
	}
	tenant := f.str("tenant")
	if t := f.date("createdOn"); t != nil {
		u.CreatedAt = *t
	}
	if t := f.date("lastModified"); t != nil {
		u.UpdatedAt = *t
	}
	if attrs := f.object("attributes"); attrs != nil {
		u.Attributes = attrValue(attrs).(map[string]any)
	}
	if f.err != nil {
		return id, f.err
	}
	if tenant == "" {
		return id, errors.New("the profile has no tenant")
	}
	e.profiles = append(e.profiles, profileRec{id: id, tenant: tenant, user: u})
	return id, nil
}

func (e *export) addToken(doc map[string]any) (string, error) {
	id, err := docID(doc)
	if err != nil {
		return "", err
	}
	f := &fields{doc: doc}
	in := profile.AccessToken{ID: id, Application: f.str("application"), Master: f.boolean("master", false)}
	for _, p := range f.objects("tenantPermissions") {
		pf := &fields{doc: p}
		in.TenantPermissions = append(in.TenantPermissions, profile.TenantPermission{
			Tenant: pf.str("tenant"), AllowedActions: pf.strings("allowedActions")})
		if pf.err != nil && f.err == nil {
			f.err = fmt.Errorf("tenantPermissions: %w", pf.err)
		}
	}
	if t := f.date("expiresOn"); t != nil {
		ms := t.Truncate(time.Millisecond).UnixMilli()
		in.ExpiresOn = &ms
	}
	if f.err != nil {
		return id, f.err
	}
	e.tokens = append(e.tokens, tokenRec{id: id, in: in})
	return id, nil
}
