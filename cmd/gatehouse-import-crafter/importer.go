package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/password"
	"github.com/gatehouse-id/gatehouse/internal/kek"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/profile"
	"github.com/gatehouse-id/gatehouse/store"
)

// directory is a store opened with the identity core and the Crafter face
// over it.
type directory struct {
	store   identity.Store
	base    *identity.Service // production: organizations
	env     *identity.Service // the environment of profiles and tokens
	crafter *profile.Service
}

func openDirectory(ctx context.Context, url string, key []byte, env identity.Environment, account string, log *slog.Logger) (*directory, error) {
	st, err := store.Open(ctx, url)
	switch {
	case errors.Is(err, identity.ErrStoreLocked):
		return nil, fmt.Errorf("store %s is in use by another process: stop the Gatehouse server that uses it, then import: %w", redact(url), err)
	case err != nil:
		return nil, fmt.Errorf("cannot open store %s: %w", redact(url), err)
	}
	base, err := identity.NewService(identity.Options{Store: st, Environment: identity.Production,
		Hasher: password.New(), Logger: log, AccountDomain: account, KeyEncryptionKey: key})
	if err != nil {
		st.Close()
		if errors.Is(err, identity.ErrKeyEncryptionKey) {
			return nil, fmt.Errorf("store %s: wrong key-encryption key: %w", redact(url), err)
		}
		return nil, err
	}
	d := &directory{store: st, base: base, env: base}
	if env != identity.Production {
		if d.env, err = base.ForEnvironment(env); err != nil {
			st.Close()
			return nil, err
		}
	}
	if d.crafter, err = profile.New(profile.Options{Identity: base, SyncMail: true, Logger: log}); err != nil {
		st.Close()
		return nil, err
	}
	return d, nil
}

func (d *directory) Close() error {
	d.crafter.Close()
	return d.store.Close()
}

// redact hides a password in a store URL.
func redact(url string) string {
	if i := strings.Index(url, "://"); i >= 0 {
		if at := strings.LastIndexByte(url, '@'); at > i {
			if colon := strings.IndexByte(url[i+3:at], ':'); colon >= 0 {
				return url[:i+3+colon+1] + "***" + url[at:]
			}
		}
	}
	return url
}

// importer writes an export into a directory, or checks it (dry run)
// against the directory with a scratch directory for what would be new.
type importer struct {
	cfg     *config
	out     io.Writer
	target  *directory
	scratch *directory // dry run only
	env     identity.Environment
	// tenants maps a tenant name to the directory its profiles go to
	// (absent: unknown tenant) and why a tenant of the export is missing.
	tenants   map[string]*directory
	notLoaded map[string]string
	counts    map[string]*count
	problems  int
}

// count is the summary of one collection.
type count struct{ created, existing, rejected int }

func openImporter(ctx context.Context, cfg *config, log *slog.Logger, out io.Writer) (*importer, error) {
	imp := &importer{cfg: cfg, out: out, env: identity.Environment(cfg.environment),
		tenants: map[string]*directory{}, notLoaded: map[string]string{},
		counts: map[string]*count{collTenant: {}, collProfile: {}, collToken: {}}}
	url, key, keyFile := cfg.store, cfg.key, cfg.keyFile
	if cfg.dryRun {
		// A dry run creates neither a store nor a key file: an empty
		// store is what it would find, and a key file that does not exist
		// yet would hold a new key.
		if boltMissing(url) {
			url = "memory:"
		}
		if file := keyFilePath(url, key, keyFile); file != "" {
			if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
				if key, err = ephemeralKey(); err != nil {
					return nil, err
				}
				keyFile = ""
			}
		}
	}
	src, err := kek.Resolve(url, key, keyFile, log)
	if err != nil {
		return nil, err
	}
	if imp.target, err = openDirectory(ctx, url, src.Key, imp.env, cfg.accountDomain, log); err != nil {
		if src.Created {
			_ = os.Remove(src.File) // a key made for a store that did not open
		}
		return nil, err
	}
	if cfg.dryRun {
		mem, err := kek.Resolve("memory:", "", "", log)
		if err == nil {
			imp.scratch, err = openDirectory(ctx, "memory:", mem.Key, imp.env, cfg.accountDomain, log)
		}
		if err != nil {
			imp.target.Close()
			return nil, err
		}
	}
	return imp, nil
}

// keyFilePath is the key file kek.Resolve would read or create ("" for
// none).
func keyFilePath(url, key, keyFile string) string {
	switch {
	case key != "":
		return ""
	case keyFile != "":
		return keyFile
	}
	if scheme, rest := kek.StoreScheme(url); (scheme == "bolt" || scheme == "") && rest != "" {
		return strings.TrimPrefix(rest, "//") + kek.FileSuffix
	}
	return ""
}

// ephemeralKey is a new key in the form -key-encryption-key takes.
func ephemeralKey() (string, error) {
	k, err := seal.NewKey(nil)
	if err != nil {
		return "", err
	}
	return seal.EncodeKey(k), nil
}

