// Package fold turns place names into lookup keys: lower case, accents
// removed, punctuation and runs of spaces collapsed to one space. The
// gazetteer's generator and its runtime share it, so the keys written into
// the embedded data and the keys computed from a query always agree.
package fold

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// special maps letters that Unicode does not decompose into a base letter
// plus combining marks to their usual Latin transliteration.
func special(r rune) (string, bool) {
	switch r {
	case 'ß', 'ẞ':
		return "ss", true
	case 'æ', 'Æ':
		return "ae", true
	case 'œ', 'Œ':
		return "oe", true
	case 'ø', 'Ø':
		return "o", true
	case 'ł', 'Ł', 'ŀ', 'Ŀ':
		return "l", true
	case 'đ', 'Đ', 'ð', 'Ð':
		return "d", true
	case 'þ', 'Þ':
		return "th", true
	case 'ı':
		return "i", true
	case 'ħ', 'Ħ':
		return "h", true
	}
	return "", false
}

// Key returns the lookup key of s: letters and digits lower-cased and
// stripped of diacritics ("Montréal" → "montreal", "Łódź" → "lodz"), every
// other rune (space, hyphen, apostrophe, dot, invalid UTF-8) treated as a
// separator, separators collapsed to a single space and trimmed at both ends
// ("Saint-Étienne" → "saint etienne").
func Key(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	sep := false // a separator is pending
	put := func(r rune) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if sep && b.Len() > 0 {
				b.WriteByte(' ')
			}
			sep = false
			b.WriteRune(unicode.ToLower(r))
			return
		}
		if unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) {
			return // combining mark: dropped, it does not split a word
		}
		sep = true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') {
				if sep && b.Len() > 0 {
					b.WriteByte(' ')
				}
				sep = false
				b.WriteByte(c)
			} else {
				sep = true
			}
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		seg := s[i : i+n]
		i += n
		if r == utf8.RuneError && n == 1 {
			sep = true
			continue
		}
		if t, ok := special(r); ok {
			for _, tr := range t {
				put(tr)
			}
			continue
		}
		d := norm.NFKD.PropertiesString(seg).Decomposition()
		if d == nil {
			put(r)
			continue
		}
		for _, d := range string(d) {
			if t, ok := special(d); ok {
				for _, tr := range t {
					put(tr)
				}
				continue
			}
			put(d)
		}
	}
	return b.String()
}
