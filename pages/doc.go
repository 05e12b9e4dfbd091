// Package pages is the one look of Gatehouse's hosted pages: the
// provider's login pages and mails (package tokens/provider), the SSO
// onboarding portal (package sso/portal) and the SSO end-user pages
// (package sso) share one base layout and one stylesheet, branded by a
// Branding.
//
// # The look
//
// The layout is accessible and needs no JavaScript: an html lang
// attribute, a "skip to content" link, a labelled field for every input,
// errors in a role="alert" box that fields point to with
// aria-describedby, visible focus rings (:focus-visible, in the primary
// colour), text and accent colours held to a contrast of at least 4.5:1
// against the background (MinContrast; button text is black or white,
// whichever contrasts more), and a single column that fits a 360 px wide
// screen. Every page is served with a strict Content-Security-Policy:
// default-src 'none', no script at all, the stylesheet in one style
// element carrying a fresh nonce (style-src 'nonce-…'), images from the
// same origin, data: and the logo's origin only, frame-ancestors 'none'
// and base-uri 'none' (see Look.CSP), with X-Frame-Options DENY,
// nosniff, no-referrer and no-store.
//
// # Branding
//
// A Branding names the product (default "Gatehouse"), its logo and three
// colours, and may override any page. It is validated when a face is
// built (New, provider.New, sso.New, portal.New): a colour that is not
// #rgb, #rrggbb or rgb(r, g, b), or lacks contrast, a logo URL of another
// scheme than https (http on loopback hosts), a same-origin path or
// data:image, and an override file that names no page are refused with a
// *BrandingError (errors.Is ErrInvalidBranding). Colours reach the
// stylesheet as the values parsed, never as the strings given, and the
// logo URL only through html/template's escaping, so a Branding cannot
// inject markup or CSS.
//
// The zero Branding is Gatehouse's own look. A host passes its Branding
// in provider.Options.Branding and sso.Options.Branding (the portal
// takes the SSO service's, or its own with portal.WithBranding); the root
// package gatehouse passes one Branding to all of them.
//
// # Overriding a page
//
// Branding.Templates is an fs.FS (os.DirFS, embed.FS, fstest.MapFS) whose
// files are named after pages, with ".html" (PageNames). Each file is
// parsed after the built-in page, in the same template set, so it
// redefines what it names and keeps the rest:
//
//	{{define "content"}} … {{end}}   the main column (most overrides)
//	{{define "header"}} … {{end}}    beside the logo in the header
//	{{define "nav"}} … {{end}}       between the header and the main column
//	{{define "layout"}} … {{end}}    the whole document
//
// The mail page ("mail.html") defines {{define "mail"}}, the whole HTML
// body. Every template may call product (the product name), logo (the
// logo URL) and stylesheet (the CSS, for a style element carrying
// {{.Frame.Nonce}}); the portal's pages also t, the portal's translation
// of a key ({{t . "provider_intro"}}). A page that replaces "layout"
// should keep the form fields of the built-in page: the handlers read
// them.
//
// # The data each page receives
//
// Every page's data has a Frame method (Frame: Lang, Title, Subtitle,
// Error, Notice, Warnings, Nonce, SkipLabel), which the layout reads.
//
// The provider's pages — login, code, confirm, message, logout, forgot,
// reset — receive:
//
//	.Locale    "en" or "fr"
//	.Title     the page title
//	.OrgName   the organization's display name ("" when not known yet)
//	.Error     an error to show ("" when none); .Notice an information
//	.Message   the page's text (confirm, message, logout, reset)
//	.CSRF      the value of the hidden field csrf_token, in every form
//	.Request   the value of the hidden field request (login, code, forgot)
//	.Action    where the page's form posts
//	.Email     the address typed, or the one being reset (login, forgot, reset)
//	.SSO       whether "continue with SSO" is offered (login)
//	.Password  whether password sign-in, and "forgot password", are offered (login)
//	.Hidden    the hidden fields of the logout confirmation (.Name, .Value)
//	.T         the page's strings, by key ({{.T.email}}, {{.T.sign_in}}, …)
//
// The login form posts email and action: magic, sso, password (with
// password) or forgot; the forgot form posts email and action
// forgot_send (or back); the code form posts code and action=code; the
// reset form posts password and password2. The confirm page also
// confirms an administrator's invitation (.Message names the organization
// and the address); the message page then says the user is signed in.
//
// The mail page receives .Locale, .Product, .Intro, .Link (the link to
// follow), .Button (its label), .CodeText and .Code (the 6-digit code of a
// sign-in mail; empty in a reset or invitation mail), .Footer, and .Primary and
// .OnPrimary, the branding's colours as #rrggbb for inline styles (mail
// readers drop style elements).
//
// The portal's pages — portal-start, portal-message, portal-provider,
// portal-configure, portal-metadata, portal-test — receive .Lang,
// .OtherLang and .OtherLangURL (the language switch), .Title, .OrgName
// (the organization's display name), .Error, .Success, .Warnings,
// .Message, .CSRF (hidden field csrf), .Action (the start form's
// target), .Base (the base URL the portal's forms post under), .Steps
// (.Label, .URL, .Current, .Done), .SP (.EntityID, .ACSURL,
// .MetadataURL, .SLOURL, .LoginURL), .Providers (.Value, .Label,
// .Checked; field provider_type), .ProviderLabel, .Instructions,
// .Metadata and .MetadataURL (fields metadata, metadata_file and
// metadata_url), .HasMetadata, and the last test's .Tested, .TestOK,
// .TestResult, .TestError and .TestHint.
//
// The SSO end-user page (sso-message) receives .En, .EnText, .Fr and
// .FrText: its title and text in English and French.
package pages
