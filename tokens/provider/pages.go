package provider

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/pages"
	"github.com/gatehouse-id/gatehouse/tokens"
)

//go:embed templates/*.html
var templateFS embed.FS

// pageNames are the provider's pages (pages.PageLogin, ...).
var pageNames = []string{pages.PageLogin, pages.PageCode, pages.PageConfirm, pages.PageMessage, pages.PageLogout,
	pages.PageForgot, pages.PageReset, pages.PageMail}

// newPages parses the provider's pages over the shared look of b.
func newPages(b pages.Branding) (*pages.Set, error) {
	look, err := pages.New(b)
	if err != nil {
		return nil, fmt.Errorf("provider: %w", err)
	}
	sub, err := fs.Sub(templateFS, "templates")
	if err != nil {
		return nil, fmt.Errorf("provider: templates: %w", err)
	}
	set, err := look.Parse(sub, nil, "", nil, pageNames...)
	if err != nil {
		return nil, fmt.Errorf("provider: %w", err)
	}
	return set, nil
}

// pageData is what every page template receives (documented in package
// pages for template overrides).
type pageData struct {
	Locale   string
	Title    string
	OrgName  string
	Error    string
	Notice   string
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

// Frame is what the shared layout reads.
func (d *pageData) Frame() pages.Frame {
	return pages.Frame{Lang: d.Locale, Title: d.Title, Subtitle: d.OrgName, Error: d.Error, Notice: d.Notice,
		Nonce: d.Nonce, SkipLabel: d.T["skip"]}
}

// render writes a page with the security headers of every HTML answer.
func (p *Provider) render(w http.ResponseWriter, r *http.Request, page string, status int, d *pageData) {
	d.Nonce = pages.NewNonce()
	if d.T == nil {
		d.T = translations(d.Locale)
	}
	if d.Locale == "" {
		d.Locale = "en"
	}
	if err := p.pages.Render(w, status, page, d, ""); err != nil {
		p.log.Error("provider: rendering page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
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
	p.renderLoginPage(w, r, reqID, req, errKey, "", status)
}

// renderLoginPage is renderLogin with a notice (a translation key, or "").
func (p *Provider) renderLoginPage(w http.ResponseWriter, r *http.Request, reqID string, req *authRequest, errKey, noticeKey string, status int) {
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
	if noticeKey != "" {
		d.Notice = tr[noticeKey]
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

// mailData is what the mail template receives (documented in package
// pages for template overrides).
type mailData struct {
	Locale   string
	Product  string
	Intro    string
	Link     template.URL
	Button   string
	CodeText string
	Code     string
	Footer   string
	// Primary and OnPrimary are the branding's colours as #rrggbb.
	Primary, OnPrimary string
}

// mailHTML renders the HTML body of a mail (a magic link with its code,
// or a reset link without one).
func (p *Provider) mailHTML(locale, intro, link, button, codeText, code, footer string) (string, error) {
	primary, on := p.pages.Look().MailColors()
	var buf bytes.Buffer
	err := p.pages.Execute(&buf, pages.PageMail, &mailData{Locale: locale, Product: p.pages.Look().ProductName(),
		Intro: intro, Link: template.URL(link), Button: button, CodeText: codeText, Code: code, Footer: footer,
		Primary: primary, OnPrimary: on})
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
	"forgot_link":              "Forgot your password?",
	"forgot_title":             "Reset your password",
	"forgot_intro":             "Enter the email address of your account. If it can sign in with a password, we will send it a link to choose a new one.",
	"forgot_send":              "Email me a reset link",
	"back_to_sign_in":          "Back to sign in",
	"reset_sent":               "If this address has an account, we sent it a link to choose a new password. Open it, then sign in here.",
	"reset_title":              "Choose a new password",
	"reset_intro":              "Choose a new password for %s. Every session of this account will end.",
	"new_password":             "New password",
	"new_password_hint":        "Up to 1024 characters; a long passphrase is best.",
	"new_password_again":       "New password, again",
	"set_password":             "Set the password",
	"password_changed_title":   "Password changed",
	"password_changed":         "Your password was changed. Go back to the application and sign in with it.",
	"password_changed_sign_in": "Your password was changed. Sign in with it.",
	"err_passwords_differ":     "The two passwords differ.",
	"err_bad_password":         "This password cannot be used. Choose another one.",
	"reset_mail_subject":       "Reset your password for %s (%s)",
	"reset_mail_text":          "Someone asked to reset the password of your %s account. To choose a new password, open this link:\n\n%s\n\nThe link expires in %d minutes and works once. If you did not ask, ignore this email: your password stays the same.\n",
	"reset_mail_intro":         "Someone asked to reset the password of your %s account.",
	"reset_mail_button":        "Choose a new password",
	"reset_mail_footer":        "The link expires in %d minutes and works once. If you did not ask, ignore this email: your password stays the same.",
	"invite_title":             "Accept the invitation",
	"invite_text":              "%s invites you to sign in as %s.",
	"invite_done_title":        "Signed in",
	"invite_done":              "You are signed in to %s as %s. Go back to the application: it will not ask you to sign in again.",
	"invite_mail_subject":      "You are invited to %s (%s)",
	"invite_mail_text":         "An administrator of %s invites you to sign in. Open this link:\n\n%s\n\nThe link expires in %d hours and works once. If you did not expect it, ignore this email.\n",
	"invite_mail_intro":        "An administrator of %s invites you to sign in.",
	"invite_mail_button":       "Accept and sign in",
	"invite_mail_footer":       "The link expires in %d hours and works once. If you did not expect it, ignore this email.",
	"skip":                     "Skip to content",
	"sign_in":                  "Sign in",
	"sign_up":                  "Create your account",
	"email":                    "Email address",
	"send_link":                "Email me a sign-in link",
	"continue_sso":             "Continue with SSO",
	"password":                 "Password",
	"password_hint":            "Only if your account has a password.",
	"sign_in_password":         "Sign in with password",
	"check_email_title":        "Check your email",
	"check_email":              "If this address can sign in, we sent it a link and a 6-digit code. Open the link, or type the code here.",
	"code":                     "6-digit code",
	"verify_code":              "Verify the code",
	"confirm_title":            "Confirm sign-in",
	"confirm_text":             "Sign in as %s?",
	"confirm_button":           "Sign in",
	"error_title":              "Something went wrong",
	"signed_out_title":         "Signed out",
	"signed_out":               "You are signed out.",
	"err_bad_request":          "The request is malformed.",
	"err_not_found":            "This page does not exist.",
	"err_unknown_org":          "This organization does not exist.",
	"err_unknown_client":       "The application is unknown. Go back to the application and try again.",
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
	"forgot_link":              "Mot de passe oublié ?",
	"forgot_title":             "Réinitialiser votre mot de passe",
	"forgot_intro":             "Saisissez l'adresse e-mail de votre compte. S'il peut se connecter avec un mot de passe, nous lui enverrons un lien pour en choisir un nouveau.",
	"forgot_send":              "Recevoir un lien de réinitialisation",
	"back_to_sign_in":          "Retour à la connexion",
	"reset_sent":               "Si cette adresse a un compte, nous lui avons envoyé un lien pour choisir un nouveau mot de passe. Ouvrez-le, puis connectez-vous ici.",
	"reset_title":              "Choisir un nouveau mot de passe",
	"reset_intro":              "Choisissez un nouveau mot de passe pour %s. Toutes les sessions de ce compte prendront fin.",
	"new_password":             "Nouveau mot de passe",
	"new_password_hint":        "Jusqu'à 1024 caractères ; une longue phrase de passe est idéale.",
	"new_password_again":       "Nouveau mot de passe, à nouveau",
	"set_password":             "Enregistrer le mot de passe",
	"password_changed_title":   "Mot de passe modifié",
	"password_changed":         "Votre mot de passe a été modifié. Revenez à l'application et connectez-vous avec.",
	"password_changed_sign_in": "Votre mot de passe a été modifié. Connectez-vous avec.",
	"err_passwords_differ":     "Les deux mots de passe diffèrent.",
	"err_bad_password":         "Ce mot de passe ne peut pas être utilisé. Choisissez-en un autre.",
	"reset_mail_subject":       "Réinitialisez votre mot de passe pour %s (%s)",
	"reset_mail_text":          "Quelqu'un a demandé à réinitialiser le mot de passe de votre compte %s. Pour choisir un nouveau mot de passe, ouvrez ce lien :\n\n%s\n\nLe lien expire dans %d minutes et ne sert qu'une fois. Si vous n'avez rien demandé, ignorez ce message : votre mot de passe reste le même.\n",
	"reset_mail_intro":         "Quelqu'un a demandé à réinitialiser le mot de passe de votre compte %s.",
	"reset_mail_button":        "Choisir un nouveau mot de passe",
	"reset_mail_footer":        "Le lien expire dans %d minutes et ne sert qu'une fois. Si vous n'avez rien demandé, ignorez ce message : votre mot de passe reste le même.",
	"invite_title":             "Accepter l'invitation",
	"invite_text":              "%s vous invite à vous connecter en tant que %s.",
	"invite_done_title":        "Connecté",
	"invite_done":              "Vous êtes connecté à %s en tant que %s. Revenez à l'application : elle ne vous demandera pas de vous reconnecter.",
	"invite_mail_subject":      "Vous êtes invité sur %s (%s)",
	"invite_mail_text":         "Un administrateur de %s vous invite à vous connecter. Ouvrez ce lien :\n\n%s\n\nLe lien expire dans %d heures et ne sert qu'une fois. Si vous ne l'attendiez pas, ignorez ce message.\n",
	"invite_mail_intro":        "Un administrateur de %s vous invite à vous connecter.",
	"invite_mail_button":       "Accepter et se connecter",
	"invite_mail_footer":       "Le lien expire dans %d heures et ne sert qu'une fois. Si vous ne l'attendiez pas, ignorez ce message.",
	"skip":                     "Aller au contenu",
	"sign_in":                  "Connexion",
	"sign_up":                  "Créer votre compte",
	"email":                    "Adresse e-mail",
	"send_link":                "Recevoir un lien de connexion",
	"continue_sso":             "Continuer avec le SSO",
	"password":                 "Mot de passe",
	"password_hint":            "Seulement si votre compte a un mot de passe.",
	"sign_in_password":         "Se connecter avec le mot de passe",
	"check_email_title":        "Consultez votre messagerie",
	"check_email":              "Si cette adresse peut se connecter, nous lui avons envoyé un lien et un code à 6 chiffres. Ouvrez le lien ou saisissez le code ici.",
	"code":                     "Code à 6 chiffres",
	"verify_code":              "Vérifier le code",
	"confirm_title":            "Confirmer la connexion",
	"confirm_text":             "Se connecter en tant que %s ?",
	"confirm_button":           "Se connecter",
	"error_title":              "Une erreur est survenue",
	"signed_out_title":         "Déconnecté",
	"signed_out":               "Vous êtes déconnecté.",
	"err_bad_request":          "La requête est mal formée.",
	"err_not_found":            "Cette page n'existe pas.",
	"err_unknown_org":          "Cette organisation n'existe pas.",
	"err_unknown_client":       "L'application est inconnue. Revenez à l'application et réessayez.",
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
