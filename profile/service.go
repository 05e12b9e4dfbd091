// Package profile serves the Crafter Profile 4.5 REST API (/api/1) over
// Gatehouse's identity core: a tenant is an organization (its name maps to
// the organization's domain: TenantDomain), a profile is a user, an access token is an API
// credential. Whatever is created here is visible through the Cryptr face
// and the reverse.
//
// The rules are Crafter's (crafter-profile-rest.md §5 and §6), with its
// bugs fixed where the design says so: an account lockout answers 403
// (with a formatted message) instead of 500; password login and its
// lockout are the identity core's (identity.Service.PasswordLogin, one
// policy shared with the hosted login page: the counter is reserved
// atomically before the password is checked, so parallel attempts cannot
// exceed the limit); ticket expiry is checked when a ticket is read;
// the attachment list uses the path id; an upload is checked by extension
// and by content; a password change or reset ends the profile's sessions
// of every kind (see ChangePassword).
//
// Mounting under a path: the handler routes on BasePath and
// JavaClientBasePath (and paths relative to BasePath); when Gatehouse
// lives under a prefix (https://app.example/auth), a host strips it before
// calling the handler, with
// mux.Handle("/auth/", http.StripPrefix("/auth", h)). The face emits no
// URL of its own: its mail links are built from the client's
// verificationUrl and resetPasswordUrl.
//
// Secrets: tickets, persistent logins (id and token) and verification
// tokens are 256-bit random values, base64url-encoded (43 characters).
// Crafter used UUIDs; its clients treat these ids as opaque strings, so the
// longer form is kept for its entropy. Tickets, persistent-login ids and
// verification tokens are stored as SHA-256 hashes; the persistent login's
// rotating token is stored as is, because clients read it back to compare.
//
// Divergences: access tokens are managed only by a master token over
// every tenant and action (a tenant permission "*" allowing "*";
// identity.Credential.MasterOverAll), not by any master token: a master
// limited to some tenants could list every token's id, which is its
// secret, and mint a wider one; an email is unique within a tenant (one directory with the
// Cryptr face), so a duplicate email is 409 PROFILE_EXISTS; an invalid or
// unknown profile id is 404, never 500; attachments with a disallowed type
// are 400; usernames taken on update are 409; a locked account is 403 with
// error code OTHER (Crafter's clients only parse the codes of its enum);
// a full password hasher is 429; sorting or querying on an attribute the
// caller may not read is 400 INVALID_QUERY, and by_existing_attribute or
// by_attribute_value on one is 403 ACTION_DENIED (Crafter answered the
// matching profiles, which told which profiles hold a value the caller may
// not read); deleting a profile deletes its
// sessions, tokens and attachments; verify enables only a profile that
// was not verified yet (Crafter enabled any, so a user an administrator
// disabled enabled itself with a reset token); an update that changes the email
// (beyond ASCII case) deletes the profile's pending verification and
// reset tokens and sets verified to false (Crafter kept both; a token
// mailed to a mistyped or former address would take the account over),
// its sessions stay; a profile, verification token,
// ticket or persistent login of a tenant the access token has no
// permission entry for answers exactly as an unknown id (Crafter answered
// 403 naming the tenant), so its deletes and invalidations are the
// no-op of an unknown id (ownerTenant, the rule of every lookup by id);
// failed logins are forgotten
// identity.Options.FailureWindow (24 h) after the latest one (Crafter kept them until a
// success); an access token id given at creation must be 16 to 512
// characters, else 400 OTHER (the id is the bearer secret: Crafter took
// any string; its shipped ids are 36-character UUIDs, and an id left out
// is a random 256-bit one).
//
// Emails unique per tenant: Crafter Profile keeps only (tenant, username)
// unique, so its databases may hold two profiles of a tenant with one
// email. Gatehouse cannot (the Cryptr face, SSO and email sign-in find a
// user by email, case-insensitively): creating or updating a profile with
// an email another profile of the tenant has is 409 PROFILE_EXISTS, and
// cmd/gatehouse-import-crafter, which imports a Crafter Profile MongoDB
// export, reports each such profile (with its _id) instead of importing
// it, so the operator can merge or rename them and run the import again.
//
// Account enumeration: a username without a profile is answered like an
// existing one with a wrong password (identity.PasswordLogin counts it
// the same way, under a hash, and spends a dummy argon2id check on it); it
// gets the same delay after DelayAfter failures and the same 403 "locked"
// answer, so neither the answers nor their timing tell whether the
// account exists (BenchmarkWrongPassword: the two paths differ by under a
// millisecond on bolt, against tens of milliseconds for the hash). A
// disabled profile answers 403 DISABLED_PROFILE to its right password
// only.
//
// Attachments: the bytes go to Options.Blobs (package blob). The default,
// blob.KV over the identity store, writes them in the transaction that
// writes the metadata; other backends (blob.Dir) are written first and
// journaled, so a failure leaves at worst an orphan that Sweep deletes.
// Downloads stream from the backend.
//
// Mail (verification, reset, password changed) goes through a bounded
// queue served by a fixed number of workers, so a slow mail server never
// holds a request; a full queue drops the message and logs it (the token
// it carries exists; the caller may ask again). Options.SyncMail sends
// inside the request instead.
//
// Wire exactness (what Crafter's Java client notices):
//   - A required text parameter sent empty is present, as in Spring:
//     authenticate with "password=" or "username=" (Crafter's login form
//     sends a blank field so) is 401 BAD_CREDENTIALS, and by_username
//     with "username=" is 404 NO_SUCH_PROFILE. Only an absent parameter
//     is 400.
//   - Crafter reads profiles by tenant name without reading the tenant:
//     for a tenant that does not exist, authenticate is 401
//     BAD_CREDENTIALS (its security provider then tries its next
//     tenant), by_username is 404 NO_SUCH_PROFILE, count is 0, and
//     range, by_role, by_existing_attribute and by_attribute_value are
//     []. The query endpoints, which need the tenant's attribute
//     definitions, and the tenant's own endpoints answer 404
//     NO_SUCH_TENANT. A token without a permission for the name is
//     refused first (403), whether or not the tenant exists.
//   - Attribute numbers are kept as sent, through storage, indexes and
//     queries: 12345678901234567 and 1.0 come back as written (they are
//     json.Number values in Go; queries compare them numerically, exactly
//     for integers).
//   - Answers carry Crafter's fields only. Gatehouse's extensions (today
//     the "indexed" flag of attribute definitions) are answered to a
//     caller that passes gatehouseExtensions=true (ExtensionsParam); a
//     definition written without "indexed" keeps its stored flag.
//   - The API is served under BasePath (/api/1) and JavaClientBasePath
//     (/crafter-profile/api/1, the Java client's default).
//   - A raw ';' in a query string or form body is part of the value (as in
//     Tomcat); pairs are separated by '&' only.
//   - A JSON body of the wrong shape is 400 OTHER naming the field and the
//     JSON value expected there (Malformed JSON body: field "master" must
//     be true or false; "the body must be a JSON array" for one attribute
//     definition sent where the endpoint takes a list; a null body is
//     refused, as Spring refuses a missing required body); a form body
//     there is 415 OTHER (a JSON text under a form label, as curl -d
//     sends it, is read as JSON). A value the
//     identity core refuses is 400 OTHER naming the field and the reason
//     (username must be at most 255 characters of text; a Cryptr MetaKey's
//     value is the attribute: attributes.age must be an integer).
//   - Parameter names: the code's (what the Java client sends) and the
//     4.5 document's where it differs: attributesToReturn for
//     attributeToReturn, roles for role (a profile's roles/add and
//     roles/remove), attributesName for attributeName (a profile's
//     attributes/remove). A missing one is named as the code names it.
//   - A method a path is not served for is 405 OTHER with an Allow header
//     naming the methods it is served for (GET paths also take HEAD).
//   - Every answer under the base paths is the error JSON of §4: mount
//     Intercept in front of an http.ServeMux (which would redirect
//     /api/1/profile//attributes) and serve from Listener (net/http
//     answers a malformed escape in a path, such as %zz, in plain text
//     before any handler runs).
//   - by_ticket for a ticket whose profile was deleted is 404
//     NO_SUCH_PROFILE, as documented (the ticket itself is gone: the core
//     keeps a tombstone until it would have expired).
//   - Every ticket read answers the time of that read as lastRequestTime.
//     The store is rewritten at most once per Options.TicketTouchInterval
//     (1 s) under load; nothing shows the stored time, so no reader sees
//     the coalescing, and the idle expiry lags the latest read by less
//     than that interval.
//   - fileSize is Crafter's "#,##0.#" with 1024 steps ("1,000 B",
//     "22.6 KB"); uploading an attachment again under the same name keeps
//     its id.
//   - Tenant names: a tenant is the organization whose domain is
//     TenantDomain(name). Domains are slugs; names may also be Studio
//     site ids with '_' and repeated '-', which map one-to-one to encoded
//     slugs ("my_site" is "x0-my-u-site"), see tenantname.go.
//
// Remaining departures from Crafter: a tenant holds at most
// identity.MaxAttributeDefinitions (1,000) attribute definitions (Crafter
// had no bound; every profile read and write consults them), more is 400
// OTHER; a tenant name must start and end
// with a lower-case letter or digit and map to a domain of at most 63
// characters (Crafter takes any string; Studio site ids fit); a slug
// name starting with "x0-" that decodes is itself encoded; a host that
// mounts Handler on a ServeMux without Intercept, or serves without
// Listener, keeps net/http's redirects and plain-text 400s for those
// paths; tickets, logins and tokens of a deleted or re-passworded
// profile end with it (Crafter kept them); the md5 of an attachment is
// null (as Crafter's current code leaves it); an attribute definition's
// name has no dot or control character and does not start with '$'
// (identity.CheckAttributeName, the rule of the Cryptr face's MetaKeys
// too: a name is one segment of the attributes.<name> path queries use;
// Crafter took any string), except that a definition stored under such
// a name keeps it, so a tenant read and written back is never refused.
//
// The 4.5 document and Crafter's code: where the document's samples
// differ from what Crafter's server and Java client exchange, the code's
// wire format is served, since that is what existing clients send and
// read: a profile is updated at POST /api/1/profile/{id}/update (the
// document lists an id parameter); a ticket is invalidated by POST and
// the answer is an empty 200 (the document shows a Ticket); a ticket's
// time field is lastRequestTime (the samples write lastRequestedTime);
// the attachment list at /api/1/profile/{id}/attachments/ is a bare array
// (the sample wraps it in {"attachments": …}); an attachment is named by
// its base name in the path (the document calls it attachmentName).
//
// Default data: the "default" tenant is created with Crafter's roles and
// attribute definitions, but none of Crafter's published credentials is:
// not its access tokens (e8f5170c-877b-416f-b70f-4b09772f8e2d and the
// others of its init-data.json), not the admin/admin profile, not the
// monitoring token defaultManagementToken. The master access token is the
// host's master credential, whose secret is its accessTokenId
// (examples/server: -master-key ID:SECRET). A throwaway test server that
// should answer the documents' samples as written can be given those
// values: -master-key profile-admin:e8f5170c-877b-416f-b70f-4b09772f8e2d
// -monitoring-token defaultManagementToken.
//
// Use: New, then mount Service.Handler at "/api/1/" and
// "/crafter-profile/api/1/" (or put Service.Intercept in front of the
// host's mux), serve from Listener(l), and Close the Service (or
// Shutdown, to deliver queued mail first) when done. NewHandler is the
// short form for a handler that lives as long as the process. Expired
// tickets, logins, tokens and counters are refused when read; run
// Service.RunSweeper (or Sweep) to reclaim their storage and orphaned
// blobs.
package profile

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/blob"
	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/identity/password"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/mail"
)

