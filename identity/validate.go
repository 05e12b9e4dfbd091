package identity

import (
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // zoneinfo validation must not depend on the host's tz database

	"github.com/gosimple/slug"
	"golang.org/x/text/language"
)

// Validation helpers shared by the services and faces. Each returns "" when
// the value is acceptable, else the reason to put in a FieldError.

// CheckEmail accepts a bare RFC 5322 addr-spec ("jane@example.com", not
// "Jane <jane@example.com>") of at most 254 characters with a dotted domain
// or a single-label domain.
func CheckEmail(s string) string {
	if s == "" {
		return "is required"
	}
	if len(s) > 254 {
		return "must be at most 254 characters"
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "must be an email address"
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.ContainsAny(s[at+1:], " []") {
		return "must be an email address"
	}
	return ""
}

// CheckAttributeName is the rule for the name of an attribute definition,
// which is also a MetaKey's (one directory, two faces): 1 to 255 bytes,
// no dot and no control character (a name is one segment of the
// attributes.<name> path of Crafter's queries, sorts and projections), not
// starting with '$' (a query operator). It returns why name breaks the
// rule, or "" when it does not.
func CheckAttributeName(name string) string {
	switch {
	case name == "":
		return "is required"
	case len(name) > 255:
		return "must be at most 255 characters"
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == '.' || r == 0x7f }):
		return "must not contain dots or control characters"
	case name[0] == '$':
		return "must not start with '$'"
	}
	return ""
}

// NormalizeEmail returns the form under which emails are unique: the
// whole address with its ASCII letters lower-cased (case-insensitive
// uniqueness). Only ASCII letters fold: Unicode case mapping sends
// non-ASCII letters to ASCII ones ('İ' and the Kelvin sign to "i" and
// "k"), so "alİce@acme.test", another mailbox, would have found
// alice@acme.test's account, and "pİxel.test", another domain (its IDNA
// form is xn--pixel-8fd.test), would have passed for pixel.test.
func NormalizeEmail(s string) string { return foldASCII(strings.TrimSpace(s)) }

// EmailDomain returns the domain part of an email address, its ASCII
// letters lower-cased (see NormalizeEmail).
func EmailDomain(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return ""
	}
	return foldASCII(email[at+1:])
}

// foldASCII lower-cases the ASCII letters of s and nothing else.
func foldASCII(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return 'A' <= r && r <= 'Z' })
	if i < 0 {
		return s
	}
	b := []byte(s)
	for j := i; j < len(b); j++ {
		if 'A' <= b[j] && b[j] <= 'Z' {
			b[j] += 'a' - 'A'
		}
	}
	return string(b)
}

// CheckURL accepts an absolute http or https URL with a host and no
// fragment, as redirect, logout and origin lists require.
func CheckURL(s string) string {
	if s == "" {
		return "is required"
	}
	if len(s) > 2048 {
		return "must be at most 2048 characters"
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return "must be an absolute http(s) URL"
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return "must not contain a fragment"
	}
	if u.User != nil {
		return "must not contain user information"
	}
	return ""
}

// CheckOrigin accepts an origin: scheme, host and optional port, no path.
func CheckOrigin(s string) string {
	if r := CheckURL(s); r != "" {
		return r
	}
	u, _ := url.Parse(s)
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return "must be an origin (scheme://host[:port])"
	}
	return ""
}

// CheckCountry accepts an ISO 3166-1 alpha-2 code (upper case).
func CheckCountry(s string) string {
	if len(s) == 2 && strings.Contains(iso3166, " "+s+" ") {
		return ""
	}
	return "must be an ISO 3166-1 alpha-2 country code"
}

// iso3166 lists the officially assigned ISO 3166-1 alpha-2 codes.
const iso3166 = " AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW "

var phoneSeparators = strings.NewReplacer(" ", "", "-", "", ".", "", "(", "", ")", "")

// CheckPhone accepts an E.164 number: "+", a non-zero digit, and 7 to 15
// digits in all. Spaces, dashes, dots and parentheses between digits are
// tolerated ("+1-555-415-1337", as Cryptr's samples write it).
func CheckPhone(s string) string {
	d := phoneSeparators.Replace(s)
	if len(d) < 8 || len(d) > 16 || d[0] != '+' || d[1] == '0' {
		return "must be an E.164 phone number"
	}
	for _, c := range d[1:] {
		if c < '0' || c > '9' {
			return "must be an E.164 phone number"
		}
	}
	return ""
}

// CheckZoneinfo accepts an IANA time zone name ("Europe/Paris").
func CheckZoneinfo(s string) string {
	if s == "" || s == "Local" || strings.HasPrefix(s, "/") || strings.Contains(s, "..") {
		return "must be an IANA time zone"
	}
	if _, err := time.LoadLocation(s); err != nil {
		return "must be an IANA time zone"
	}
	return ""
}

