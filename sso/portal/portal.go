// Package portal is the onboarding portal of enterprise SSO: the pages where
// a customer's IT administrator, following the single-use setup link of the
// invitation mail, configures one SAML connection.
//
//	GET  /enterprise-setup/{token}      confirmation page (mail scanners follow links: GET never consumes)
//	POST /enterprise-setup/{token}      consumes the link, opens a session limited to the connection
//	GET  /enterprise-setup/             where the administrator left off
//	GET, POST /enterprise-setup/provider   choose the identity provider product
//	GET, POST /enterprise-setup/configure  SP values, metadata download, per-provider instructions
//	GET, POST /enterprise-setup/metadata   upload or paste the IdP metadata, or give its https URL (validated)
//	GET, POST /enterprise-setup/test       run a test sign-in
//	GET  /enterprise-setup/test-result    the result: success, or the exact failure reason
//
// Pages are server-rendered in English and French (?lang=en|fr, else the
// Accept-Language header), need no JavaScript, carry a CSRF token in every
// form (double-submit cookie checked against the session's hash), and are
// served with a restrictive Content-Security-Policy (styles only through a
// per-response nonce), X-Frame-Options: DENY, nosniff and no-referrer.
// They share the hosted login pages' look (package pages), branded by
// sso.Options.Branding or WithBranding, and name the organization by its
// display name. The onboarding's state and tutorial step follow
// the administrator's progress.
//
// The paths above are relative to the SSO service's base URL. When it
// carries a path (https://app.example/auth), the portal's links, form
// actions, redirects and cookie path (sso.Service.BasePath +
// "/enterprise-setup/") carry it too, and a host strips it before calling
// the portal, with mux.Handle("/auth/", http.StripPrefix("/auth", h)).
//
// A metadata URL is fetched by the server, so it is held to what cannot
// reach the server's own network: https only, at most 1 MiB and 10 seconds,
// never a private, loopback or link-local address (every address the name
// resolves to is checked, the checked address is dialed, and redirects are
// checked the same way; see internal/safefetch).
package portal

import (
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/safefetch"
	"github.com/gatehouse-id/gatehouse/pages"
	"github.com/gatehouse-id/gatehouse/sso"
	"github.com/gatehouse-id/gatehouse/sso/saml"
	"github.com/gatehouse-id/gatehouse/sso/templates"
)

const (
	sessionCookie = "gh_sso_setup"
	csrfCookie    = "gh_sso_csrf"
	// startCookie is the double-submit CSRF token of the start page, so a
	// foreign page cannot sign a browser into the attacker's setup session.
	startCookie   = "gh_sso_start"
	startTokenTTL = 3600
	prefix        = "/enterprise-setup"
	// maxUpload bounds a metadata upload (the form and the file).
	maxUpload = saml.MaxMetadataBytes + 64<<10
)

// metadataFetchTimeout bounds the fetch of a metadata URL.
const metadataFetchTimeout = 10 * time.Second

// Handler serves the portal.
type Handler struct {
	svc      *sso.Service
	branding *pages.Branding
	pages    *pages.Set
	mux      *http.ServeMux
	fetcher  *safefetch.Fetcher
}

// pageNames are the portal's pages; their override names (Branding
// Templates) have the prefix "portal-".
var pageNames = []string{"start", "message", "provider", "configure", "metadata", "test"}

// WithBranding gives the portal its own look (by default, the SSO
// service's: sso.Options.Branding). New refuses an invalid one with a
// *pages.BrandingError.
func WithBranding(b pages.Branding) Option {
	return func(h *Handler) { h.branding = &b }
}

// Option configures New.
type Option func(*Handler)

// AllowLoopbackMetadataURLsForTests lets the portal fetch metadata URLs from
// loopback addresses, verified with roots (an httptest TLS server's
// certificate). Every other non-public address is still refused. It exists
// for tests only: a deployed portal must never use it.
func AllowLoopbackMetadataURLsForTests(roots *x509.CertPool) Option {
	return func(h *Handler) {
		h.fetcher.AllowLoopbackForTests = true
		h.fetcher.RootCAs = roots
	}
}

