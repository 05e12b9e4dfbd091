// Package admin is Gatehouse's admin console: server-rendered pages
// (html/template, no JavaScript needed) in English and French where an
// operator manages organizations, their users, applications and SSO
// connections and reads the audit log, in either environment.
//
// # Mounting
//
// A Console is an http.Handler that serves root-relative paths; the host
// mounts it under any prefix with http.StripPrefix, and Options.BaseURL
// carries that prefix, from which every link, form action, redirect and
// cookie path the console emits derives:
//
//	con, err := admin.New(ctx, admin.Options{Identity: svc,
//		BaseURL: "https://id.example.com/admin", ProviderURL: "https://id.example.com"})
//	mux.Handle("/admin/", http.StripPrefix("/admin", con))
//
// # Signing in
//
// The console has no password of its own. Its users are users of the
// account's organization (identity.Options.AccountDomain), who sign in
// through Gatehouse's own OIDC provider (package tokens/provider) with the
// authorization code flow and PKCE (S256) on the provider's hosted login
// page. New registers, in that organization, an application for the
// console (a public client: no secret to keep across restarts or share
// between instances; PKCE, the exact redirect URI {BaseURL}/callback and
// the nonce bind each code to the browser that asked for it).
//
// A signed-in user needs a console role (identity.ConsoleRole), a rule of
// the identity core: an owner may do everything, API keys included; an
// admin everything but API keys, console roles and the account's own
// organization (its users are the console's members: identity.Scope.
// ExceptAccount); a viewer only reads, that organization excepted.
// A role may be limited to some organizations. Every page acts through
// an identity.Service scoped to the member (identity.ConsoleMember.Scope),
// so the core itself hides other organizations (a 404, as an unknown one)
// and refuses writes the role does not allow; the console also checks
// the role before calling the core, shows no button for what the role
// may not do, and answers a refused POST with 403.
//
// # The first owner
//
// There is no default account. While no owner exists, Console.SetupURL
// (or PrintSetup) issues a one-time setup link (256 random bits, stored
// hashed, single use, valid identity.ConsoleSetupTTL; each call replaces
// the previous link) that the host prints on start. Opening it shows a
// form (a GET consumes nothing); its POST creates the account's
// organization if needed, the owner's user with the password chosen, and
// the owner role, in one transaction. The owner then signs in.
//
// # Sessions and forms
//
// A sign-in opens a console session kept by the core (identity
// OpenConsoleSession): a 256-bit token in an HttpOnly cookie of the
// console's path (Secure under https, SameSite=Lax), stored hashed, with
// an idle and an absolute timeout (Options.IdleTimeout, AbsoluteTimeout).
// The session ends when the user loses the role, is disabled or changes
// password. Every form carries a token derived from the session (a
// pre-session cookie for the setup form); a POST without it is refused
// with 403 before anything else runs. Pages are served with a
// Content-Security-Policy whose only style and script sources are a
// per-response nonce, X-Frame-Options: DENY, nosniff and no-store.
//
// # Crafter tenants and access tokens
//
// With Options.Crafter (*profile.Service), the console manages what the
// Crafter Profile face calls a tenant (an organization's directory
// settings in one environment) and its access tokens by calling that
// face's own rules, never the store: removing a role or an attribute
// definition cascades to every profile, a new default value is
// back-filled, names are validated, exactly as through /api/1. Each call
// takes the access token profile.Service.CredentialFor derives from the
// member's scoped identity.Service: the tenant actions its role grants
// (read:tenants, update:tenants) on its organizations' tenants only, and
// master (access tokens) only for an owner over every organization. The
// face itself therefore refuses a viewer's or another organization's
// admin's change (403 ACTION_DENIED), beneath the console's own role
// check. Removals show a confirmation page first (their POST needs
// confirm=yes); a refusal of the face about one input is shown beside
// that input (profile.Error.Field).
//
// # Audit
//
// Every change the console makes goes through the same services as the
// APIs, under identity.WithActor, so its audit event names the console
// user as actor; sign-ins and sign-outs are audited too
// (CONSOLE_SIGNED_IN, CONSOLE_SIGNED_OUT).
//
// # Invitations
//
// With Options.Invitations (the OIDC provider, which the root package
// wires), the user page mails an enabled user an invitation, and the
// new-user form can do it at once. The console calls
// Invitations.InviteUser with the member's scoped service: the identity
// core's rule (identity.Service.InviteUser) needs update:users and the
// organization in scope, refuses a disabled user (409 here), spends the
// address's email send budget (429 when spent) and audits USER_INVITED
// with the member as actor. The mail holds a single-use link (stored
// hashed, valid 24 hours) to the provider's
// {provider}/t/{domain}/invitation/{token}: a confirmation page whose
// button signs the user in at the organization (a browser session at its
// issuer; the address becomes verified) and lands them where the
// administrator chose: an application of the organization with a web
// origin (identity.Application.InvitationLanding; its own sign-in is then
// answered from the session), or the
// organization's page saying they are signed in.
//
// # Keyboard and screen readers
//
// Every page starts with a skip link to the main region, every control
// is reachable with Tab in reading order and shows a visible focus ring
// (:focus-visible), forms label every field and tie errors to it
// (aria-describedby, aria-invalid).
//
// # Pages
//
//	/orgs                          organizations: list (pages of the core's
//	                               index), search by name or domain prefix
//	/orgs/new, /orgs/{domain}      create; settings, allowed email domains,
//	                               sign-up policy (production only)
//	/orgs/{domain}/users           search by email prefix or name, and by a
//	                               MetaData key=value (identity.UserSearch
//	                               MetaKey), pages by cursor
//	/orgs/{domain}/users/new       create a user, and mail an invitation at
//	                               once (Options.Invitations)
//	/orgs/{domain}/users/{id}      profile, MetaData (typed), enable/disable,
//	                               unlock, live tickets and persistent logins
//	                               (identity.ListUserSessions), end every
//	                               session, mail a password reset
//	                               link (Options.PasswordResets), mail a
//	                               sign-in invitation (Options.Invitations),
//	                               delete (confirmed)
//	/orgs/{domain}/events          audit log filtered by code, actor, dates; .csv export;
//	                               the events of the API keys that reach the
//	                               organization are in it (identity.CredentialEvent)
//	/orgs/{domain}/apps            applications: create each type, redirect URIs,
//	                               origins, signing algorithm, delete; the client
//	                               secret is shown once, at creation and rotation
//	/orgs/{domain}/apps/{client}   an application's settings, the organization's
//	                               MetaKeys (add: name, type, required; delete
//	                               after a confirmation page, values included;
//	                               the core needs create:/delete:user_metakeys)
//	                               and, with Options.JWTSamples, the JWT sample:
//	                               the decoded claims of an access token and an
//	                               ID token of the application, built by the
//	                               token issuer's own code (tokens.Service
//	                               JWTSample: MetaData, the host's
//	                               ClaimsUpdater, the application's lifetimes
//	                               and algorithm), for a user chosen by email
//	                               (?sample_user=) or, without one, with the
//	                               MetaKeys described; the sample tokens are
//	                               signed by a key no verifier trusts
//	/orgs/{domain}/sso             SSO connections (with Options.SSO): state,
//	                               onboarding state, seats, user policy, IdP
//	                               metadata expiry (warned MetadataWarning
//	                               ahead); create one with its administrator's
//	                               onboarding, the setup link mailed if asked
//	/orgs/{domain}/sso/{idp_id}    a connection: its settings (active, seats,
//	                               user policy: sso.Service.UpdateConnection,
//	                               which needs update:sso_connections), its
//	                               onboarding (create or start over), a setup
//	                               link to copy (shown once) or to mail, the
//	                               last test sign-in's result and reason
//	/orgs/{domain}/tenant          the Crafter tenant (with Options.Crafter):
//	                               verify_new_profiles, roles (add; remove,
//	                               confirmed), attribute definitions with
//	                               their permissions per application (add,
//	                               edit; remove, confirmed) and, beside
//	                               Crafter's type, a MetaKey's own type
//	                               (string, integer, ...: the core's)
//	/keys                          API keys of the environment (owners over every
//	                               organization): create, secret shown once,
//	                               revoke; with Options.Crafter, the
//	                               Crafter access tokens too (listed without
//	                               their id, created with the id shown once,
//	                               revoked by credential id)
//	/members                       console roles (owners over every organization):
//	                               grant to a user of the account's organization, revoke
//
// The environment (production or sandbox) is shown in the header of every
// page with a switch; organizations are shared by both and change only in
// production, while users and the audit log are the chosen environment's.
package admin
