package identity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/journal"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/internal/seal"
)

// PasswordHasher hashes and verifies passwords. Gatehouse's default is
// argon2id (package identity/password); the interface lets a host plug in
// another one. Verify reports whether the password matches and whether the
// stored hash should be replaced (legacy format or old parameters).
type PasswordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
	Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error)
}

// Options configure a Service. Store is required; the rest have defaults.
type Options struct {
	// Store is the storage engine.
	Store Store
	// Environment is the environment the service reads and writes
	// (default Production).
	Environment Environment
	// Clock returns the current time (default time.Now).
	Clock func() time.Time
	// Rand is the source of randomness for ids and secrets
	// (default crypto/rand).
	Rand io.Reader
	// Places resolves autocomplete_address (optional).
	Places PlaceResolver
	// Hasher hashes passwords (optional; users cannot be given passwords
	// without it).
	Hasher PasswordHasher
	// Logger receives operational logs (default slog.Default()).
	Logger *slog.Logger
	// AccountDomain is the domain of the account that manages the
	// organizations (Cryptr's __managed_by__).
	AccountDomain string
	// UserCacheSize bounds the cache of decoded users (default 10000
	// entries; negative disables it). A cached user is reused only when the
	// bytes a read returns are identical to those it was decoded from.
	UserCacheSize int
	// KeyEncryptionKey (32 random bytes) seals the bearer secrets that an
	// API must return again (Crafter access-token ids, persistent-login
	// tokens) and keys the hashes credentials are looked up by. Keep it
	// outside the store and give every instance the same one; package
	// tokens and sso take the same key for private keys. When it is nil an
	// ephemeral key is generated and a warning logged once, by NewService
	// (not by the Services derived from it), unless the store is volatile
	// (VolatileStore, as store/memory): secrets sealed with it do not
	// survive a restart. A store sealed with a key cannot be
	// opened without it, nor with another one (ErrKeyEncryptionKey).
	KeyEncryptionKey []byte
	// LockAfter, LockFor and FailureWindow are the password lockout
	// policy of every face (see PasswordLogin): LockAfter consecutive
	// failures (default 10) lock an identifier for LockFor (default 10
	// min); failures are forgotten FailureWindow (default 24 h, at least
	// LockFor) after the latest.
	LockAfter     int
	LockFor       time.Duration
	FailureWindow time.Duration
	// KeepSessionsOnPasswordChange restores Crafter Profile's rule
	// (§6.2: changing a password leaves tickets and persistent logins
	// alive) for every kind of session. By default (false) a password
	// change or reset ends the user's sessions (see EndUserSessions).
	KeepSessionsOnPasswordChange bool
	// CodeGuessLimit wrong email codes per address (organization and
	// email) within any CodeGuessWindow (defaults 10 and 1 h) spend the
	// address's guess budget; resends do not reset it (see CheckEmailCode).
	CodeGuessLimit  int
	CodeGuessWindow time.Duration
	// CodeSendBurst mails per address within any CodeSendWindow (defaults
	// 5 and 10 min) go at once; beyond that one per client address and
	// CodeSendCooldown (default 1 min) (see AllowCodeSend).
	CodeSendBurst    int
	CodeSendWindow   time.Duration
	CodeSendCooldown time.Duration
}

// Service is the in-process API of the identity core for one environment:
// organizations, their directories (users, tenant settings, MetaKeys),
// applications, credentials and the audit log. Every state change writes
// its audit event in the same transaction. It is safe for concurrent use.
type Service struct {
	store   Store
	env     Environment
	now     func() time.Time
	rand    io.Reader
	places  PlaceResolver
	hasher  PasswordHasher
	log     *slog.Logger
	account string
	ids     *idSource
	events  *eventIDs
	hooks   *hooks
	audit   *auditQueues
	// failures bounds the events of refused API-key authentications
	// (LogCredentialFailure).
	failures *failureBudget
	// journal is the store's audit journal (auditjournal.go), or nil.
	journal *journal.Log
	cache   *recordCaches
	users   *userCache
	secrets *secretKeys
	// scope, when set, limits what the service reaches (see Scope).
	scope *Scope
	// actor is the actor of the service's writes when their context
	// names none: the API key of a Service made by Scoped.
	actor   Actor
	lockout LockoutPolicy
	// keepSessions is Options.KeepSessionsOnPasswordChange.
	keepSessions bool
	codes        CodePolicy
}