// New returns the portal of svc.
func New(svc *sso.Service, opts ...Option) (*Handler, error) {
	h := &Handler{svc: svc, mux: http.NewServeMux(),
		fetcher: &safefetch.Fetcher{MaxBytes: saml.MaxMetadataBytes, Timeout: metadataFetchTimeout}}
	for _, o := range opts {
		o(h)
	}
	look := svc.Look()
	if h.branding != nil {
		var err error
		if look, err = pages.New(*h.branding); err != nil {
			return nil, fmt.Errorf("portal: %w", err)
		}
	}
	funcs := template.FuncMap{"t": func(d *pageData, key string) string { return d.t(key) }}
	set, err := look.Parse(templates.FS, funcs, "portal-", []string{"frame.html"}, pageNames...)
	if err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	h.pages = set
	h.mux.HandleFunc("GET "+prefix+"/{$}", h.session(h.home))
	h.mux.HandleFunc("GET "+prefix+"/provider", h.session(h.providerPage))
	h.mux.HandleFunc("POST "+prefix+"/provider", h.session(h.csrf(h.providerPost)))
	h.mux.HandleFunc("GET "+prefix+"/configure", h.session(h.configurePage))
	h.mux.HandleFunc("POST "+prefix+"/configure", h.session(h.csrf(h.configurePost)))
	h.mux.HandleFunc("GET "+prefix+"/metadata", h.session(h.metadataPage))
	h.mux.HandleFunc("POST "+prefix+"/metadata", h.session(h.csrf(h.metadataPost)))
	h.mux.HandleFunc("GET "+prefix+"/test", h.session(h.testPage))
	h.mux.HandleFunc("GET "+prefix+"/test-result", h.session(h.testPage))
	h.mux.HandleFunc("POST "+prefix+"/test", h.session(h.csrf(h.testPost)))
	h.mux.HandleFunc("GET "+prefix+"/{token}", h.startPage)
	h.mux.HandleFunc("POST "+prefix+"/{token}", h.startPost)
	return h, nil
}

// ServeHTTP serves a portal request with the security headers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cache-Control", "no-store")
	// Answers that are not pages (redirects) get the strictest policy;
	// pages replace it with their own (pages.Look.CSP).
	hd.Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.mux.ServeHTTP(w, r)
}

// pageData is what every template receives (documented in package pages
// for template overrides).
type pageData struct {
	Lang, OtherLang, OtherLangURL, Base string
	Title, Error, Success, Message      string
	// OrgName is the display name of the connection's organization.
	OrgName                         string
	Nonce                           string
	Warnings                        []string
	CSRF                            string
	Action                          string
	Conn                            *sso.Connection
	Onboarding                      *sso.Onboarding
	Steps                           []step
	SP                              spValues
	Providers                       []providerChoice
	ProviderLabel                   string
	Instructions                    []string
	Metadata                        string
	MetadataURL                     string
	HasMetadata                     bool
	Tested, TestOK                  bool
	TestResult, TestError, TestHint string
	// formAction is the page's CSP form-action: 'self', and the IdP on
	// the test page (its form's redirect goes there).
	formAction string
}

// Frame is what the shared layout reads.
func (d *pageData) Frame() pages.Frame {
	return pages.Frame{Lang: d.Lang, Title: d.Title, Subtitle: d.OrgName, Error: d.Error, Notice: d.Success,
		Warnings: d.Warnings, Nonce: d.Nonce, SkipLabel: d.t("skip"), Wide: true}
}

type step struct {
	Label, URL    string
	Current, Done bool
}

type spValues struct{ EntityID, ACSURL, MetadataURL, SLOURL, LoginURL string }

type providerChoice struct {
	Value, Label string
	Checked      bool
}

func (d *pageData) t(key string) string {
	if m, ok := messages[d.Lang][key]; ok {
		return m
	}
	return messages["en"][key]
}