// boltMissing reports whether url names a bolt file that does not exist.
func boltMissing(url string) bool {
	scheme, rest := kek.StoreScheme(url)
	if scheme != "bolt" && scheme != "" {
		return false
	}
	_, err := os.Stat(strings.TrimPrefix(rest, "//"))
	return errors.Is(err, os.ErrNotExist)
}

func (imp *importer) Close() {
	if imp.scratch != nil {
		imp.scratch.Close()
	}
	imp.target.Close()
}

// credential is the in-process credential the import acts with: master,
// every tenant action, in the import's environment (organizations are
// created through production).
func credential(env identity.Environment) *identity.Credential {
	return &identity.Credential{ID: "gatehouse-import-crafter", Name: "gatehouse-import-crafter",
		Application: "gatehouse-import-crafter", Master: true, Environment: env, ManagedOrgs: []string{"*"},
		Permissions:       []string{identity.PermAll},
		TenantPermissions: []identity.TenantPermission{{Tenant: "*", AllowedActions: []string{"*"}}}}
}

// report prints one record that was not imported.
func (imp *importer) report(p problem) {
	imp.problems++
	fmt.Fprintf(imp.out, "%s %s: %s: %s\n", p.coll, p.id, p.status, p.reason)
}

// tokenName names an access token in the report without its id, which is
// the secret its clients send: the start of its SHA-256.
func tokenName(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "sha256:" + hex.EncodeToString(sum[:6])
}

func (imp *importer) importAll(ctx context.Context, exp *export) error {
	for _, p := range exp.problems {
		imp.counts[p.coll].rejected++
		imp.report(p)
	}
	for _, t := range exp.tenants {
		if err := imp.importTenant(ctx, t); err != nil {
			return err
		}
	}
	for _, t := range exp.tokens {
		if err := imp.importToken(ctx, t); err != nil {
			return err
		}
	}
	return imp.importProfiles(ctx, exp.profiles)
}

func (imp *importer) importTenant(ctx context.Context, t tenantRec) error {
	c := imp.counts[collTenant]
	if _, seen := imp.tenants[t.in.Name]; seen {
		c.rejected++
		imp.report(problem{collTenant, t.id, "duplicate", fmt.Sprintf("tenant name %q is given twice", t.in.Name)})
		return nil
	}
	d := imp.target
	if imp.cfg.dryRun {
		if _, err := imp.target.base.GetTenant(ctx, t.in.Name); err == nil {
			imp.tenants[t.in.Name] = imp.target
			c.existing++
			imp.existing(collTenant, t.id)
			return nil
		} else if !errors.Is(err, identity.ErrNotFound) && !errors.Is(err, identity.ErrInvalid) {
			return err
		}
		d = imp.scratch
	}
	_, err := d.crafter.CreateTenant(ctx, credential(identity.Production), t.in)
	var pe *profile.Error
	switch {
	case err == nil:
		imp.tenants[t.in.Name] = d
		c.created++
	case errors.As(err, &pe) && pe.Code == profile.CodeTenantExists:
		imp.tenants[t.in.Name] = d
		c.existing++
		imp.existing(collTenant, t.id)
	case errors.As(err, &pe) && pe.Status < 500:
		imp.notLoaded[t.in.Name] = "its tenant " + t.id + " was not imported"
		c.rejected++
		imp.report(problem{collTenant, t.id, "invalid", pe.Message})
	case errors.Is(err, identity.ErrInvalid):
		imp.notLoaded[t.in.Name] = "its tenant " + t.id + " was not imported"
		c.rejected++
		imp.report(problem{collTenant, t.id, "invalid", err.Error()})
	default:
		return fmt.Errorf("tenant %s: %w", t.id, err)
	}
	return nil
}

// existing lists a record already imported, with -v.
func (imp *importer) existing(coll, id string) {
	if imp.cfg.verbose {
		fmt.Fprintf(imp.out, "%s %s: exists\n", coll, id)
	}
}

func (imp *importer) importToken(ctx context.Context, t tokenRec) error {
	c := imp.counts[collToken]
	name := tokenName(t.id)
	d := imp.target
	if imp.cfg.dryRun {
		if found, _, _ := imp.target.base.AuthenticateSecret(ctx, t.id); found != nil {
			c.existing++
			imp.existing(collToken, name)
			return nil
		}
		d = imp.scratch
	}
	_, err := d.crafter.CreateAccessToken(ctx, credential(imp.env), t.in)
	var pe *profile.Error
	switch {
	case err == nil:
		c.created++
	case errors.As(err, &pe) && pe.Code == profile.CodeAccessTokenExists:
		c.existing++
		imp.existing(collToken, name)
	case errors.As(err, &pe) && pe.Status < 500:
		c.rejected++
		imp.report(problem{collToken, name, "invalid", pe.Message})
	case errors.Is(err, identity.ErrInvalid):
		c.rejected++
		imp.report(problem{collToken, name, "invalid", err.Error()})
	default:
		return fmt.Errorf("access token %s: %w", name, err)
	}
	return nil
}