// CheckLocale accepts a well-formed BCP 47 language tag ("fr", "en-US").
func CheckLocale(s string) string {
	if s == "" || len(s) > 35 {
		return "must be a BCP 47 language tag"
	}
	if _, err := language.Parse(strings.ReplaceAll(s, "_", "-")); err != nil {
		return "must be a BCP 47 language tag"
	}
	return ""
}

// CheckBirthdate accepts YYYY-MM-DD dates that exist (OIDC also allows
// 0000-MM-DD when the year is withheld).
func CheckBirthdate(s string) string {
	if len(s) != 10 {
		return "must be a date YYYY-MM-DD"
	}
	probe := s
	if strings.HasPrefix(s, "0000-") {
		probe = "2000" + s[4:]
	}
	if _, err := time.Parse(time.DateOnly, probe); err != nil {
		return "must be a date YYYY-MM-DD"
	}
	return ""
}

// Genders accepted in profiles: Cryptr's enum plus OIDC's "other".
func validGender(s string) bool { return s == "male" || s == "female" || s == "other" }

// CheckGender accepts male, female or other.
func CheckGender(s string) string {
	if validGender(s) {
		return ""
	}
	return "must be male, female or other"
}

// Slug returns the organization domain for a name: lower case ASCII words
// joined by dashes ("Awesome company" -> "awesome-company").
func Slug(name string) string { return slug.Make(name) }

var domainRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// CheckDomain accepts an organization domain as Slug makes them.
func CheckDomain(s string) string {
	if len(s) == 0 || len(s) > 63 || !domainRE.MatchString(s) {
		return "must be a lowercase slug of letters, digits and dashes"
	}
	return ""
}

var emailDomainRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

// CheckEmailDomain accepts a DNS domain name such as "example.com".
func CheckEmailDomain(s string) string {
	if len(s) > 253 || !emailDomainRE.MatchString(s) {
		return "must be a domain name such as example.com"
	}
	return ""
}

// CheckProfile validates OIDC standard claims: their formats and lengths,
// and no NUL or control characters (line breaks are allowed in
// address.formatted and address.street_address).
func CheckProfile(p *Profile) error {
	var v Validation
	check := func(field, value string, fn func(string) string) {
		if value == "" {
			return
		}
		if r := fn(value); r != "" {
			v.Add(field, r)
		}
	}
	maxLen := func(field, value string, n int) {
		if len(value) > n {
			v.Addf(field, "must be at most %d characters", n)
		}
	}
	text := func(field, value string, multiline bool) bool {
		if r := textReason(value, multiline); r != "" {
			v.Add(field, r)
			return false
		}
		return true
	}
	for f, val := range map[string]string{"name": p.Name, "given_name": p.GivenName, "family_name": p.FamilyName,
		"middle_name": p.MiddleName, "nickname": p.Nickname, "preferred_username": p.PreferredUsername} {
		if text(f, val, false) {
			maxLen(f, val, 255)
		}
	}
	for _, c := range []struct {
		field, value string
		fn           func(string) string
	}{{"profile", p.ProfileURL, CheckURL}, {"picture", p.Picture, CheckURL}, {"website", p.Website, CheckURL},
		{"gender", p.Gender, CheckGender}, {"birthdate", p.Birthdate, CheckBirthdate},
		{"zoneinfo", p.Zoneinfo, CheckZoneinfo}, {"locale", p.Locale, CheckLocale},
		{"phone_number", p.PhoneNumber, CheckPhone}} {
		if text(c.field, c.value, false) {
			check(c.field, c.value, c.fn)
		}
	}
	if a := p.Address; a != nil {
		if text("address.country", a.Country, false) {
			check("address.country", a.Country, CheckCountry)
		}
		for _, f := range []struct {
			field, value string
			max          int
			multiline    bool
		}{{"address.formatted", a.Formatted, 1024, true}, {"address.street_address", a.StreetAddress, 512, true},
			{"address.locality", a.Locality, 255, false}, {"address.region", a.Region, 255, false},
			{"address.postal_code", a.PostalCode, 32, false}} {
			if text(f.field, f.value, f.multiline) {
				maxLen(f.field, f.value, f.max)
			}
		}
	}
	return v.Err()
}

// CheckURLList validates every URL of a list.
func CheckURLList(v *Validation, field string, list []string) {
	for _, u := range list {
		if r := CheckURL(u); r != "" {
			v.Add(field, r+": "+u)
		}
	}
}

// ValidApplicationType reports whether t is a known application type.
func ValidApplicationType(t string) bool {
	switch t {
	case AppReact, AppVue, AppAngular, AppRegularWeb, AppNative, AppMachine:
		return true
	}
	return false
}
