package gazetteer

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity/gazetteer/internal/fold"
)

// The embedded data file (places.gz, written by internal/gen) is gzip'd
// UTF-8 text, one record a line, fields separated by tabs:
//
//	gazetteer-v1 <nAdmin1> <nCountryAliases> <nPlaces> <nKeys> <nPostings> <source>
//	A <CC> <admin1 code> <admin1 name>         nAdmin1 lines, sorted by CC.code
//	C <folded country alias> <CC>              nCountryAliases lines
//	P <name> <CC> <admin1 index or ""> <population>
//	                                           nPlaces lines, most populous first
//	K <folded key> <places,...> <places,...>   nKeys lines, sorted bytewise
//
// A K line lists, by P index in ascending order (so most populous first),
// the places whose name or ASCII name folds to the key, then the places
// that have it as an alternate name (an exonym such as "Londres").

// errCorrupt is wrapped by every data-format error.
var errCorrupt = errors.New("gazetteer: corrupt data")

const noAdmin1 = ^uint16(0)

// maxSizeHint bounds the buffer preallocated from the gzip trailer.
const maxSizeHint = 64 << 20

// span locates a string inside index.text.
type span struct {
	off uint32
	n   uint32
}

type admin1 struct {
	cc     string
	code   string // lower-cased, for the "City, CA" qualifier form
	name   string
	folded string
}

type placeRec struct {
	name   span
	cc     [2]byte
	admin1 uint16 // index into index.admin1, noAdmin1 when unknown
	pop    uint32
}

type keyRec struct {
	key   span
	post  uint32 // first posting in index.post
	nPrim uint16
	nAlt  uint16
}

// index is the loaded, read-only gazetteer.
type index struct {
	text      string // place names and keys, back to back
	admin1    []admin1
	countries map[string]string // folded alias -> CC
	places    []placeRec
	keys      []keyRec
	post      []uint32
}

func (x *index) str(s span) string { return x.text[s.off : s.off+s.n] }

// parseGzip decompresses and parses a data file.
func parseGzip(gz string) (*index, error) {
	zr, err := gzip.NewReader(strings.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errCorrupt, err)
	}
	// The gzip trailer holds the uncompressed size (mod 2^32): size the
	// buffer once, unless the hint is implausible.
	size := 0
	if len(gz) >= 4 {
		size = int(binary.LittleEndian.Uint32([]byte(gz[len(gz)-4:])))
	}
	if size > maxSizeHint {
		size = 0
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	if _, err := io.Copy(buf, zr); err != nil {
		return nil, fmt.Errorf("%w: %w", errCorrupt, err)
	}
	return parse(buf.Bytes())
}

// lineReader hands out the fields of one line at a time.
type lineReader struct {
	data []byte
	line int
}

// next returns the fields of the next line, which must start with tag.
func (r *lineReader) next(tag string, want int, fields [][]byte) ([][]byte, error) {
	if len(r.data) == 0 {
		return nil, fmt.Errorf("%w: unexpected end of data", errCorrupt)
	}
	r.line++
	var l []byte
	if i := bytes.IndexByte(r.data, '\n'); i >= 0 {
		l, r.data = r.data[:i], r.data[i+1:]
	} else {
		l, r.data = r.data, nil
	}
	fields = fields[:0]
	for {
		i := bytes.IndexByte(l, '\t')
		if i < 0 {
			fields = append(fields, l)
			break
		}
		fields = append(fields, l[:i])
		l = l[i+1:]
	}
	if len(fields) != want || string(fields[0]) != tag {
		return nil, fmt.Errorf("%w: line %d: want a %q line of %d fields", errCorrupt, r.line, tag, want)
	}
	return fields, nil
}

// atoi parses a non-negative decimal that fits in 32 bits.
func atoi(b []byte) (uint32, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return uint32(n), n <= 1<<32-1
}