// Tenant actions.
const (
	ActionCreateTenant   = "CREATE_TENANT"
	ActionReadTenant     = "READ_TENANT"
	ActionUpdateTenant   = "UPDATE_TENANT"
	ActionDeleteTenant   = "DELETE_TENANT"
	ActionManageProfiles = "MANAGE_PROFILES"
	ActionManageTickets  = "MANAGE_TICKETS"
)

// Attribute actions.
const (
	ActionReadAttribute   = "READ_ATTRIBUTE"
	ActionWriteAttribute  = "WRITE_ATTRIBUTE"
	ActionRemoveAttribute = "REMOVE_ATTRIBUTE"
)

// Options configure a Service. Identity is required.
type Options struct {
	// Identity is the identity core (any environment: each request is
	// served in its access token's environment).
	Identity *identity.Service
	// Hasher hashes passwords (default: Identity's hasher, else
	// password.New()). When it has a DummyVerify method, unknown usernames
	// spend the time of a password check.
	Hasher identity.PasswordHasher
	// Mailer sends verification and reset emails (default: a LogMailer).
	// Messages go through a bounded queue served by MailWorkers
	// goroutines, so a slow mail server never delays a request; when the
	// queue is full a message is dropped and logged (the token it carries
	// exists either way, and the caller may ask for another). Close stops
	// the workers.
	Mailer mail.Mailer
	// MailWorkers is the number of goroutines sending mail (default 2).
	MailWorkers int
	// MailQueue is how many messages may wait for a worker (default 256).
	MailQueue int
	// SyncMail sends mail inside the request instead (no queue, no
	// workers): for tests and one-shot tools.
	SyncMail bool
	// Blobs stores attachment bytes (default: blob.NewKV over Identity's
	// store, written in the transaction that writes the attachment's
	// metadata). Another backend (blob.Dir, an object store) is written
	// before the metadata and journaled so Sweep deletes orphans; see
	// AddAttachment.
	Blobs blob.Store
	// BlobGrace is how long an upload to a Blobs backend outside the
	// identity store may take before Sweep treats its blob as an orphan
	// (default 1 h).
	BlobGrace time.Duration
	// MailFrom is the sender of emails (default "noreply@example.com").
	MailFrom string
	// MonitoringToken guards /api/1/monitoring; empty (and no
	// MonitoringAuth) disables those endpoints (every call is refused).
	MonitoringToken string
	// MonitoringAuth, when set, decides instead of MonitoringToken whether
	// a presented token is valid (for hosts that keep only its hash). It
	// must compare in constant time.
	MonitoringAuth func(ctx context.Context, token string) bool
	// Version is reported by /monitoring/version.
	Version string
	// Sleep waits d (default: a context-aware timer). Tests inject a
	// recorder so the lockout delay costs nothing.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives operational logs (default: Identity's logger).
	Logger *slog.Logger
	// Limits; zero values take Crafter's defaults.
	TicketIdle         time.Duration // 15 min, sliding
	PersistentLoginTTL time.Duration // 15 days, absolute
	VerificationTTL    time.Duration // 24 h
	// The lockout policy is the identity core's (identity.Options
	// LockAfter, LockFor, FailureWindow), shared with every face.
	DelayAfter          int           // 2 failures: later wrong passwords are answered after FailureDelay
	FailureDelay        time.Duration // 1 s
	MaxAttachmentBytes  int64         // 5 MiB
	TicketTouchInterval time.Duration // 1 s: a read within this of the last one does not rewrite the ticket
}