// lang picks the language: ?lang=, else Accept-Language.
func lang(r *http.Request) string {
	switch l := r.URL.Query().Get("lang"); l {
	case "en", "fr":
		return l
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		if strings.HasPrefix(tag, "fr") {
			return "fr"
		}
		if strings.HasPrefix(tag, "en") {
			return "en"
		}
	}
	return "en"
}

func (h *Handler) newPage(r *http.Request, titleKey string) *pageData {
	d := &pageData{Lang: lang(r), Base: h.svc.BaseURL()}
	d.OtherLang = "fr"
	if d.Lang == "fr" {
		d.OtherLang = "en"
	}
	q := r.URL.Query()
	q.Set("lang", d.OtherLang)
	d.OtherLangURL = h.svc.BasePath() + r.URL.EscapedPath() + "?" + q.Encode()
	d.Title = d.t(titleKey)
	return d
}

func (h *Handler) render(w http.ResponseWriter, status int, name string, d *pageData) {
	d.Nonce = pages.NewNonce()
	fa := "'self'"
	if d.formAction != "" {
		fa += " " + d.formAction
	}
	if err := h.pages.Render(w, status, "portal-"+name, d, fa); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

func (h *Handler) message(w http.ResponseWriter, r *http.Request, status int, titleKey, msgKey string) {
	d := h.newPage(r, titleKey)
	d.Message = d.t(msgKey)
	h.render(w, status, "message", d)
}

// at returns the public path of the portal's page rest ("/configure?lang=en"):
// under the base URL's path, which the host strips before the portal
// routes a request.
func (h *Handler) at(rest string) string { return h.svc.BasePath() + prefix + rest }

func (h *Handler) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	ck := &http.Cookie{Name: name, Value: value, Path: h.at("/"), HttpOnly: true, MaxAge: maxAge,
		SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(h.svc.BaseURL(), "https://")}
	http.SetCookie(w, ck)
}

// startPage is the landing page of a setup link: it consumes nothing.
func (h *Handler) startPage(w http.ResponseWriter, r *http.Request) {
	d := h.newPage(r, "start_title")
	d.Action = h.at("/") + url.PathEscape(r.PathValue("token")) + "?lang=" + d.Lang
	d.CSRF = rand.Text()
	h.setCookie(w, startCookie, d.CSRF, startTokenTTL)
	h.render(w, http.StatusOK, "start", d)
}

// startPost consumes the link and opens the portal session.
func (h *Handler) startPost(w http.ResponseWriter, r *http.Request) {
	r.Body = httpx.LimitBody(w, r, 64<<10)
	ck, err := r.Cookie(startCookie)
	if err != nil || r.ParseForm() != nil || ck.Value == "" ||
		subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		h.message(w, r, http.StatusForbidden, "start_title", "csrf")
		return
	}
	h.setCookie(w, startCookie, "", -1)
	secret, csrfTok, ps, err := h.svc.RedeemSetupLink(r.Context(), r.PathValue("token"))
	if err != nil {
		if errors.Is(err, identity.ErrNotFound) || errors.Is(err, identity.ErrExpired) {
			h.message(w, r, http.StatusGone, "link_gone_title", "link_gone")
			return
		}
		h.message(w, r, http.StatusServiceUnavailable, "link_gone_title", "unavailable")
		return
	}
	maxAge := int(ps.ExpiresAt.Sub(h.svc.Now()).Seconds())
	h.setCookie(w, sessionCookie, secret, maxAge)
	h.setCookie(w, csrfCookie, csrfTok, maxAge)
	http.Redirect(w, r, h.at("/?lang="+lang(r)), http.StatusSeeOther)
}

// sessionCtx is the state of an authenticated portal request.
type sessionCtx struct {
	ps   *sso.PortalSession
	id   *identity.Service
	conn *sso.Connection
	onb  *sso.Onboarding
	csrf string
	// orgName is the organization's display name (its domain if it has
	// none).
	orgName string
}

type sessionHandler func(w http.ResponseWriter, r *http.Request, s *sessionCtx)

