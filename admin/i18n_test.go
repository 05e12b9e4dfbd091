package admin

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"
)

// TestEveryMessageTranslated: every message key the templates and the
// handlers use exists in English and French, and both catalogs hold the
// same keys (a missing key would render as the key itself).
func TestEveryMessageTranslated(t *testing.T) {
	used := map[string]bool{}
	scan := func(glob string, res ...*regexp.Regexp) {
		files, err := filepath.Glob(glob)
		if err != nil || len(files) == 0 {
			t.Fatalf("no files %s: %v", glob, err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, re := range res {
				for _, m := range re.FindAllStringSubmatch(string(b), -1) {
					used[m[1]] = true
				}
			}
		}
	}
	scan("templates/*.html", regexp.MustCompile(`\.T "([a-z_.]+)"`), regexp.MustCompile(`"(?:hint:)?([a-z_]+\.[a-z_.]+)"`))
	scan("*.go", regexp.MustCompile(`(?:Title|Message|Notice): "([a-z_.]+)"`), regexp.MustCompile(`done=([a-z_.]+)`))
	for _, r := range []string{"owner", "admin", "viewer"} {
		used["role."+r] = true
	}
	delete(used, "")
	if len(used) < 50 {
		t.Fatalf("the scan found only %d keys", len(used))
	}
	var missing []string
	for k := range used {
		for _, lang := range []string{"en", "fr"} {
			if _, ok := catalog[lang][k]; !ok && !isFieldName(k) {
				missing = append(missing, lang+":"+k)
			}
		}
	}
	for k := range catalog["en"] {
		if _, ok := catalog["fr"][k]; !ok {
			missing = append(missing, "fr:"+k)
		}
	}
	for k := range catalog["fr"] {
		if _, ok := catalog["en"][k]; !ok {
			missing = append(missing, "en:"+k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("untranslated keys: %v", missing)
	}
}

// isFieldName tells form field names ("metadata.x", hint targets) from
// message keys in the template scan.
func isFieldName(k string) bool { return regexp.MustCompile(`^metadata\.`).MatchString(k) }
