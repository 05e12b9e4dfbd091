package admin

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// Cookie names. Each is scoped to the console's path.
const (
	sessionCookie = "gh_admin_session"
	flowCookie    = "gh_admin_flow"
	csrfCookie    = "gh_admin_csrf"
	langCookie    = "gh_admin_lang"
	envCookie     = "gh_admin_env"
)

// maxForm bounds a form body.
const maxForm = 64 << 10

// request is what a page handler knows about its request.
type request struct {
	r      *http.Request
	nonce  string
	lang   string
	env    identity.Environment
	token  string                  // the console session's token ("" when signed out)
	member *identity.ConsoleMember // nil when signed out
	svc    *identity.Service       // scoped to the member, in env
	prod   *identity.Service       // scoped to the member, in production (organizations)
	csrf   string                  // the form token of this session (or the pre-session cookie)
}

func (q *request) ctx() context.Context { return q.r.Context() }

// can reports whether the member's role grants action on resource.
func (q *request) can(action, resource string) bool {
	return q.member != nil && q.member.Allows(action, resource)
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// csrfFor derives a session's form token from its secret token: only a
// holder of the session cookie can compute it, and nothing is stored.
func csrfFor(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("gatehouse admin console csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// ServeHTTP serves the console. Paths are those after the host's prefix
// (the path of Options.BaseURL), which the host strips.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("admin console: panic serving request", "path", httpx.LoggedPath(r), "panic", v)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	nonce := randomToken()[:22]
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; script-src 'nonce-"+nonce+
		"'; img-src 'self' data:; form-action 'self' "+originOf(c.issuer)+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	q := &request{r: r, nonce: nonce, lang: c.language(r), env: identity.Production}
	if ck, err := r.Cookie(envCookie); err == nil && ck.Value == string(identity.Sandbox) {
		q.env = identity.Sandbox
	}
	r = r.WithContext(context.WithValue(r.Context(), reqKey{}, q))
	q.r = r
	c.mux.ServeHTTP(w, r)
}

type reqKey struct{}

func reqOf(r *http.Request) *request { return r.Context().Value(reqKey{}).(*request) }

func originOf(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// handler is a page: it renders or redirects, or returns an error that
// fail maps to a page.
type handler func(w http.ResponseWriter, q *request) error

// public serves a page that needs no session.
func (c *Console) public(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := reqOf(r)
		q.r = r
		_ = c.attachSession(q) // a page that needs no session serves an ended one signed out
		if r.Method == http.MethodPost && !c.checkCSRF(w, q) {
			return
		}
		if err := h(w, q); err != nil {
			c.fail(w, q, err)
		}
	}
}

// signedIn serves a page of a signed-in member. A POST must carry the
// session's form token (else 403) and pass the role check of need (an
// action and a resource; else 403): a viewer's POST is refused before any
// service is called.
func (c *Console) signedIn(action, resource string, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := reqOf(r)
		q.r = r
		if err := c.attachSession(q); err != nil || q.member == nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				next := r.URL.Path
				if r.URL.RawQuery != "" {
					next += "?" + r.URL.RawQuery
				}
				http.Redirect(w, r, c.abs("/login?next="+url.QueryEscape(next)), http.StatusSeeOther)
				return
			}
			c.page(w, q, http.StatusForbidden, "message", view{Title: "signin.required", Message: "signin.expired", Data: "/login"})
			return
		}
		if r.Method == http.MethodPost && !c.checkCSRF(w, q) {
			return
		}
		if action != "" && !q.can(action, resource) {
			c.page(w, q, http.StatusForbidden, "message", view{Title: "error.forbidden", Message: "error.forbidden.text"})
			return
		}
		if err := h(w, q); err != nil {
			c.fail(w, q, err)
		}
	}
}

