package query

import (
	"testing"
	"time"
)

func TestExtendedJSON(t *testing.T) {
	doc := map[string]any{
		"_id":       "5f1c0a2b3c4d5e6f7a8b9c0d",
		"createdOn": time.Date(2017, 5, 25, 17, 35, 16, 728e6, time.UTC),
		"n":         int64(1) << 60,
		"roles":     []any{"PROFILE_ADMIN", "SOCIAL_USER"},
		"username":  "john.doe",
	}
	tests := []struct {
		q    string
		want bool
	}{
		{`{_id: {$oid: '5F1C0A2B3C4D5E6F7A8B9C0D'}}`, true},
		{`{_id: {$oid: '000000000000000000000000'}}`, false},
		{`{createdOn: {$date: 1495733716728}}`, true},
		{`{createdOn: {$date: 1495733716728.0}}`, true},
		{`{createdOn: {$date: 1495733716727.5}}`, false},
		{`{createdOn: {$gt: {$date: 1495733716727.5}, $lt: {$date: 1495733716728.5}}}`, true},
		{`{createdOn: {$gt: {$date: 8e15}}}`, false},
		{`{createdOn: {$date: '2017-05-25T17:35:16.728Z'}}`, true},
		{`{createdOn: {$date: '2017-05-25T19:35:16.728+0200'}}`, true},
		{`{createdOn: {$date: {$numberLong: '1495733716728'}}}`, true},
		{`{createdOn: {$gt: {$date: '2017-01-01'}}}`, true},
		{`{createdOn: {$lt: {$date: '2017-01-01'}}}`, false},
		{`{createdOn: {$gt: 1}}`, false},
		{`{createdOn: {$in: [{$date: 1495733716728}]}}`, true},
		{`{n: {$numberLong: '1152921504606846976'}}`, true},
		{`{n: {$eq: {$numberLong: '1152921504606846976'}}}`, true},
		{`{roles: {$in: [{$regex: '^social', $options: 'i'}, 'X']}}`, true},
		{`{roles: {$in: [{$regex: '^ADMIN'}]}}`, false},
		{`{roles: {$nin: [{$regex: 'ADMIN$'}]}}`, false},
		{`{roles: {$all: [{$date: 0}]}}`, false},
	}
	for _, tt := range tests {
		q, err := Parse(tt.q)
		if err != nil {
			t.Errorf("Parse(%s): %v", tt.q, err)
			continue
		}
		if got := q.Match(doc); got != tt.want {
			t.Errorf("Match(%s) = %v, want %v", tt.q, got, tt.want)
		}
	}
	bad := []struct {
		src    string
		offset int
	}{
		{`{_id: {$oid: 'xyz'}}`, 13},
		{`{_id: {$oid: 1}}`, 13},
		{`{d: {$date: 'yesterday'}}`, 12},
		{`{d: {$date: true}}`, 12},
		{`{d: {$date: 1e300}}`, 12},
		{`{d: {$date: {$numberLong: 'x'}}}`, 26},
		{`{n: {$numberLong: 5}}`, 18},
		{`{n: {$in: [{$regex: 1}]}}`, 20},
		{`{n: {$in: [{$numberLong: 'z'}]}}`, 25},
		{`{x: {$date: 0, y: 1}}`, 5},
	}
	for _, tt := range bad {
		_, err := Parse(tt.src)
		var qe *Error
		if !asError(err, &qe) || qe.Kind != KindOperator || qe.Offset != tt.offset {
			t.Errorf("Parse(%s) = %v, want operator error at %d", tt.src, err, tt.offset)
		}
	}
	q, err := Parse(`{createdOn: {$date: 5}, r: {$in: [{$regex: 'x'}]}}`)
	if err != nil {
		t.Fatal(err)
	}
	hints := q.IndexHints()
	if len(hints) != 1 || hints[0].Path != "createdOn" || !hints[0].Values[0].(time.Time).Equal(time.UnixMilli(5)) {
		t.Errorf("hints %v", hints)
	}
}

func TestStripExtended(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a b\tc\n", "abc"},
		{"a # comment\nb", "ab"},
		{"a#x", "a"},
		{`a\ b`, `a\x20b`},
		{`a\#b`, `a\#b`},
		{"[ #]x", "[ #]x"},
		{"[] ]x y", "[] ]xy"},
		{"[^] ]x y", "[^] ]xy"},
		{`[\] ]x y`, `[\] ]xy`},
		{`\`, `\`},
	}
	for _, tt := range tests {
		if got := stripExtended(tt.in); got != tt.want {
			t.Errorf("stripExtended(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