// session loads the portal session and its connection, or answers that it
// has ended.
func (h *Handler) session(next sessionHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(sessionCookie)
		if err != nil {
			h.message(w, r, http.StatusUnauthorized, "session_gone_title", "session_gone")
			return
		}
		ps, err := h.svc.PortalSession(r.Context(), ck.Value)
		if err != nil {
			h.message(w, r, http.StatusUnauthorized, "session_gone_title", "session_gone")
			return
		}
		id, err := h.svc.Identity(ps.Env)
		if err != nil {
			h.message(w, r, http.StatusServiceUnavailable, "session_gone_title", "unavailable")
			return
		}
		d, err := h.svc.GetConnection(r.Context(), id, ps.ConnectionID)
		if err != nil || d.Onboarding == nil {
			h.message(w, r, http.StatusUnauthorized, "session_gone_title", "session_gone")
			return
		}
		s := &sessionCtx{ps: ps, id: id, conn: &d.Connection, onb: d.Onboarding, orgName: d.Connection.OrgDomain}
		if org, err := id.GetOrganization(r.Context(), d.Connection.OrgDomain); err == nil && org.Name != "" {
			s.orgName = org.Name
		}
		if c, err := r.Cookie(csrfCookie); err == nil && identity.SecretMatches(c.Value, ps.CSRFHash) {
			s.csrf = c.Value
		}
		next(w, r, s)
	}
}

// csrf refuses a form whose token is not the session's.
func (h *Handler) csrf(next sessionHandler) sessionHandler {
	return func(w http.ResponseWriter, r *http.Request, s *sessionCtx) {
		r.Body = httpx.LimitBody(w, r, maxUpload)
		var err error
		if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
			err = r.ParseMultipartForm(maxUpload)
		} else {
			err = r.ParseForm()
		}
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			d := h.sessionPage(r, s, "metadata_title")
			d.Message = d.t("too_large")
			h.render(w, http.StatusRequestEntityTooLarge, "message", d)
			return
		}
		tok := ""
		if err == nil {
			tok = r.PostFormValue("csrf")
		}
		if s.csrf == "" || tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.csrf)) != 1 {
			d := h.sessionPage(r, s, "session_gone_title")
			d.Message = d.t("csrf")
			h.render(w, http.StatusForbidden, "message", d)
			return
		}
		next(w, r, s)
	}
}

// sessionPage builds the common data of a session page.
func (h *Handler) sessionPage(r *http.Request, s *sessionCtx, titleKey string) *pageData {
	d := h.newPage(r, titleKey)
	d.CSRF, d.Conn, d.Onboarding, d.OrgName = s.csrf, s.conn, s.onb, s.orgName
	d.HasMetadata = s.conn.Metadata != ""
	idp := s.conn.ID
	d.SP = spValues{EntityID: h.svc.EntityID(idp), ACSURL: h.svc.ACSURL(idp), MetadataURL: h.svc.MetadataURL(idp),
		SLOURL: h.svc.SLOURL(idp), LoginURL: h.svc.LoginURL(idp)}
	cur := map[string]string{prefix + "/provider": "provider", prefix + "/configure": "configure",
		prefix + "/metadata": "metadata", prefix + "/test": "test", prefix + "/test-result": "test"}[r.URL.Path]
	for i, st := range []struct{ key, page string }{{"step_provider", "provider"}, {"step_configure", "configure"},
		{"step_metadata", "metadata"}, {"step_test", "test"}} {
		d.Steps = append(d.Steps, step{Label: d.t(st.key), URL: h.at("/" + st.page + "?lang=" + d.Lang),
			Current: cur == st.page, Done: s.onb.TutorialStep > i})
	}
	return d
}

// home sends the administrator to the step they reached.
func (h *Handler) home(w http.ResponseWriter, r *http.Request, s *sessionCtx) {
	page := "provider"
	switch s.onb.TutorialStep {
	case sso.StepConfigureIdP:
		page = "configure"
	case sso.StepUploadMetadata:
		page = "metadata"
	case sso.StepTestSignIn, sso.StepDone:
		page = "test"
	}
	if s.onb.ProviderType == "" {
		page = "provider"
	}
	http.Redirect(w, r, h.at("/"+page+"?lang="+lang(r)), http.StatusSeeOther)
}