func parse(data []byte) (*index, error) {
	r := &lineReader{data: data}
	fields := make([][]byte, 0, 8)
	f, err := r.next("gazetteer-v1", 7, fields)
	if err != nil {
		return nil, err
	}
	var n [5]int
	for i := range n {
		v, ok := atoi(f[i+1])
		if !ok || v > 1<<24 {
			return nil, fmt.Errorf("%w: bad header count %q", errCorrupt, f[i+1])
		}
		n[i] = int(v)
	}
	nAdmin1, nCountries, nPlaces, nKeys, nPost := n[0], n[1], n[2], n[3], n[4]
	if nAdmin1 >= int(noAdmin1) {
		return nil, fmt.Errorf("%w: too many admin1 divisions", errCorrupt)
	}

	x := &index{
		admin1:    make([]admin1, 0, nAdmin1),
		countries: make(map[string]string, nCountries),
		places:    make([]placeRec, 0, nPlaces),
		keys:      make([]keyRec, 0, nKeys),
		post:      make([]uint32, 0, nPost),
	}
	var text strings.Builder
	text.Grow(len(data) / 2)
	add := func(b []byte) span {
		s := span{off: uint32(text.Len()), n: uint32(len(b))}
		text.Write(b)
		return s
	}

	for range nAdmin1 {
		if f, err = r.next("A", 4, fields); err != nil {
			return nil, err
		}
		name := string(f[3])
		x.admin1 = append(x.admin1, admin1{
			cc:     string(f[1]),
			code:   strings.ToLower(string(f[2])),
			name:   name,
			folded: fold.Key(name),
		})
	}
	for range nCountries {
		if f, err = r.next("C", 3, fields); err != nil {
			return nil, err
		}
		x.countries[string(f[1])] = string(f[2])
	}
	for range nPlaces {
		if f, err = r.next("P", 5, fields); err != nil {
			return nil, err
		}
		if len(f[2]) != 2 {
			return nil, fmt.Errorf("%w: line %d: bad country code", errCorrupt, r.line)
		}
		p := placeRec{name: add(f[1]), cc: [2]byte{f[2][0], f[2][1]}, admin1: noAdmin1}
		if len(f[3]) > 0 {
			a, ok := atoi(f[3])
			if !ok || int(a) >= len(x.admin1) {
				return nil, fmt.Errorf("%w: line %d: bad admin1 index", errCorrupt, r.line)
			}
			p.admin1 = uint16(a)
		}
		var ok bool
		if p.pop, ok = atoi(f[4]); !ok {
			return nil, fmt.Errorf("%w: line %d: bad population", errCorrupt, r.line)
		}
		x.places = append(x.places, p)
	}
	var prev []byte
	for range nKeys {
		if f, err = r.next("K", 4, fields); err != nil {
			return nil, err
		}
		if len(f[1]) == 0 || bytes.Compare(f[1], prev) <= 0 {
			return nil, fmt.Errorf("%w: line %d: keys out of order", errCorrupt, r.line)
		}
		prev = f[1]
		k := keyRec{key: add(f[1]), post: uint32(len(x.post))}
		np, err := x.appendPostings(f[2])
		if err != nil {
			return nil, fmt.Errorf("%w: line %d", err, r.line)
		}
		na, err := x.appendPostings(f[3])
		if err != nil {
			return nil, fmt.Errorf("%w: line %d", err, r.line)
		}
		k.nPrim, k.nAlt = uint16(np), uint16(na)
		x.keys = append(x.keys, k)
	}
	if len(r.data) != 0 {
		return nil, fmt.Errorf("%w: trailing data after line %d", errCorrupt, r.line)
	}
	x.text = text.String()
	if text.Cap() > len(x.text)+len(x.text)/4 {
		x.text = strings.Clone(x.text) // do not keep the slack alive
	}
	return x, nil
}

// appendPostings parses a comma-separated list of place indexes.
func (x *index) appendPostings(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n := 0
	for len(b) > 0 {
		var item []byte
		if i := bytes.IndexByte(b, ','); i >= 0 {
			item, b = b[:i], b[i+1:]
		} else {
			item, b = b, nil
		}
		v, ok := atoi(item)
		if !ok || int(v) >= len(x.places) {
			return 0, fmt.Errorf("%w: bad place index %q", errCorrupt, item)
		}
		x.post = append(x.post, v)
		n++
	}
	if n > int(^uint16(0)) {
		return 0, fmt.Errorf("%w: too many places for one key", errCorrupt)
	}
	return n, nil
}
