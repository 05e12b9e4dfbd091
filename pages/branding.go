package pages

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// DefaultProductName is the product name of a Branding that names none.
const DefaultProductName = "Gatehouse"

// The default colours: dark text and a blue accent on white, both above
// the WCAG AA ratio of 4.5:1.
const (
	DefaultPrimary    = "#1a4fd6"
	DefaultBackground = "#ffffff"
	DefaultText       = "#1b1d21"
)

// MinContrast is the contrast ratio (WCAG 2 AA for body text) that
// Colors.Text and Colors.Primary must reach against Colors.Background.
const MinContrast = 4.5

// Branding is how a product presents the hosted pages (the provider's
// login pages and mails, the SSO onboarding portal, the SSO end-user
// pages). The zero value is Gatehouse's own look.
type Branding struct {
	// ProductName is shown in every page's header and title, and in
	// mail subjects (default "Gatehouse").
	ProductName string
	// LogoURL, when set, is shown in the header instead of the product
	// name (which becomes its alternative text). It is an https URL, a
	// path on the same origin ("/static/logo.svg"), an http URL on a
	// loopback host (development), or a data:image/... URL; the page's
	// Content-Security-Policy admits the logo's origin for images only.
	LogoURL string
	// Colors are the page colours.
	Colors Colors
	// Templates, when set, overrides pages: a file named after a page
	// (PageNames, for example "login.html" or "portal-test.html") is
	// parsed after the built-in page and may redefine its "content"
	// template (the main column), "header" (beside the logo), "nav"
	// (below the header) or the whole "layout". Files with other names
	// are refused. The data each page receives is documented in the
	// package documentation.
	Templates fs.FS
}

// Colors are the three colours of the shared stylesheet. Each is a CSS
// hex colour (#rgb or #rrggbb) or rgb(r, g, b) with integers 0–255; the
// stylesheet receives the parsed value, never the string as given.
// Empty means the default.
type Colors struct {
	// Primary is the accent: buttons, links, focus rings and the current
	// step. Button text is black or white, whichever contrasts more.
	Primary string
	// Background is the page background.
	Background string
	// Text is the body text.
	Text string
}

// ErrInvalidBranding is wrapped by every *BrandingError.
var ErrInvalidBranding = errors.New("pages: invalid branding")

// BrandingError is a refused Branding: the field, the value given and why.
type BrandingError struct {
	// Field is the Branding field, for example "Colors.Primary" or
	// "Templates".
	Field string
	// Value is the value refused (a file name for Templates).
	Value string
	// Reason says what is wrong.
	Reason string
}