// Service implements the Crafter Profile operations. It is safe for
// concurrent use.
type Service struct {
	opts    Options
	envs    map[identity.Environment]*identity.Service
	base    *identity.Service
	hasher  identity.PasswordHasher
	mailer  mail.Mailer
	log     *slog.Logger
	started time.Time
	ids     *idCache
	blobs   blob.Store
	blobTx  blob.TxStore // blobs, when it can join the identity store's transactions
	mailq   *mailQueue   // nil with SyncMail
}

// New returns a Service and starts its mail workers (unless
// Options.SyncMail); Close stops them.
func New(opts Options) (*Service, error) {
	if opts.Identity == nil {
		return nil, errors.New("profile: Options.Identity is required")
	}
	s := &Service{opts: opts, base: opts.Identity, envs: map[identity.Environment]*identity.Service{},
		ids: newIDCache(1 << 16)}
	for _, env := range []identity.Environment{identity.Sandbox, identity.Production} {
		e, err := opts.Identity.ForEnvironment(env)
		if err != nil {
			return nil, err
		}
		s.envs[env] = e
	}
	s.hasher = opts.Hasher
	if s.hasher == nil {
		s.hasher = opts.Identity.Hasher()
	}
	if s.hasher == nil {
		s.hasher = password.New()
	}
	// The core checks passwords (login, lockout) with this face's hasher.
	for env, e := range s.envs {
		s.envs[env] = e.WithHasher(s.hasher)
	}
	s.mailer = opts.Mailer
	s.log = opts.Logger
	if s.log == nil {
		s.log = opts.Identity.Logger()
	}
	if s.mailer == nil {
		s.mailer = mail.LogMailer{Logger: s.log}
	}
	o := &s.opts
	if o.MailFrom == "" {
		o.MailFrom = "noreply@example.com"
	}
	if o.Sleep == nil {
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.TicketIdle, 15*time.Minute)
	def(&o.PersistentLoginTTL, 15*24*time.Hour)
	def(&o.VerificationTTL, 24*time.Hour)
	def(&o.FailureDelay, time.Second)
	def(&o.TicketTouchInterval, time.Second)
	def(&o.BlobGrace, time.Hour)
	if o.DelayAfter <= 0 {
		o.DelayAfter = 2
	}
	if o.MaxAttachmentBytes <= 0 {
		o.MaxAttachmentBytes = 5 << 20
	}
	s.blobs = opts.Blobs
	if s.blobs == nil {
		s.blobs = blob.NewKV(s.base.Backend(kv.Inside()))
	}
	if ts, ok := s.blobs.(blob.TxStore); ok && ts.IdentityStore() == s.base.Backend(kv.Inside()) {
		s.blobTx = ts
	}
	if o.MailWorkers <= 0 {
		o.MailWorkers = 2
	}
	if o.MailQueue <= 0 {
		o.MailQueue = 256
	}
	if !o.SyncMail {
		s.mailq = newMailQueue(s.mailer, o.MailWorkers, o.MailQueue, s.log.Warn)
	}
	s.started = s.base.Now()
	// A user deleted through any face (the Cryptr API, SSO) loses its
	// attachments in the same transaction. Blobs outside the identity store
	// are recorded as due and removed by Sweep.
	s.base.OnUserDelete(func(tx *identity.Txn, u *identity.User) error {
		var reap []string
		return s.dropAttachments(tx, u.ID, &reap)
	})
	return s, nil
}

