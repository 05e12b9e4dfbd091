package provider

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/tokens"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages holds the parsed templates, one set per page.
type pages struct {
	sets map[string]*template.Template
	mail *template.Template
}

func newPages() (*pages, error) {
	layout, err := template.ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("provider: templates: %w", err)
	}
	pg := &pages{sets: map[string]*template.Template{}}
	for _, name := range []string{"login", "code", "confirm", "message", "logout"} {
		t, err := layout.Clone()
		if err == nil {
			t, err = t.ParseFS(templateFS, "templates/"+name+".html")
		}
		if err != nil {
			return nil, fmt.Errorf("provider: template %s: %w", name, err)
		}
		pg.sets[name] = t
	}
	if pg.mail, err = template.ParseFS(templateFS, "templates/mail.html"); err != nil {
		return nil, fmt.Errorf("provider: mail template: %w", err)
	}
	return pg, nil
}

// pageData is what every page template receives.
type pageData struct {
	Locale   string
	Title    string
	OrgName  string
	Error    string
	Message  string
	Nonce    string
	CSRF     string
	Request  string
	Action   string
	Email    string
	SSO      bool
	Password bool
	Hidden   []hiddenField // the logout confirmation's parameters
	T        map[string]string
}

// render writes a page with the security headers of every HTML answer.
func (p *Provider) render(w http.ResponseWriter, r *http.Request, page string, status int, d *pageData) {
	var nb [16]byte
	_, _ = rand.Read(nb[:])
	d.Nonce = base64.RawStdEncoding.EncodeToString(nb[:])
	if d.T == nil {
		d.T = translations(d.Locale)
	}
	var buf bytes.Buffer
	if err := p.pages.sets[page].ExecuteTemplate(&buf, "layout", d); err != nil {
		p.log.Error("provider: rendering page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+d.Nonce+"'; img-src 'self' data:; "+
		"frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// loginAction is where the login page's forms post: in the tree of the
// request's environment, under the base URL's path.
func (p *Provider) loginAction(req *authRequest) string {
	prefix := p.path + tokens.EnvironmentPath(req.Env)
	if req.OrgDomain == "" {
		return prefix + "/login"
	}
	return prefix + "/t/" + req.OrgDomain + "/login"
}

// magicLinkURL is the link of a magic-link mail: in the tree of the
// request's environment.
func (p *Provider) magicLinkURL(env identity.Environment, token string) string {
	return p.base + magicLinkPath(env, token)
}

// magicLinkPath is the path of a magic link below the base URL.
func magicLinkPath(env identity.Environment, token string) string {
	return tokens.EnvironmentPath(env) + "/magic-link/verify/" + url.PathEscape(token)
}

// renderLogin shows the login page of a pending request.
func (p *Provider) renderLogin(w http.ResponseWriter, r *http.Request, reqID string, req *authRequest, errKey string, status int) {
	tr := translations(req.Locale)
	title := tr["sign_in"]
	if req.SignType == "signup" {
		title = tr["sign_up"]
	}
	email := r.PostFormValue("email")
	if email == "" {
		email = req.LoginHint
	}
	d := &pageData{Locale: req.Locale, Title: title, OrgName: p.orgName(r.Context(), req.OrgDomain), T: tr,
		CSRF: p.csrfToken(w, r), Request: reqID, Action: p.loginAction(req), Email: email,
		SSO: p.opts.SSORouter != nil, Password: p.ids.Hasher() != nil && req.Flavor != flavorHeadless}
	if errKey != "" {
		d.Error = tr["err_"+errKey]
	}
	p.render(w, r, "login", status, d)
}

// renderCode shows the "check your email" page with the code form.
func (p *Provider) renderCode(w http.ResponseWriter, r *http.Request, reqID string, req *authRequest, errKey string, status int) {
	tr := translations(req.Locale)
	d := &pageData{Locale: req.Locale, Title: tr["check_email_title"], OrgName: p.orgName(r.Context(), req.OrgDomain),
		T: tr, CSRF: p.csrfToken(w, r), Request: reqID, Action: p.loginAction(req)}
	if errKey != "" {
		d.Error = tr["err_"+errKey]
	}
	p.render(w, r, "code", status, d)
}

// renderConfirm shows the confirmation page of a magic link.
func (p *Provider) renderConfirm(w http.ResponseWriter, r *http.Request, locale, email, orgName string) {
	tr := translations(locale)
	d := &pageData{Locale: locale, Title: tr["confirm_title"], OrgName: orgName, T: tr, CSRF: p.csrfToken(w, r),
		Action: p.path + magicLinkPath(envOf(r), r.PathValue("token")), Message: fmt.Sprintf(tr["confirm_text"], email)}
	p.render(w, r, "confirm", http.StatusOK, d)
}

// errorPage shows an error that must not be redirected.
func (p *Provider) errorPage(w http.ResponseWriter, r *http.Request, locale string, status int, key string) {
	if locale == "" {
		locale = pickLocale(r, "")
	}
	tr := translations(locale)
	p.render(w, r, "message", status, &pageData{Locale: locale, Title: tr["error_title"], T: tr, Message: tr["err_"+key]})
}

// messagePage shows an informational page.
func (p *Provider) messagePage(w http.ResponseWriter, r *http.Request, locale string, status int, key string) {
	tr := translations(locale)
	p.render(w, r, "message", status, &pageData{Locale: locale, Title: tr[key+"_title"], T: tr, Message: tr[key]})
}

// mailHTML renders the HTML body of a magic-link mail.
func (pg *pages) mailHTML(locale, orgName, link, code string, minutes int) (string, error) {
	tr := translations(locale)
	var buf bytes.Buffer
	err := pg.mail.ExecuteTemplate(&buf, "mail", map[string]any{"Locale": locale,
		"Intro": fmt.Sprintf(tr["mail_intro"], orgName), "Link": template.URL(link), "Button": tr["mail_button"],
		"CodeText": tr["mail_code"], "Code": code, "Footer": fmt.Sprintf(tr["mail_footer"], minutes)})
	return buf.String(), err
}

// normLocale maps a language tag to a supported locale ("en", "fr") or "".
func normLocale(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexAny(s, "-_;"); i >= 0 {
		s = s[:i]
	}
	switch s {
	case "en", "fr":
		return s
	}
	return ""
}

// pickLocale chooses the page language: the explicit value, else the
// first supported language of Accept-Language, else English.
func pickLocale(r *http.Request, explicit string) string {
	if l := normLocale(explicit); l != "" {
		return l
	}
	if l := normLocale(r.URL.Query().Get("locale")); l != "" {
		return l
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		if l := normLocale(part); l != "" {
			return l
		}
	}
	return "en"
}

// translations returns the strings of a locale.
func translations(locale string) map[string]string {
	if locale == "fr" {
		return messagesFR
	}
	return messagesEN
}

var messagesEN = map[string]string{
	"sign_in":            "Sign in",
	"sign_up":            "Create your account",
	"email":              "Email address",
	"send_link":          "Email me a sign-in link",
	"continue_sso":       "Continue with SSO",
	"password":           "Password",
	"password_hint":      "Only if your account has a password.",
	"sign_in_password":   "Sign in with password",
	"check_email_title":  "Check your email",
	"check_email":        "If this address can sign in, we sent it a link and a 6-digit code. Open the link, or type the code here.",
	"code":               "6-digit code",
	"verify_code":        "Verify the code",
	"confirm_title":      "Confirm sign-in",
	"confirm_text":       "Sign in as %s?",
	"confirm_button":     "Sign in",
	"error_title":        "Something went wrong",
	"signed_out_title":   "Signed out",
	"signed_out":         "You are signed out.",
	"err_bad_request":    "The request is malformed.",
	"err_not_found":      "This page does not exist.",
	"err_unknown_org":    "This organization does not exist.",
	"err_unknown_client": "The application is unknown. Go back to the application and try again.",
	"err_bad_redirect_uri": "The application's return address is not registered; for your safety you will not be " +
		"sent there.",
	"err_unavailable":       "The service is unavailable. Try again in a moment.",
	"err_request_gone":      "This sign-in request has expired or was already used. Go back to the application and start again.",
	"err_csrf":              "Your session expired. Go back and submit the form again.",
	"err_bad_email":         "Enter a valid email address.",
	"err_rate_limited":      "Too many attempts. Wait a few minutes and try again.",
	"err_too_many_requests": "Too many sign-in requests came from your network. Wait a few minutes, then go back to the application and try again.",
	"err_code_expired":      "The code has expired or too many attempts were made. Ask for a new link.",
	"err_bad_code":          "This code is not valid.",
	"err_bad_credentials":   "The email or password is incorrect.",
	"err_locked":            "Too many failed attempts: this account is locked for a while.",
	"err_busy":              "The service is busy. Try again in a moment.",
	"err_no_sso":            "No single sign-on is configured for this email address.",
	"err_link_gone":         "This link has expired or was already used. Ask for a new one.",
	"err_denied":            "This account cannot sign in.",
	"mail_subject":          "Your sign-in link for %s",
	"mail_text":             "Sign in to %s with this link:\n\n%s\n\nOr type this code on the sign-in page: %s\n\nThe link and the code expire in %d minutes and work once. If you did not ask to sign in, ignore this email.\n",
	"mail_intro":            "Sign in to %s with the link below.",
	"mail_button":           "Sign in",
	"mail_code":             "Or type this code on the sign-in page:",
	"mail_footer":           "The link and the code expire in %d minutes and work once. If you did not ask to sign in, ignore this email.",
}

var messagesFR = map[string]string{
	"sign_in":            "Connexion",
	"sign_up":            "Créer votre compte",
	"email":              "Adresse e-mail",
	"send_link":          "Recevoir un lien de connexion",
	"continue_sso":       "Continuer avec le SSO",
	"password":           "Mot de passe",
	"password_hint":      "Seulement si votre compte a un mot de passe.",
	"sign_in_password":   "Se connecter avec le mot de passe",
	"check_email_title":  "Consultez votre messagerie",
	"check_email":        "Si cette adresse peut se connecter, nous lui avons envoyé un lien et un code à 6 chiffres. Ouvrez le lien ou saisissez le code ici.",
	"code":               "Code à 6 chiffres",
	"verify_code":        "Vérifier le code",
	"confirm_title":      "Confirmer la connexion",
	"confirm_text":       "Se connecter en tant que %s ?",
	"confirm_button":     "Se connecter",
	"error_title":        "Une erreur est survenue",
	"signed_out_title":   "Déconnecté",
	"signed_out":         "Vous êtes déconnecté.",
	"err_bad_request":    "La requête est mal formée.",
	"err_not_found":      "Cette page n'existe pas.",
	"err_unknown_org":    "Cette organisation n'existe pas.",
	"err_unknown_client": "L'application est inconnue. Revenez à l'application et réessayez.",
	"err_bad_redirect_uri": "L'adresse de retour de l'application n'est pas enregistrée ; par sécurité, vous n'y serez " +
		"pas redirigé.",
	"err_unavailable":       "Le service est indisponible. Réessayez dans un instant.",
	"err_request_gone":      "Cette demande de connexion a expiré ou a déjà été utilisée. Revenez à l'application et recommencez.",
	"err_csrf":              "Votre session a expiré. Revenez en arrière et renvoyez le formulaire.",
	"err_bad_email":         "Saisissez une adresse e-mail valide.",
	"err_rate_limited":      "Trop de tentatives. Patientez quelques minutes et réessayez.",
	"err_too_many_requests": "Trop de demandes de connexion proviennent de votre réseau. Patientez quelques minutes, puis revenez à l'application et réessayez.",
	"err_code_expired":      "Le code a expiré ou trop de tentatives ont été faites. Demandez un nouveau lien.",
	"err_bad_code":          "Ce code n'est pas valide.",
	"err_bad_credentials":   "L'adresse e-mail ou le mot de passe est incorrect.",
	"err_locked":            "Trop d'échecs : ce compte est verrouillé pour un moment.",
	"err_busy":              "Le service est occupé. Réessayez dans un instant.",
	"err_no_sso":            "Aucune authentification unique n'est configurée pour cette adresse.",
	"err_link_gone":         "Ce lien a expiré ou a déjà été utilisé. Demandez-en un nouveau.",
	"err_denied":            "Ce compte ne peut pas se connecter.",
	"mail_subject":          "Votre lien de connexion à %s",
	"mail_text":             "Connectez-vous à %s avec ce lien :\n\n%s\n\nOu saisissez ce code sur la page de connexion : %s\n\nLe lien et le code expirent dans %d minutes et ne servent qu'une fois. Si vous n'avez rien demandé, ignorez ce message.\n",
	"mail_intro":            "Connectez-vous à %s avec le lien ci-dessous.",
	"mail_button":           "Se connecter",
	"mail_code":             "Ou saisissez ce code sur la page de connexion :",
	"mail_footer":           "Le lien et le code expirent dans %d minutes et ne servent qu'une fois. Si vous n'avez rien demandé, ignorez ce message.",
}