// newService is a Service for opts.Environment with its options and
// state, before NewService opens its secrets and journal.
func newService(opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("identity: Options.Store is required")
	}
	s := &Service{store: opts.Store, env: opts.Environment, now: opts.Clock, rand: opts.Rand,
		places: opts.Places, hasher: opts.Hasher, log: opts.Logger, account: opts.AccountDomain}
	if s.env == "" {
		s.env = Production
	}
	if !s.env.Valid() {
		return nil, fmt.Errorf("identity: unknown environment %q", s.env)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.lockout = LockoutPolicy{LockAfter: opts.LockAfter, LockFor: opts.LockFor, FailureWindow: opts.FailureWindow}
	if s.lockout.LockAfter <= 0 {
		s.lockout.LockAfter = DefaultLockAfter
	}
	if s.lockout.LockFor <= 0 {
		s.lockout.LockFor = DefaultLockFor
	}
	if s.lockout.FailureWindow <= 0 {
		s.lockout.FailureWindow = DefaultFailureWindow
	}
	s.lockout.FailureWindow = max(s.lockout.FailureWindow, s.lockout.LockFor)
	s.keepSessions = opts.KeepSessionsOnPasswordChange
	s.codes = CodePolicy{GuessLimit: opts.CodeGuessLimit, GuessWindow: opts.CodeGuessWindow, SendBurst: opts.CodeSendBurst,
		SendWindow: opts.CodeSendWindow, SendCooldown: opts.CodeSendCooldown}
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt(&s.codes.GuessLimit, DefaultCodeGuessLimit)
	defDur(&s.codes.GuessWindow, DefaultCodeGuessWindow)
	defInt(&s.codes.SendBurst, DefaultCodeSendBurst)
	defDur(&s.codes.SendWindow, DefaultCodeSendWindow)
	defDur(&s.codes.SendCooldown, DefaultCodeSendCooldown)
	s.ids = &idSource{}
	s.events = newEventIDs()
	s.hooks = &hooks{}
	s.audit = &auditQueues{}
	s.failures = &failureBudget{}
	s.cache = newRecordCaches()
	if opts.UserCacheSize >= 0 {
		n := opts.UserCacheSize
		if n == 0 {
			n = 10000
		}
		s.users = newUserCache(n)
	}
	if s.rand == nil {
		s.rand = DefaultRand()
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s, nil
}

// NewService returns a Service for opts.Environment. It checks the store
// against opts.KeyEncryptionKey and, the first time a store is opened
// with a key, seals the clear secrets and re-indexes the bare hashes that
// older versions wrote (one transaction, idempotent; one read when there
// is nothing to do). It then writes into the store the audit events its
// audit journal holds (store/bolt after a crash; see LogEvent).
func NewService(opts Options) (*Service, error) {
	s, err := newService(opts)
	if err != nil {
		return nil, err
	}
	kek := opts.KeyEncryptionKey
	if kek == nil {
		var err error
		if kek, err = seal.NewKey(nil); err != nil {
			return nil, err
		}
		// Once per store: the Services derived from this one (ForEnvironment,
		// For, Scoped, WithHasher) share its key and never log; a volatile
		// store (VolatileStore) loses its data with the key anyway.
		if v, ok := s.store.(VolatileStore); !ok || !v.Volatile() {
			s.log.Warn("identity: no Options.KeyEncryptionKey: secrets are sealed with an ephemeral key " +
				"and will not survive a restart; set a persistent 32-byte key")
		}
	} else if len(kek) != seal.KeySize {
		return nil, fmt.Errorf("%w: Options.KeyEncryptionKey must be 32 bytes (AES-256)", ErrKeyEncryptionKey)
	}
	keys, err := newSecretKeys(kek)
	if err != nil {
		return nil, err
	}
	keys.ephemeral = opts.KeyEncryptionKey == nil
	s.secrets = keys
	if err := s.openSecrets(context.Background()); err != nil {
		return nil, err
	}
	if err := s.openJournal(context.Background()); err != nil {
		return nil, err
	}
	return s, nil
}

// ForEnvironment returns a Service with the same options for env. A
// scoped Service (see For) keeps its scope and cannot change environment:
// ForEnvironment on it with another environment is ErrForbidden.
func (s *Service) ForEnvironment(env Environment) (*Service, error) {
	if !env.Valid() {
		return nil, Invalid("environment", "must be sandbox or production")
	}
	if s.scope != nil && env != s.env {
		return nil, fmt.Errorf("a scoped service cannot change environment: %w", ErrForbidden)
	}
	c := *s
	c.env = env
	return &c, nil
}

// WithHasher returns a Service with the same options, state and hooks
// that hashes and checks passwords with h (a face that was given its own
// hasher).
func (s *Service) WithHasher(h PasswordHasher) *Service {
	c := *s
	c.hasher = h
	return &c
}

// Environment returns the service's environment.
func (s *Service) Environment() Environment { return s.env }

// Now returns the current time of the injected clock, truncated to
// microseconds so it survives every backend unchanged.
func (s *Service) Now() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Rand returns the injected source of randomness.
func (s *Service) Rand() io.Reader { return s.rand }

// Hasher returns the configured password hasher (nil if none).
func (s *Service) Hasher() PasswordHasher { return s.hasher }

// Logger returns the service logger.
func (s *Service) Logger() *slog.Logger { return s.log }

// AccountDomain returns the managing account's domain.
func (s *Service) AccountDomain() string { return s.account }

// NewID returns a new time-ordered UUID.
// IDs made by one Service (and those derived with ForEnvironment) strictly
// increase.
func (s *Service) NewID() (string, error) { return s.ids.next(s.rand, s.now()) }

func (s *Service) newID(now time.Time) (string, error) { return s.ids.next(s.rand, now) }

// NewSecret returns a new 256-bit random secret.
func (s *Service) NewSecret() (string, error) { return NewSecret(s.rand) }

// Update runs fn in a read-write transaction with the domain operations of
// Txn. Nothing is written if fn returns an error. fn may run more than once
// (see Store), so it must not have side effects outside the transaction.
func (s *Service) Update(ctx context.Context, fn func(tx *Txn) error) error {
	var last *Txn // the attempt that committed, when the store retries
	err := s.store.Update(ctx, func(tx Tx) error {
		last = &Txn{ReadTxn: ReadTxn{s: s, tx: tx}, w: tx, actor: s.actorOf(ctx)}
		return fn(last)
	})
	if err == nil && last != nil {
		s.runEventHooks(ctx, last.logged)
	}
	return err
}

// View runs fn in a read-only transaction.
func (s *Service) View(ctx context.Context, fn func(tx *ReadTxn) error) error {
	return s.store.View(ctx, func(tx ReadTx) error {
		return fn(&ReadTxn{s: s, tx: tx})
	})
}

// ReadTxn is a read-only view with the domain lookups.
type ReadTxn struct {
	s  *Service
	tx ReadTx
}

// Service returns the service the transaction belongs to.
func (t *ReadTxn) Service() *Service { return t.s }

// Env returns the transaction's environment.
func (t *ReadTxn) Env() Environment { return t.s.env }

// Txn is a read-write transaction with the domain operations. Its methods
// keep indexes, counters and the audit log consistent with the records.
type Txn struct {
	ReadTxn
	w Tx
	// logged holds the events this transaction wrote, for the event
	// hooks once it commits.
	logged []Event
	// actor is the actor of the events it logs that name none (see
	// WithActorOf).
	actor Actor
	// counts, when set (a bulk import), defers the count changes of the
	// user sets that inserted users join; the writer flushes it.
	counts *kv.CountBatch
}

type actorKey struct{}

// Kinds of Actor.
const (
	// ActorUser is a person: a console member, a user acting on their own
	// account. Actor.ID is the user's id.
	ActorUser = "user"
	// ActorAPIKey is a Cryptr API key (a management token's credential).
	// Actor.ID is its client_id, which is public.
	ActorAPIKey = "api_key"
	// ActorAccessToken is a Crafter access token. Actor.ID is the
	// credential's id, never its accessTokenId (the token's secret).
	ActorAccessToken = "access_token"
)

// Actor is who caused an audit event: Event.ActorID and Event.ActorKind.
// The zero Actor is none (the embedder's own code).
type Actor struct {
	ID   string
	Kind string
}

// APIKeyActor is the actor of a write made with a Cryptr API key.
func APIKeyActor(c *Credential) Actor { return Actor{ID: c.ID, Kind: ActorAPIKey} }

// AccessTokenActor is the actor of a write made with a Crafter access
// token: the credential's id, not its secret.
func AccessTokenActor(c *Credential) Actor { return Actor{ID: c.ID, Kind: ActorAccessToken} }

// WithActor returns a context under which every audit event a Service
// writes (through Update and the methods built on it) that names no actor
// of its own records the user actor as its ActorID (ActorKind
// ActorUser). A face that acts for a person (the admin console for its
// signed-in user) sets it once per request, so every change it makes is
// attributed without each service method taking an actor.
func WithActor(ctx context.Context, actor string) context.Context {
	return WithActorOf(ctx, Actor{ID: actor, Kind: ActorUser})
}

// WithActorOf is WithActor for any kind of actor: a face that
// authenticated a credential (the Crafter face for its access token,
// AccessTokenActor) sets it once per request. It takes precedence over the
// actor of a Service (see Scoped).
func WithActorOf(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// actorOf returns the actor of the writes of s under ctx: the one
// WithActorOf put in ctx, else the service's own (a Service made by
// Scoped for an API key), else none.
func (s *Service) actorOf(ctx context.Context) Actor {
	if a, _ := ctx.Value(actorKey{}).(Actor); a.ID != "" {
		return a
	}
	return s.actor
}

// PageRequest asks for one page of a list. Pages count from 1.
type PageRequest struct {
	Page    int
	PerPage int
}

// DefaultPerPage is Cryptr's page size; MaxPerPage caps what a caller may ask.
const (
	DefaultPerPage = 8
	MaxPerPage     = 100
)

// Normalize applies defaults and bounds: page >= 1, 1 <= per page <= MaxPerPage.
func (p PageRequest) Normalize() PageRequest {
	if p.Page < 1 {
		p.Page = 1
	}
	if p.PerPage <= 0 {
		p.PerPage = DefaultPerPage
	}
	if p.PerPage > MaxPerPage {
		p.PerPage = MaxPerPage
	}
	return p
}

// Offset is the number of items before the page.
func (p PageRequest) Offset() int { return (p.Page - 1) * p.PerPage }

// Page is one page of a list, with the total from maintained counters.
type Page[T any] struct {
	Items   []T
	Total   int
	Page    int
	PerPage int
}

// TotalPages is the number of pages (at least 1).
func (p Page[T]) TotalPages() int {
	if p.Total == 0 || p.PerPage == 0 {
		return 1
	}
	return (p.Total + p.PerPage - 1) / p.PerPage
}

// pageOf lists one page of a set, newest first, loading items with load.
func pageOf[T any](tx ReadTx, set kv.Set, req PageRequest, load func(id string) (T, error)) (Page[T], error) {
	req = req.Normalize()
	total, err := set.Count(tx)
	if err != nil {
		return Page[T]{}, err
	}
	out := Page[T]{Total: total, Page: req.Page, PerPage: req.PerPage, Items: []T{}}
	if req.Offset() >= total {
		return out, nil
	}
	ids, err := set.NewestFirst(tx, total, req.Offset(), req.PerPage)
	if err != nil {
		return out, err
	}
	out.Items = make([]T, 0, len(ids))
	for _, id := range ids {
		v, err := load(id)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, v)
	}
	return out, nil
}