// Close stops the mail workers at once: a message being sent is cancelled
// and queued ones are dropped (each logged). Use Shutdown to deliver the
// queue first. Mail sent after Close is dropped. Close is idempotent.
func (s *Service) Close() error {
	if s.mailq != nil {
		return s.mailq.close(context.Background(), false)
	}
	return nil
}

// Shutdown stops accepting mail and lets the workers deliver the queue
// until ctx ends; then it acts as Close and returns ctx's error.
func (s *Service) Shutdown(ctx context.Context) error {
	if s.mailq != nil {
		return s.mailq.close(ctx, true)
	}
	return nil
}

// send delivers m through the queue, or at once with SyncMail. Delivery
// failures are logged, not returned (as in Crafter): the token a message
// carries exists and the caller may ask for another.
func (s *Service) send(ctx context.Context, m mail.Message) {
	if s.mailq != nil {
		s.mailq.enqueue(m)
		return
	}
	if err := s.mailer.Send(context.WithoutCancel(ctx), m); err != nil {
		s.log.Warn("profile: sending email failed", "mail_subject", m.Subject, "err", err)
	}
}

// dir returns the identity service of the caller's environment.
func (s *Service) dir(c *identity.Credential) *identity.Service {
	if d, ok := s.envs[c.Environment]; ok {
		return d
	}
	return s.envs[identity.Production]
}

