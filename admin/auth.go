package admin

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/identity"
)

// flowTTL bounds a sign-in in progress (seconds).
const flowTTL = 600

// flow is the state of a sign-in in progress, kept in a short-lived
// HttpOnly cookie of the console's path.
type flow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"x"`
}

// safeNext keeps a return path only when it is a console path.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}

func (c *Console) login(w http.ResponseWriter, q *request) error {
	if q.member != nil {
		return c.redirect(w, q, safeNext(q.r.URL.Query().Get("next")))
	}
	d, err := c.discover(q.ctx())
	if err != nil {
		return err
	}
	f := flow{State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(),
		Next: safeNext(q.r.URL.Query().Get("next"))}
	raw, _ := json.Marshal(f)
	// Lax: the provider's redirect back is a top-level navigation.
	c.setCookie(w, flowCookie, base64.RawURLEncoding.EncodeToString(raw), flowTTL, http.SameSiteLaxMode)
	// prompt=login: each console sign-in authenticates again, so that the
	// provider's browser session (12 h, shared with every application)
	// neither signs a member back in after "sign out" nor outlives the
	// console's idle timeout.
	u := d.oauth.AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier),
		oauth2.SetAuthURLParam("ui_locales", q.lang), oauth2.SetAuthURLParam("prompt", "login"))
	http.Redirect(w, q.r, u, http.StatusSeeOther)
	return nil
}

func (c *Console) callback(w http.ResponseWriter, q *request) error {
	refuse := func(status int, msg string) error {
		c.setCookie(w, flowCookie, "", 0, http.SameSiteLaxMode)
		c.page(w, q, status, "message", view{Title: "signin.failed", Message: msg})
		return nil
	}
	ck, err := q.r.Cookie(flowCookie)
	if err != nil {
		return refuse(http.StatusBadRequest, "signin.failed.text")
	}
	raw, err := base64.RawURLEncoding.DecodeString(ck.Value)
	var f flow
	if err != nil || json.Unmarshal(raw, &f) != nil || f.State == "" {
		return refuse(http.StatusBadRequest, "signin.failed.text")
	}
	qs := q.r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(qs.Get("state")), []byte(f.State)) != 1 || qs.Get("code") == "" {
		return refuse(http.StatusBadRequest, "signin.failed.text")
	}
	d, err := c.discover(q.ctx())
	if err != nil {
		return err
	}
	tok, err := d.oauth.Exchange(oidcCtx(q, c), qs.Get("code"), oauth2.VerifierOption(f.Verifier))
	if err != nil {
		c.log.Info("admin console: code exchange refused", "err", err)
		return refuse(http.StatusBadRequest, "signin.failed.text")
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := d.verifier.Verify(oidcCtx(q, c), rawID)
	if err != nil || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		c.log.Info("admin console: ID token refused", "err", err)
		return refuse(http.StatusBadRequest, "signin.failed.text")
	}
	token, _, err := c.svc.OpenConsoleSession(q.ctx(), idt.Subject, c.policy)
	if errors.Is(err, identity.ErrForbidden) {
		return refuse(http.StatusForbidden, "signin.norole")
	} else if err != nil {
		return err
	}
	c.setCookie(w, flowCookie, "", 0, http.SameSiteLaxMode)
	// Lax, not Strict: the browser arrives here from the provider's page,
	// and a Strict cookie would not be sent with the redirect that
	// follows. Every state change is a POST with a form token.
	c.setCookie(w, sessionCookie, token, int(c.absolute().Seconds()), http.SameSiteLaxMode)
	return c.redirect(w, q, f.Next)
}

// absolute is the sessions' absolute timeout.
func (c *Console) absolute() time.Duration {
	if c.policy.Absolute > 0 {
		return c.policy.Absolute
	}
	return identity.DefaultConsoleAbsolute
}

func (c *Console) logout(w http.ResponseWriter, q *request) error {
	if q.token != "" {
		if err := c.svc.EndConsoleSession(q.ctx(), q.token); err != nil {
			return err
		}
	}
	c.setCookie(w, sessionCookie, "", 0, http.SameSiteLaxMode)
	c.page(w, q, http.StatusOK, "message", view{Title: "signout.done", Message: "signout.text"})
	return nil
}

// home sends a signed-in member to the organizations.
func (c *Console) home(w http.ResponseWriter, q *request) error { return c.redirect(w, q, "/orgs") }

// setupForm shows the first-owner form of a valid setup link. A GET never
// consumes the link.
func (c *Console) setupForm(w http.ResponseWriter, q *request) error {
	tok := q.r.URL.Query().Get("token")
	if !c.svc.ValidConsoleSetup(q.ctx(), tok) {
		c.page(w, q, http.StatusNotFound, "message", view{Title: "setup.invalid", Message: "setup.invalid.text"})
		return nil
	}
	c.ensurePreCSRF(w, q)
	c.page(w, q, http.StatusOK, "setup", view{Title: "setup.title", Form: map[string][]string{"token": {tok}}})
	return nil
}

// setup consumes the setup link and creates the first owner.
func (c *Console) setup(w http.ResponseWriter, q *request) error {
	f := q.r.PostForm
	_, err := c.svc.ClaimConsoleSetup(q.ctx(), identity.ConsoleSetupClaim{Token: f.Get("token"), Email: f.Get("email"),
		Name: f.Get("name"), Password: f.Get("password")})
	if errs, ok := fieldErrors(err); ok {
		f.Del("password")
		c.page(w, q, http.StatusUnprocessableEntity, "setup", view{Title: "setup.title", Errors: errs, Form: f})
		return nil
	}
	if errors.Is(err, identity.ErrUnauthenticated) {
		c.page(w, q, http.StatusForbidden, "message", view{Title: "setup.invalid", Message: "setup.invalid.text"})
		return nil
	}
	if err != nil {
		return err
	}
	c.page(w, q, http.StatusOK, "message", view{Title: "setup.done", Message: "setup.done.text", Data: "/login"})
	return nil
}

// switchLang sets the language cookie and goes back. It is a GET (a link
// in the header, no form): it changes only a display preference.
func (c *Console) switchLang(w http.ResponseWriter, q *request) error {
	l := q.r.URL.Query().Get("l")
	if _, ok := catalog[l]; !ok {
		l = "en"
	}
	c.setCookie(w, langCookie, l, 365*24*3600, http.SameSiteLaxMode)
	return c.backTo(w, q, q.r.URL.Query().Get("next"))
}

// switchEnv sets the environment the console acts in.
func (c *Console) switchEnv(w http.ResponseWriter, q *request) error {
	env := identity.Production
	if q.r.PostForm.Get("env") == string(identity.Sandbox) {
		env = identity.Sandbox
	}
	c.setCookie(w, envCookie, string(env), 365*24*3600, http.SameSiteStrictMode)
	return c.back(w, q)
}

// back redirects to the form's "next" console path.
func (c *Console) back(w http.ResponseWriter, q *request) error {
	return c.backTo(w, q, q.r.PostForm.Get("next"))
}

// backTo redirects to a console path (never elsewhere).
func (c *Console) backTo(w http.ResponseWriter, q *request, next string) error {
	next = safeNext(next)
	if c.basePath != "" && strings.HasPrefix(next, c.basePath+"/") {
		next = strings.TrimPrefix(next, c.basePath)
	}
	return c.redirect(w, q, next)
}

// oidcCtx carries the console's HTTP client to go-oidc and x/oauth2.
func oidcCtx(q *request, c *Console) context.Context { return oidc.ClientContext(q.ctx(), c.client) }