// attachSession reads the session cookie and, when it names a live
// session, sets the member, the scoped services and the actor of every
// audit event of the request.
func (c *Console) attachSession(q *request) error {
	if ck, err := q.r.Cookie(csrfCookie); err == nil {
		q.csrf = ck.Value
	}
	ck, err := q.r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil
	}
	_, m, err := c.svc.ConsoleSession(q.ctx(), ck.Value)
	if err != nil {
		return err
	}
	if q.svc, err = c.svc.For(m.Scope(q.env)); err != nil {
		return err
	}
	if q.prod, err = c.svc.For(m.Scope(identity.Production)); err != nil {
		return err
	}
	q.member, q.token, q.csrf = m, ck.Value, csrfFor(ck.Value)
	ctx := identity.WithActor(q.r.Context(), m.UserID)
	q.r = q.r.WithContext(ctx)
	return nil
}

// checkCSRF verifies a POST's form token; it answers 403 and returns
// false when the token is missing or wrong.
func (c *Console) checkCSRF(w http.ResponseWriter, q *request) bool {
	q.r.Body = httpx.LimitBody(w, q.r, maxForm)
	if err := q.r.ParseForm(); err != nil {
		c.page(w, q, http.StatusBadRequest, "message", view{Title: "error.bad", Message: "error.bad.text"})
		return false
	}
	got := q.r.PostForm.Get("csrf")
	if q.csrf == "" || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(q.csrf)) != 1 {
		c.page(w, q, http.StatusForbidden, "message", view{Title: "error.csrf", Message: "error.csrf.text"})
		return false
	}
	return true
}

// ensurePreCSRF sets the pre-session form cookie (the setup page's form).
func (c *Console) ensurePreCSRF(w http.ResponseWriter, q *request) {
	if q.csrf != "" {
		return
	}
	q.csrf = randomToken()
	c.setCookie(w, csrfCookie, q.csrf, 3600, http.SameSiteStrictMode)
}

func (c *Console) setCookie(w http.ResponseWriter, name, value string, maxAge int, same http.SameSite) {
	ck := &http.Cookie{Name: name, Value: value, Path: c.cookiePath(), HttpOnly: true, Secure: c.secure,
		SameSite: same, MaxAge: maxAge}
	if value == "" {
		ck.MaxAge = -1
	}
	http.SetCookie(w, ck)
}

// redirect answers 303 to a console path.
func (c *Console) redirect(w http.ResponseWriter, q *request, p string) error {
	http.Redirect(w, q.r, c.abs(p), http.StatusSeeOther)
	return nil
}

// fail maps an error of the core to a page: not found (also another
// organization's resource) 404, forbidden 403, conflict 409, invalid 422,
// anything else 500 (logged).
func (c *Console) fail(w http.ResponseWriter, q *request, err error) {
	switch {
	case errors.Is(err, identity.ErrNotFound):
		c.page(w, q, http.StatusNotFound, "message", view{Title: "error.notfound", Message: "error.notfound.text"})
	case errors.Is(err, identity.ErrForbidden):
		c.page(w, q, http.StatusForbidden, "message", view{Title: "error.forbidden", Message: "error.forbidden.text"})
	case errors.Is(err, identity.ErrConflict):
		c.page(w, q, http.StatusConflict, "message", view{Title: "error.conflict", Message: "error.conflict.text"})
	case errors.Is(err, identity.ErrInvalid):
		c.page(w, q, http.StatusUnprocessableEntity, "message", view{Title: "error.bad", Message: "error.bad.text"})
	default:
		c.log.Error("admin console: request failed", "path", httpx.LoggedPath(q.r), "err", err)
		c.page(w, q, http.StatusInternalServerError, "message", view{Title: "error.internal", Message: "error.internal.text"})
	}
}

// view is what every template gets.
type view struct {
	c *Console
	q *request
	// Title and Message are message keys.
	Title   string
	Message string
	// Errors maps a form field to its reason; Form holds what was typed.
	Errors map[string]string
	Form   url.Values
	// Notice is a message key shown once at the top (after a change).
	Notice string
	Data   any
}

// T translates a message key.
func (v *view) T(key string) string { return translate(v.q.lang, key) }