// Authorize returns the access token whose id is accessTokenID, as the
// interceptor of every /api/1 call does (§5.1).
func (s *Service) Authorize(ctx context.Context, accessTokenID string) (*identity.Credential, error) {
	if accessTokenID == "" {
		return nil, apiErr(http.StatusForbidden, CodeAccessDenied, "Access token ID param missing from request")
	}
	// The only lookup across environments: the token found decides the
	// environment every later call acts in (dir).
	c, _, err := s.base.AuthenticateSecret(ctx, accessTokenID)
	switch {
	case errors.Is(err, identity.ErrExpired):
		exp := ""
		if c != nil && c.ExpiresAt != nil {
			exp = c.ExpiresAt.UTC().Format("01/02/2006")
		}
		app := ""
		if c != nil {
			app = c.Application
		}
		return nil, apiErr(http.StatusForbidden, CodeAccessDenied, "Access token for application %q expired on %s", app, exp)
	case errors.Is(err, identity.ErrUnauthenticated), errors.Is(err, identity.ErrNotFound):
		return nil, apiErr(http.StatusForbidden, CodeAccessDenied, "No access token found for the given ID")
	case err != nil:
		return nil, err
	}
	return c, nil
}

// allowed applies §5.2: the first tenant permission whose tenant is "*" or
// tenant decides; the action is allowed iff it lists the action or "*".
func allowed(c *identity.Credential, tenant, action string) bool {
	for _, p := range c.TenantPermissions {
		t := p.Tenant
		if t == "" {
			t = "*"
		}
		if t == "*" || t == tenant {
			for _, a := range p.AllowedActions {
				if a == "*" || a == action {
					return true
				}
			}
			return false
		}
	}
	return false
}

