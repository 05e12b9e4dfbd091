// Command gatehouse-import-crafter imports a Crafter Profile 4.x MongoDB
// export into a Gatehouse store, so that a Crafter Profile installation
// moves to Gatehouse with its tenants, profiles (and their passwords) and
// access tokens:
//
//	mongoexport -d crafterprofile -c tenant      -o export/tenant.json
//	mongoexport -d crafterprofile -c profile     -o export/profile.json
//	mongoexport -d crafterprofile -c accesstoken -o export/accesstoken.json
//	gatehouse-import-crafter -store bolt:gatehouse.db -dir export
//
// It reads the files mongoexport writes: one document per line (or one
// array with --jsonArray), in MongoDB Extended JSON v2, relaxed or
// canonical ({"$oid": ...}, {"$date": ...}, {"$numberLong": ...}). Field
// names are those of Crafter Profile's documents (the classes Tenant,
// Profile and AccessToken of org.craftercms.profile.api; collections
// tenant, profile and accesstoken of the crafterprofile database).
//
// The store is given as the example server takes it (-store bolt:PATH or
// postgres://..., env GATEHOUSE_STORE), with the same key-encryption key
// (-key-encryption-key, -key-encryption-key-file, or the file PATH.kek
// beside a bolt store): the Gatehouse process that uses a bolt store must
// be stopped (the file is locked).
//
// What becomes of each record:
//
//   - a tenant becomes an organization whose domain is the tenant's name,
//     created by the Crafter face's own tenant creation (so the name
//     follows the Crafter face's tenant-name rule), with its
//     availableRoles, attributeDefinitions (metadata, defaultValue,
//     permissions), verifyNewProfiles, ssoEnabled and cleanseAttributes
//     (absent: true); the tenant gets a new id (Crafter clients address
//     tenants by name);
//   - a profile becomes a user of its tenant's organization and keeps its
//     ObjectId (the id the Crafter face shows), username, email, enabled,
//     verified, roles, attributes, createdOn and lastModified. Its password
//     hash (Crafter's base64(hash)|base64(salt), salted SHA-256 with 1,000
//     extra rounds) is stored as it is: the profile signs in with its old
//     password, and the hash becomes argon2id at that first login. Users
//     are written by identity.Service.ImportUsers, in transactions of
//     -batch users, with the one user rule and every index and counter of
//     a user created any other way. Dates inside attributes become epoch
//     milliseconds, as Crafter's REST API shows them; numbers keep their
//     digits. failedLoginAttempts and lastFailedLogin are not imported;
//   - an access token keeps its _id (the accessTokenId its clients send,
//     sealed at rest like any Crafter token), application, master,
//     tenantPermissions and expiresOn.
//
// Gatehouse's rule departs from Crafter's in one way that matters here:
// an email is unique within a tenant (case-insensitively), because the
// Cryptr face finds users by email. Every record that cannot be imported
// is reported, one line each with its collection, its _id and the reason,
// and the import goes on:
//
//	profile 5f0c...: duplicate: email "ann@example.com" is held by another profile of tenant "default"
//	profile 5f0d...: unknown tenant "gone"
//	tenant 5f0a...: invalid: Tenant name "My Site" must be a domain slug ...
//	accesstoken sha256:3f2a9c...: invalid: Access token id must be 16 to 512 characters
//
// An access token is named by the start of the SHA-256 of its _id, never
// by its _id, which is the secret its clients send. A line that is not a
// document is named by its line number.
//
// A record already imported (same tenant name, same profile ObjectId in
// its tenant, same access-token id) is counted as existing and left
// unchanged, so an import can run again after a partial failure (-v lists
// them too). A summary ends the report. The exit status is 0 when every other record was
// imported, even if some were reported; non-zero only for a file, store or
// key error (or a canceled run).
//
// -dry-run reads and checks everything against the store, as the import
// would, and writes nothing: records of tenants and tokens the store
// already holds are checked against it; the new ones are created in an
// in-memory scratch store, then thrown away.
//
// -environment chooses the environment the profiles and access tokens
// are written to (production by default); organizations are shared by
// both environments.
//
// It is a command of its own rather than a mode of gatehouse-migrate,
// which copies a Gatehouse store byte for byte (bbolt to PostgreSQL):
// this one reads foreign data and writes through the identity services.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse-import-crafter:", err)
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	store, key, keyFile        string
	dir                        string
	tenants, profiles, tokens  string
	environment, accountDomain string
	batch                      int
	dryRun, verbose            bool
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("gatehouse-import-crafter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	fs.StringVar(&c.store, "store", "", "store URL: bolt:PATH or postgres://... (env GATEHOUSE_STORE; default bolt:gatehouse.db)")
	fs.StringVar(&c.key, "key-encryption-key", "", "base64 32-byte key-encryption key (env GATEHOUSE_KEY_ENCRYPTION_KEY)")
	fs.StringVar(&c.keyFile, "key-encryption-key-file", "", "file holding the key-encryption key (env GATEHOUSE_KEY_ENCRYPTION_KEY_FILE; default PATH.kek beside a bolt store)")
	fs.StringVar(&c.dir, "dir", "", "directory of the export: tenant.json, profile.json, accesstoken.json (each optional)")
	fs.StringVar(&c.tenants, "tenants", "", "mongoexport of the tenant collection (overrides -dir)")
	fs.StringVar(&c.profiles, "profiles", "", "mongoexport of the profile collection (overrides -dir)")
	fs.StringVar(&c.tokens, "access-tokens", "", "mongoexport of the accesstoken collection (overrides -dir)")
	fs.StringVar(&c.environment, "environment", "production", "environment of the imported profiles and access tokens: production or sandbox")
	fs.StringVar(&c.accountDomain, "account-domain", "", "domain of the account that manages the organizations (env GATEHOUSE_ACCOUNT_DOMAIN; default gatehouse)")
	fs.IntVar(&c.batch, "batch", 1000, "profiles per transaction")
	fs.BoolVar(&c.dryRun, "dry-run", false, "check everything against the store and write nothing")
	fs.BoolVar(&c.verbose, "v", false, "also list the records that already exist")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gatehouse-import-crafter [-store URL] [-dry-run] -dir EXPORT_DIR")
		fmt.Fprintln(stderr, "       gatehouse-import-crafter [-store URL] -tenants FILE -profiles FILE -access-tokens FILE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	env := func(p *string, name, def string) {
		if *p == "" {
			*p = getenv(name)
		}
		if *p == "" {
			*p = def
		}
	}
	env(&c.store, "GATEHOUSE_STORE", "bolt:gatehouse.db")
	env(&c.accountDomain, "GATEHOUSE_ACCOUNT_DOMAIN", "gatehouse")
	if c.key == "" && c.keyFile == "" {
		c.key, c.keyFile = getenv("GATEHOUSE_KEY_ENCRYPTION_KEY"), getenv("GATEHOUSE_KEY_ENCRYPTION_KEY_FILE")
	}
	if c.dir != "" {
		for _, f := range []struct {
			p    *string
			name string
		}{{&c.tenants, "tenant.json"}, {&c.profiles, "profile.json"}, {&c.tokens, "accesstoken.json"}} {
			if *f.p != "" {
				continue
			}
			path := c.dir + string(os.PathSeparator) + f.name
			if _, err := os.Stat(path); err == nil {
				*f.p = path
			}
		}
	}
	if c.tenants == "" && c.profiles == "" && c.tokens == "" {
		fs.Usage()
		return nil, errors.New("nothing to import: give -dir or -tenants, -profiles, -access-tokens")
	}
	if c.environment != "production" && c.environment != "sandbox" {
		return nil, fmt.Errorf("-environment must be production or sandbox, not %q", c.environment)
	}
	if c.batch <= 0 || c.batch > 100000 {
		return nil, errors.New("-batch must be between 1 and 100000")
	}
	return c, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	exp, err := readExport(cfg)
	if err != nil {
		return err
	}
	imp, err := openImporter(ctx, cfg, log, stdout)
	if err != nil {
		return err
	}
	defer imp.Close()
	if err := imp.importAll(ctx, exp); err != nil {
		return err
	}
	imp.summary()
	return nil
}