// U returns the host-relative URL of a console path.
func (v *view) U(p string) string { return v.c.path(p) }

// Nonce is the CSP nonce of the response.
func (v *view) Nonce() string { return v.q.nonce }

// CSRF is the form token.
func (v *view) CSRF() string { return v.q.csrf }

// Lang is the page's language.
func (v *view) Lang() string { return v.q.lang }

// Env is the environment the console acts in.
func (v *view) Env() string { return string(v.q.env) }

// Sandbox reports whether the console acts in the sandbox.
func (v *view) Sandbox() bool { return v.q.env == identity.Sandbox }

// Member is the signed-in member (nil when signed out).
func (v *view) Member() *identity.ConsoleMember { return v.q.member }

// Can reports whether the member may do action on resource: pages show
// only the buttons of what the member may do.
func (v *view) Can(action, resource string) bool { return v.q.can(action, resource) }

// CanOrgs reports whether organizations may be changed here: a role that
// allows it, in production (organizations are shared by both environments
// and change only through production).
func (v *view) CanOrgs(action string) bool {
	return v.q.can(action, identity.ResourceOrganizations) && v.q.env == identity.Production &&
		(action != identity.ActionCreate || v.q.member.AllOrgs())
}

// Resets reports whether the console can mail password reset links.
func (v *view) Resets() bool { return v.c.resets != nil }

// Invites reports whether the console can mail invitations.
func (v *view) Invites() bool { return v.c.invites != nil }

// Here is the current path and query, for the language switch.
func (v *view) Here() string {
	p := v.q.r.URL.Path
	if v.q.r.URL.RawQuery != "" {
		p += "?" + v.q.r.URL.RawQuery
	}
	return p
}

// Err returns the message of a form field ("" if none).
func (v *view) Err(field string) string { return v.Errors[field] }

// Val returns what was typed in a form field.
func (v *view) Val(field string) string { return v.Form.Get(field) }

// page renders a template in the layout with status.
func (c *Console) page(w http.ResponseWriter, q *request, status int, name string, v view) {
	v.c, v.q = c, q
	t := c.tmpl[name]
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", &v); err != nil {
		c.log.Error("admin console: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// parseTemplates parses each page with the layout.
func parseTemplates() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{
		"join": strings.Join,
		"add":  func(a, b int) int { return a + b },
		"fld":  newField,
		"ro":   func(b bool) readOnly { return readOnly(b) },
		"list": func(s ...string) []string { return s },
		"exp":  func(v *view, r ssoRow) expiryView { return expiryView{V: v, R: r} },
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

// fieldErrors turns an *identity.InvalidError into field messages.
func fieldErrors(err error) (map[string]string, bool) {
	var ie *identity.InvalidError
	if !errors.As(err, &ie) {
		return nil, false
	}
	out := map[string]string{}
	for _, f := range ie.Fields {
		if out[f.Field] == "" {
			out[f.Field] = f.Reason
		} else {
			out[f.Field] += "; " + f.Reason
		}
	}
	return out, true
}

// readOnly marks a form field read-only (a viewer's form).
type readOnly bool

// fieldView is one labelled input of a form (the "input" template).
type fieldView struct {
	V                  *view
	Name, Label, Type  string
	Auto, Hint         string
	Optional, ReadOnly bool
}

// newField builds a fieldView: fld VIEW NAME LABEL TYPE AUTOCOMPLETE
// [options], the options being "optional", "hint:KEY" and (ro BOOL).
func newField(v *view, name, label, typ, auto string, opts ...any) fieldView {
	f := fieldView{V: v, Name: name, Label: label, Type: typ, Auto: auto}
	for _, o := range opts {
		switch x := o.(type) {
		case string:
			if x == "optional" {
				f.Optional = true
			} else if k, ok := strings.CutPrefix(x, "hint:"); ok {
				f.Hint = k
			}
		case readOnly:
			f.ReadOnly = bool(x)
		}
	}
	return f
}