func (h *Handler) providerPage(w http.ResponseWriter, r *http.Request, s *sessionCtx) {
	h.renderProvider(w, r, s, http.StatusOK, "")
}

func (h *Handler) renderProvider(w http.ResponseWriter, r *http.Request, s *sessionCtx, status int, errKey string) {
	d := h.sessionPage(r, s, "provider_title")
	if errKey != "" {
		d.Error = d.t(errKey)
	}
	for _, p := range sso.ProviderTypes() {
		if p == sso.ProviderUnset {
			continue
		}
		d.Providers = append(d.Providers, providerChoice{Value: p, Label: providerLabels[p], Checked: p == s.onb.ProviderType})
	}
	h.render(w, status, "provider", d)
}

func (h *Handler) providerPost(w http.ResponseWriter, r *http.Request, s *sessionCtx) {
	p := r.PostFormValue("provider_type")
	if _, ok := providerLabels[p]; !ok {
		h.renderProvider(w, r, s, http.StatusUnprocessableEntity, "provider_required")
		return
	}
	if _, err := h.svc.ChooseProvider(r.Context(), s.id, s.conn.ID, p); err != nil {
		h.renderProvider(w, r, s, http.StatusServiceUnavailable, "unavailable")
		return
	}
	http.Redirect(w, r, h.at("/configure?lang="+lang(r)), http.StatusSeeOther)
}

func (h *Handler) configurePage(w http.ResponseWriter, r *http.Request, s *sessionCtx) {
	d := h.sessionPage(r, s, "configure_title")
	p := s.onb.ProviderType
	if p == "" {
		p = sso.ProviderCustomSAML
	}
	d.ProviderLabel = providerLabels[p]
	d.Instructions = instructions[d.Lang][p]
	h.render(w, http.StatusOK, "configure", d)
}

func (h *Handler) configurePost(w http.ResponseWriter, r *http.Request, s *sessionCtx) {
	if _, err := h.svc.SetTutorialStep(r.Context(), s.id, s.conn.ID, sso.StepUploadMetadata); err != nil {
		h.message(w, r, http.StatusServiceUnavailable, "configure_title", "unavailable")
		return
	}
	http.Redirect(w, r, h.at("/metadata?lang="+lang(r)), http.StatusSeeOther)
}

func (h *Handler) metadataPage(w http.ResponseWriter, r *http.Request, s *sessionCtx) {
	d := h.sessionPage(r, s, "metadata_title")
	h.render(w, http.StatusOK, "metadata", d)
}

// metadataErrorsFR translates the metadata errors of package saml.
var metadataErrorsFR = map[error]string{
	saml.ErrMetadataTooLarge:        "les métadonnées sont trop volumineuses (plus de 1 Mio)",
	saml.ErrMetadataNotXML:          "ce n'est pas du XML valide",
	saml.ErrMetadataNoEntity:        "il n'y a pas d'EntityDescriptor avec un entityID",
	saml.ErrMetadataNoIDPDescriptor: "il n'y a pas d'IDPSSODescriptor (s'agit-il des métadonnées d'un fournisseur de service ?)",
	saml.ErrMetadataNoSSOURL:        "il n'y a pas de SingleSignOnService avec la liaison HTTP-Redirect",
	saml.ErrMetadataNoSigningCert:   "il n'y a pas de certificat de signature",
	saml.ErrMetadataBadCertificate:  "un certificat est illisible",
	saml.ErrMetadataTooManyCerts:    "elle a trop de certificats de signature",
}