// importProfiles imports the profiles tenant by tenant, in the export's
// order within each tenant.
func (imp *importer) importProfiles(ctx context.Context, recs []profileRec) error {
	c := imp.counts[collProfile]
	byTenant := map[string][]int{}
	var order []string
	for i, p := range recs {
		if _, ok := byTenant[p.tenant]; !ok {
			order = append(order, p.tenant)
		}
		byTenant[p.tenant] = append(byTenant[p.tenant], i)
	}
	for _, name := range order {
		idx := byTenant[name]
		d, err := imp.tenantDirectory(ctx, name)
		if err != nil {
			return err
		}
		if d == nil {
			reason := fmt.Sprintf("unknown tenant %q", name)
			status := "unknown tenant"
			if why, ok := imp.notLoaded[name]; ok {
				reason = fmt.Sprintf("tenant %q: %s", name, why)
				status = "skipped"
			}
			for _, i := range idx {
				c.rejected++
				imp.report(problem{collProfile, recs[i].id, status, reason})
			}
			continue
		}
		if d == imp.scratch {
			// A dry run of a tenant the store lacks: the scratch store
			// cannot see an ObjectId held in the target by another
			// tenant's user.
			if idx, err = imp.takenIDs(ctx, recs, idx); err != nil {
				return err
			}
		}
		users := make([]identity.User, len(idx))
		for j, i := range idx {
			users[j] = recs[i].user
		}
		svc := d.env
		dry := imp.cfg.dryRun && d == imp.target
		res, err := svc.ImportUsers(ctx, name, users, identity.ImportOptions{BatchSize: imp.cfg.batch, DryRun: dry})
		if err != nil {
			return fmt.Errorf("profiles of tenant %q: %w", name, err)
		}
		for j, r := range res {
			id := recs[idx[j]].id
			switch r.Status {
			case identity.ImportCreated:
				c.created++
			case identity.ImportExists:
				c.existing++
				imp.existing(collProfile, id)
			default:
				c.rejected++
				imp.report(problem{collProfile, id, string(r.Status), profileReason(name, &users[j], r)})
			}
		}
	}
	return nil
}

// takenIDs reports the profiles of idx whose ObjectId a user of the
// target already has and returns the others.
func (imp *importer) takenIDs(ctx context.Context, recs []profileRec, idx []int) ([]int, error) {
	keep := idx[:0:0]
	err := imp.target.env.View(ctx, func(tx *identity.ReadTxn) error {
		for _, i := range idx {
			_, err := tx.UserByObjectID(recs[i].user.ObjectID)
			switch {
			case err == nil:
				imp.counts[collProfile].rejected++
				imp.report(problem{collProfile, recs[i].id, string(identity.ImportDuplicate), "the _id is already used by another profile"})
			case errors.Is(err, identity.ErrNotFound):
				keep = append(keep, i)
			default:
				return err
			}
		}
		return nil
	})
	return keep, err
}

// tenantDirectory is the directory that holds tenant name: the one the
// import created it in, or the target if it was there before; nil when
// it is nowhere.
func (imp *importer) tenantDirectory(ctx context.Context, name string) (*directory, error) {
	if d, ok := imp.tenants[name]; ok {
		return d, nil
	}
	if _, ok := imp.notLoaded[name]; ok {
		return nil, nil
	}
	_, err := imp.target.base.GetTenant(ctx, name)
	switch {
	case err == nil:
		imp.tenants[name] = imp.target
		return imp.target, nil
	case errors.Is(err, identity.ErrNotFound), errors.Is(err, identity.ErrInvalid):
		return nil, nil
	}
	return nil, err
}

// profileReason says why a profile was not imported.
func profileReason(tenant string, u *identity.User, r identity.ImportResult) string {
	switch {
	case r.Status == identity.ImportDuplicate && r.Field == "email":
		return fmt.Sprintf("email %q is held by another profile of tenant %q (Gatehouse keeps emails unique per tenant)", u.Email, tenant)
	case r.Status == identity.ImportDuplicate && r.Field == "username":
		return fmt.Sprintf("username %q is held by another profile of tenant %q", u.Username, tenant)
	case r.Status == identity.ImportDuplicate && r.Field == "object_id":
		return "the _id is already used by another profile"
	}
	var ie *identity.InvalidError
	if errors.As(r.Err, &ie) {
		parts := make([]string, 0, len(ie.Fields))
		for _, f := range ie.Fields {
			parts = append(parts, f.Field+" "+f.Reason)
		}
		sort.Strings(parts)
		return strings.Join(parts, "; ")
	}
	return r.Err.Error()
}

// summary prints the counts.
func (imp *importer) summary() {
	verb := "imported"
	if imp.cfg.dryRun {
		verb = "would import (dry run, nothing written)"
	}
	fmt.Fprintf(imp.out, "summary: %s\n", verb)
	for _, coll := range []string{collTenant, collToken, collProfile} {
		c := imp.counts[coll]
		fmt.Fprintf(imp.out, "  %-12s %d created, %d existing, %d rejected\n", coll+":", c.created, c.existing, c.rejected)
	}
	fmt.Fprintf(imp.out, "  problems:    %d\n", imp.problems)
}