// reaches reports whether any tenant permission of c names tenant (or
// "*"), whatever its actions: the tokens for which the tenant exists.
func reaches(c *identity.Credential, tenant string) bool {
	for _, p := range c.TenantPermissions {
		if p.Tenant == "" || p.Tenant == "*" || p.Tenant == tenant {
			return true
		}
	}
	return false
}

// allowedGlobal checks a global action: only an entry for tenant "*" can
// grant it.
func allowedGlobal(c *identity.Credential, action string) bool {
	for _, p := range c.TenantPermissions {
		if p.Tenant == "*" || p.Tenant == "" {
			for _, a := range p.AllowedActions {
				if a == "*" || a == action {
					return true
				}
			}
			return false
		}
	}
	return false
}

func check(c *identity.Credential, tenant string, actions ...string) error {
	for _, a := range actions {
		if !allowed(c, tenant, a) {
			return denied(a, tenant)
		}
	}
	return nil
}

// attrAllowed applies §5.4: the first permission whose application is "*"
// or the caller's decides.
func attrAllowed(d *identity.AttributeDefinition, app, action string) bool {
	for _, p := range d.Permissions {
		a := p.Application
		if a == "" {
			a = "*"
		}
		if a == "*" || a == app {
			for _, x := range p.AllowedActions {
				if x == "*" || x == action {
					return true
				}
			}
			return false
		}
	}
	return false
}

// ---- access tokens (§2.1) ----

// masterOnly refuses access-token management to all but a master token
// over every tenant and action (identity.Credential.MasterOverAll).
func masterOnly(c *identity.Credential, action string) error {
	if !c.MasterOverAll() {
		return apiErr(http.StatusForbidden, CodeActionDenied,
			"Current subject does not have permission to execute action %q", action)
	}
	return nil
}