func (h *Handler) metadataPost(w http.ResponseWriter, r *http.Request, s *sessionCtx) {
	d := h.sessionPage(r, s, "metadata_title")
	var xml []byte
	if f, _, err := r.FormFile("metadata_file"); err == nil {
		xml, err = io.ReadAll(io.LimitReader(f, saml.MaxMetadataBytes+1))
		_ = f.Close()
		if err != nil {
			xml = nil
		}
	}
	if len(strings.TrimSpace(string(xml))) == 0 {
		xml = []byte(r.PostFormValue("metadata"))
	}
	// An https URL, in its own field or pasted instead of the XML, is
	// fetched with safefetch's limits.
	link := strings.TrimSpace(r.PostFormValue("metadata_url"))
	if pasted := strings.TrimSpace(string(xml)); link == "" && strings.Contains(pasted, "://") &&
		!strings.ContainsAny(pasted, "< \t\r\n") {
		link, xml = pasted, nil
	}
	if len(strings.TrimSpace(string(xml))) == 0 && link != "" {
		d.MetadataURL = link
		var err error
		if xml, err = h.fetcher.Get(r.Context(), link); err != nil {
			// The reason stays generic: the answer must not tell what a
			// name resolves to inside the server's network.
			key := "metadata_url_failed"
			switch {
			case errors.Is(err, safefetch.ErrRefused):
				key = "metadata_url_refused"
			case errors.Is(err, safefetch.ErrTooLarge):
				key = "too_large"
			}
			d.Error = d.t(key)
			h.render(w, http.StatusUnprocessableEntity, "metadata", d)
			return
		}
	}
	if len(strings.TrimSpace(string(xml))) == 0 {
		d.Error = d.t("metadata_empty")
		h.render(w, http.StatusUnprocessableEntity, "metadata", d)
		return
	}
	md, err := saml.ParseIdPMetadata(xml, h.svc.Now())
	if err != nil {
		msg := err.Error()
		if d.Lang == "fr" {
			msg = "erreur inconnue"
			for sentinel, fr := range metadataErrorsFR {
				if errors.Is(err, sentinel) {
					msg = fr
				}
			}
		}
		d.Error = fmt.Sprintf(d.t("metadata_invalid"), msg)
		if len(xml) <= 64<<10 {
			d.Metadata = string(xml)
		}
		h.render(w, http.StatusUnprocessableEntity, "metadata", d)
		return
	}
	if _, err := h.svc.UploadMetadata(r.Context(), s.id, s.conn.ID, xml); err != nil {
		d.Error = d.t("unavailable")
		h.render(w, http.StatusServiceUnavailable, "metadata", d)
		return
	}
	s.conn.Metadata = string(xml)
	d.HasMetadata = true
	d.Success = d.t("metadata_saved")
	d.Warnings = md.Warnings
	if s.onb.TutorialStep < sso.StepTestSignIn {
		s.onb.TutorialStep = sso.StepTestSignIn
	}
	d.Steps = h.sessionPage(r, s, "metadata_title").Steps
	h.render(w, http.StatusOK, "metadata", d)
}

func (h *Handler) testPage(w http.ResponseWriter, r *http.Request, s *sessionCtx) {
	d := h.sessionPage(r, s, "test_title")
	switch s.onb.State {
	case sso.OnboardingCompleted:
		d.Tested, d.TestOK, d.TestResult = true, true, s.onb.LastTestResult
	case sso.OnboardingTestFailed:
		d.Tested, d.TestError = true, s.onb.LastTestError
		reason := strings.SplitN(s.onb.LastTestError, ":", 2)[0]
		d.TestHint = reasonHints[d.Lang][reason]
	}
	if d.HasMetadata {
		if md, err := saml.ParseIdPMetadata([]byte(s.conn.Metadata), h.svc.Now()); err == nil {
			if u, err := url.Parse(md.SSOURL); err == nil && (u.Scheme == "https" || u.Scheme == "http") &&
				!strings.ContainsAny(u.Host, " ;,'\"") {
				d.formAction = u.Scheme + "://" + u.Host
			}
		}
	}
	h.render(w, http.StatusOK, "test", d)
}

func (h *Handler) testPost(w http.ResponseWriter, r *http.Request, s *sessionCtx) {
	if err := h.svc.StartAdminTest(r.Context(), w, r, s.ps); err != nil {
		http.Redirect(w, r, h.at("/test-result?lang="+lang(r)), http.StatusSeeOther)
	}
}