// Error describes the refusal.
func (e *BrandingError) Error() string {
	return fmt.Sprintf("pages: branding %s %q: %s", e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidBranding.
func (e *BrandingError) Unwrap() error { return ErrInvalidBranding }

// Validate checks b: parseable colours with enough contrast, a logo URL
// of an allowed scheme, and override templates named after pages. It
// returns a *BrandingError.
func (b Branding) Validate() error {
	_, err := b.resolve()
	return err
}

// rgb is a parsed colour.
type rgb struct{ r, g, b uint8 }

func (c rgb) hex() string { return fmt.Sprintf("#%02x%02x%02x", c.r, c.g, c.b) }

// luminance is the WCAG relative luminance.
func (c rgb) luminance() float64 {
	ch := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(c.r) + 0.7152*ch(c.g) + 0.0722*ch(c.b)
}

// contrast is the WCAG contrast ratio of a and b.
func contrast(a, b rgb) float64 {
	la, lb := a.luminance(), b.luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// mix returns a*(1-t) + b*t.
func mix(a, b rgb, t float64) rgb {
	m := func(x, y uint8) uint8 { return uint8(math.Round(float64(x)*(1-t) + float64(y)*t)) }
	return rgb{m(a.r, b.r), m(a.g, b.g), m(a.b, b.b)}
}

var (
	reHex = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)
	reRGB = regexp.MustCompile(`^rgb\(\s*(\d{1,3})\s*[,\s]\s*(\d{1,3})\s*[,\s]\s*(\d{1,3})\s*\)$`)
)

// parseColor parses a CSS hex or rgb() colour.
func parseColor(s string) (rgb, bool) {
	s = strings.TrimSpace(s)
	if m := reHex.FindStringSubmatch(s); m != nil {
		h := m[1]
		if len(h) == 3 {
			h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
		}
		v, _ := strconv.ParseUint(h, 16, 32)
		return rgb{uint8(v >> 16), uint8(v >> 8), uint8(v)}, true
	}
	if m := reRGB.FindStringSubmatch(strings.ToLower(s)); m != nil {
		var c [3]uint8
		for i := range c {
			v, err := strconv.Atoi(m[i+1])
			if err != nil || v > 255 {
				return rgb{}, false
			}
			c[i] = uint8(v)
		}
		return rgb{c[0], c[1], c[2]}, true
	}
	return rgb{}, false
}

// palette is a resolved, validated Branding.
type palette struct {
	product   string
	logo      string
	logoSrc   string // the CSP source of the logo ("" for 'self' or data:)
	primary   rgb
	onPrimary rgb
	bg, text  rgb
	muted     rgb
	border    rgb
	overrides map[string]bool
}

func (b Branding) resolve() (*palette, error) {
	p := &palette{product: strings.TrimSpace(b.ProductName), overrides: map[string]bool{}}
	if p.product == "" {
		p.product = DefaultProductName
	}
	if len(p.product) > 100 || strings.ContainsAny(p.product, "\r\n\x00") {
		return nil, &BrandingError{Field: "ProductName", Value: b.ProductName, Reason: "must be one line of at most 100 bytes"}
	}
	colors := []struct {
		field, value, def string
		dst               *rgb
	}{
		{"Colors.Primary", b.Colors.Primary, DefaultPrimary, &p.primary},
		{"Colors.Background", b.Colors.Background, DefaultBackground, &p.bg},
		{"Colors.Text", b.Colors.Text, DefaultText, &p.text},
	}
	for _, c := range colors {
		v := c.value
		if v == "" {
			v = c.def
		}
		parsed, ok := parseColor(v)
		if !ok {
			return nil, &BrandingError{Field: c.field, Value: c.value, Reason: "must be a CSS colour #rgb, #rrggbb or rgb(r, g, b)"}
		}
		*c.dst = parsed
	}
	if r := contrast(p.text, p.bg); r < MinContrast {
		return nil, &BrandingError{Field: "Colors.Text", Value: b.Colors.Text,
			Reason: fmt.Sprintf("contrast with the background is %.2f:1, below %.1f:1", r, MinContrast)}
	}
	if r := contrast(p.primary, p.bg); r < MinContrast {
		return nil, &BrandingError{Field: "Colors.Primary", Value: b.Colors.Primary,
			Reason: fmt.Sprintf("contrast with the background is %.2f:1, below %.1f:1", r, MinContrast)}
	}
	white, black := rgb{255, 255, 255}, rgb{}
	p.onPrimary = white
	if contrast(black, p.primary) > contrast(white, p.primary) {
		p.onPrimary = black
	}
	p.muted = mix(p.text, p.bg, 0.3)
	if contrast(p.muted, p.bg) < MinContrast {
		p.muted = p.text
	}
	p.border = mix(p.text, p.bg, 0.75)
	var err error
	if p.logo, p.logoSrc, err = checkLogo(b.LogoURL); err != nil {
		return nil, err
	}
	if b.Templates != nil {
		entries, err := fs.ReadDir(b.Templates, ".")
		if err != nil {
			return nil, &BrandingError{Field: "Templates", Value: ".", Reason: "cannot be read: " + err.Error()}
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || path.Ext(name) != ".html" || !knownPage(strings.TrimSuffix(name, ".html")) {
				return nil, &BrandingError{Field: "Templates", Value: name,
					Reason: "is not the name of a page (see pages.PageNames)"}
			}
			p.overrides[strings.TrimSuffix(name, ".html")] = true
		}
	}
	return p, nil
}

var (
	reHost    = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$`)
	reDataImg = regexp.MustCompile(`^data:image/(png|gif|jpeg|webp|svg\+xml);base64,([A-Za-z0-9+/]+={0,2})$`)
)

// checkLogo validates a logo URL and returns it with its CSP source.
func checkLogo(raw string) (logo, src string, err error) {
	if raw == "" {
		return "", "", nil
	}
	bad := func(reason string) (string, string, error) {
		v := raw
		if len(v) > 80 {
			v = v[:80] + "…"
		}
		return "", "", &BrandingError{Field: "LogoURL", Value: v, Reason: reason}
	}
	if strings.HasPrefix(raw, "data:") {
		m := reDataImg.FindStringSubmatch(raw)
		if m == nil || len(raw) > 256<<10 {
			return bad("a data URL must be data:image/{png,gif,jpeg,webp,svg+xml};base64 of at most 256 KiB")
		}
		if _, err := base64.StdEncoding.DecodeString(m[2]); err != nil {
			return bad("a data URL must hold valid base64")
		}
		return raw, "", nil
	}
	if len(raw) > 2048 || strings.ContainsAny(raw, " \t\r\n\\\"'<>`") {
		return bad("must be a URL of at most 2048 bytes without spaces, quotes or backslashes")
	}
	if strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "//") {
		if _, err := url.Parse(raw); err != nil {
			return bad("is not a valid path")
		}
		return raw, "", nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("is not a valid URL")
	}
	if u.User != nil {
		return bad("must not hold credentials")
	}
	host := u.Hostname()
	loopback := host == "localhost"
	if ip := net.ParseIP(host); ip != nil {
		loopback = ip.IsLoopback()
	} else if !reHost.MatchString(host) {
		return bad("has no valid host")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return bad("has no valid port")
		}
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && loopback:
	default:
		return bad("scheme must be https (http only on a loopback host), a same-origin path or data:image")
	}
	return raw, u.Scheme + "://" + u.Host, nil
}