// CreateAccessToken creates an access token; the caller must be master.
// An empty id is replaced by a 256-bit random one.
func (s *Service) CreateAccessToken(ctx context.Context, c *identity.Credential, in AccessToken) (*AccessToken, error) {
	if err := masterOnly(c, "CREATE_TOKEN"); err != nil {
		return nil, err
	}
	if in.ID != "" && (len(in.ID) < 16 || len(in.ID) > 512 || strings.ContainsAny(in.ID, "\x00\x01")) {
		return nil, badRequest("Access token id must be 16 to 512 characters")
	}
	if len(in.Application) > 255 {
		return nil, badRequest("Application must be at most 255 characters")
	}
	cred := identity.Credential{Name: in.Application, Application: in.Application, Master: in.Master,
		Environment: c.Environment}
	for _, p := range in.TenantPermissions {
		t := p.Tenant
		if t == "" {
			t = "*"
		}
		cred.TenantPermissions = append(cred.TenantPermissions, identity.TenantPermission{Tenant: t,
			AllowedActions: append([]string{}, p.AllowedActions...)})
	}
	if in.ExpiresOn != nil {
		t := time.UnixMilli(*in.ExpiresOn).UTC()
		cred.ExpiresAt = &t
	}
	secret := in.ID
	if secret == "" {
		var err error
		if secret, err = s.base.NewSecret(); err != nil {
			return nil, err
		}
	}
	cred.Secret = secret
	out, _, err := s.dir(c).CreateCredential(ctx, cred, secret)
	if errors.Is(err, identity.ErrConflict) {
		return nil, apiErr(http.StatusConflict, CodeAccessTokenExists, "An access token with the given ID already exists")
	}
	if err != nil {
		return nil, err
	}
	t := tokenJSON(out)
	return &t, nil
}

// crafterToken finds an access token (a credential that keeps its secret)
// of the caller's environment by id; one of the other environment is not
// found, like an unknown id.
func (s *Service) crafterToken(ctx context.Context, c *identity.Credential, id string) (*identity.Credential, error) {
	if id == "" {
		return nil, apiErr(http.StatusNotFound, CodeNoSuchAccessToken, "No access token found for the given ID")
	}
	tok, err := s.dir(c).CredentialBySecret(ctx, id)
	if tok == nil || (err != nil && !errors.Is(err, identity.ErrExpired)) || tok.Secret == "" {
		return nil, apiErr(http.StatusNotFound, CodeNoSuchAccessToken, "No access token found for the given ID")
	}
	return tok, nil
}

// GetAccessToken returns an access token; master only.
func (s *Service) GetAccessToken(ctx context.Context, c *identity.Credential, id string) (*AccessToken, error) {
	if err := masterOnly(c, "READ_TOKEN"); err != nil {
		return nil, err
	}
	tok, err := s.crafterToken(ctx, c, id)
	if err != nil {
		return nil, err
	}
	t := tokenJSON(tok)
	return &t, nil
}

// AllAccessTokens lists the access tokens of the caller's environment;
// master only.
func (s *Service) AllAccessTokens(ctx context.Context, c *identity.Credential) ([]AccessToken, error) {
	if err := masterOnly(c, "READ_TOKEN"); err != nil {
		return nil, err
	}
	list, err := s.dir(c).ListCredentials(ctx)
	if err != nil {
		return nil, err
	}
	out := []AccessToken{}
	for i := range list {
		if list[i].Secret != "" {
			out = append(out, tokenJSON(&list[i]))
		}
	}
	return out, nil
}

// DeleteAccessToken deletes an access token of the caller's environment
// (silently if absent, or of the other environment); master only.
func (s *Service) DeleteAccessToken(ctx context.Context, c *identity.Credential, id string) error {
	if err := masterOnly(c, "DELETE_TOKEN"); err != nil {
		return err
	}
	tok, err := s.crafterToken(ctx, c, id)
	if err != nil {
		return nil
	}
	return s.dir(c).DeleteCredential(ctx, tok.ID)
}

// Sweep removes expired tickets, persistent logins, verification tokens
// and unknown-username failure counters (and anything else scheduled in
// the store's expiry index), and deletes orphaned attachment blobs of a
// Blobs backend outside the identity store. It returns how many records
// and blobs it removed.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	n, err := kv.SweepExpired(ctx, s.base.KVStore(kv.Inside()), s.base.Now(), 500)
	if err != nil {
		return n, err
	}
	b, err := s.sweepBlobs(ctx, 500)
	return n + b, err
}

// RunSweeper calls Sweep every interval until ctx ends (Crafter's cleaners
// run every 30 s). Errors are logged.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("profile: sweeping expired records", "err", err)
		} else if n > 0 {
			s.log.Debug("profile: swept expired records", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
