package query

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// sampleProfile is a profile document as the profile service builds it.
func sampleProfile() map[string]any {
	return map[string]any{
		"id":           "5f1c",
		"username":     "john.doe",
		"email":        "John.Doe@example.com",
		"verified":     true,
		"enabled":      false,
		"createdOn":    int64(1495733716728),
		"lastModified": json.Number("1495733716729"),
		"roles":        []string{"PROFILE_ADMIN", "SOCIAL_USER"},
		"attributes": map[string]any{
			"firstName": "John",
			"age":       42.0,
			"score":     int32(7),
			"nickname":  nil,
			"tags":      []any{"a", "b", []any{"c", "d"}},
			"subscriptions": map[string]any{
				"targets": []any{"news", "offers"},
				"active":  true,
			},
			"addresses": []any{
				map[string]any{"city": "Paris", "zip": "75001", "kind": []any{"home", "billing"}},
				map[string]any{"city": "Lyon", "zip": int64(69001)},
				"legacy",
			},
			"matrix": []any{[]any{int64(1), int64(2)}, []any{int64(3)}},
			"born":   time.Date(1980, 5, 1, 0, 0, 0, 0, time.UTC),
			"empty":  []any{},
			"big":    uint64(math.MaxUint64),
		},
	}
}

func TestMatchOperators(t *testing.T) {
	tests := []struct {
		q    string
		want bool
	}{
		// Implicit equality.
		{`{}`, true},
		{`{username: 'john.doe'}`, true},
		{`{username: "john.doe"}`, true},
		{`{username: 'John.Doe'}`, false},
		{`{verified: true}`, true},
		{`{enabled: true}`, false},
		{`{createdOn: 1495733716728}`, true},
		{`{createdOn: 1495733716728.0}`, true},
		{`{createdOn: '1495733716728'}`, false},
		{`{lastModified: 1495733716729}`, true},
		{`{attributes.age: 42}`, true},
		{`{attributes.score: 7.0}`, true},
		{`{attributes.big: 18446744073709551615.0}`, true},
		{`{username: 'john.doe', verified: true}`, true},
		{`{username: 'john.doe', verified: false}`, false},
		// Array contains and whole-array equality.
		{`{roles: 'PROFILE_ADMIN'}`, true},
		{`{roles: 'ADMIN'}`, false},
		{`{roles: ['PROFILE_ADMIN', 'SOCIAL_USER']}`, true},
		{`{roles: ['SOCIAL_USER', 'PROFILE_ADMIN']}`, false},
		{`{roles: ['PROFILE_ADMIN']}`, false},
		{`{attributes.tags: ['c', 'd']}`, true},
		{`{attributes.tags: 'c'}`, false},
		{`{attributes.empty: []}`, true},
		// Object equality (key order ignored).
		{`{attributes.subscriptions: {active: true, targets: ['news', 'offers']}}`, true},
		{`{attributes.subscriptions: {targets: ['news', 'offers']}}`, false},
		{`{attributes.addresses: {zip: 69001, city: 'Lyon'}}`, true},
		// Dotted paths.
		{`{attributes.subscriptions.targets: 'news'}`, true},
		{`{attributes.subscriptions.targets: 'spam'}`, false},
		{`{attributes.addresses.city: 'Lyon'}`, true},
		{`{attributes.addresses.city: 'Nice'}`, false},
		{`{attributes.addresses.kind: 'billing'}`, true},
		{`{attributes.addresses.0.city: 'Paris'}`, true},
		{`{attributes.addresses.1.city: 'Paris'}`, false},
		{`{attributes.addresses.2: 'legacy'}`, true},
		{`{attributes.tags.2: 'c'}`, true},
		{`{attributes.tags.2: ['c', 'd']}`, true},
		{`{attributes.matrix: 1}`, false},
		{`{attributes.matrix: [3]}`, true},
		{`{attributes.matrix.0: 2}`, true},
		{`{username.first: 'john'}`, false},
		// null and missing.
		{`{attributes.nickname: null}`, true},
		{`{attributes.missing: null}`, true},
		{`{username: null}`, false},
		{`{attributes.addresses.kind: null}`, true},
		{`{attributes.addresses.city: null}`, false},
		{`{attributes.empty.x: null}`, true},
		{`{roles.x: null}`, true},
		// $eq / $ne.
		{`{email: {$eq: 'John.Doe@example.com'}}`, true},
		{`{roles: {$eq: 'SOCIAL_USER'}}`, true},
		{`{roles: {$ne: 'SOCIAL_USER'}}`, false},
		{`{roles: {$ne: 'ADMIN'}}`, true},
		{`{attributes.missing: {$ne: 1}}`, true},
		{`{attributes.nickname: {$ne: null}}`, false},
		{`{attributes.firstName: {$ne: null}}`, true},
		{`{attributes.addresses.city: {$ne: 'Lyon'}}`, false},
		{`{a: {$eq: {$gt: 1}}}`, false},
		// Comparisons.
		{`{createdOn: {$gt: 1495733716727}}`, true},
		{`{createdOn: {$gt: 1495733716728}}`, false},
		{`{createdOn: {$gte: 1495733716728}}`, true},
		{`{createdOn: {$lt: 1.5e12}}`, true},
		{`{createdOn: {$lte: 1495733716727.9}}`, false},
		{`{createdOn: {$gt: 1495733716727.5, $lt: 1495733716728.5}}`, true},
		{`{attributes.age: {$gt: 41.5}}`, true},
		{`{attributes.age: {$gt: '1'}}`, false},
		{`{username: {$gt: 'john'}}`, true},
		{`{username: {$lt: 'john'}}`, false},
		{`{username: {$gt: 1}}`, false},
		{`{verified: {$gt: false}}`, true},
		{`{verified: {$gt: 0}}`, false},
		{`{attributes.addresses.zip: {$gt: 69000}}`, true},
		{`{attributes.addresses.zip: {$gt: '75000'}}`, true},
		{`{attributes.addresses.zip: {$gt: '75002'}}`, false},
		{`{attributes.tags: {$gte: 'b'}}`, true},
		{`{attributes.tags: {$gt: 'b'}}`, false},
		{`{attributes.tags: {$gt: ['a']}}`, true},
		{`{attributes.missing: {$gt: 0}}`, false},
		{`{attributes.missing: {$gte: null}}`, true},
		{`{attributes.nickname: {$lte: null}}`, true},
		{`{attributes.nickname: {$lt: null}}`, false},
		{`{attributes.subscriptions: {$gt: {}}}`, true},
		{`{attributes.big: {$gt: 9223372036854775807}}`, true},
		{`{attributes.score: {$gt: 6.999, $lt: 7.001}}`, true},
		// $in / $nin.
		{`{username: {$in: ['a', 'john.doe']}}`, true},
		{`{username: {$in: []}}`, false},
		{`{roles: {$in: ['X', 'SOCIAL_USER']}}`, true},
		{`{roles: {$in: ['X', 'Y']}}`, false},
		{`{createdOn: {$in: [1495733716728.0]}}`, true},
		{`{attributes.missing: {$in: [null]}}`, true},
		{`{attributes.missing: {$in: [1]}}`, false},
		{`{roles: {$nin: ['X']}}`, true},
		{`{roles: {$nin: ['PROFILE_ADMIN']}}`, false},
		{`{attributes.missing: {$nin: [1]}}`, true},
		{`{attributes.missing: {$nin: [null]}}`, false},
		{`{attributes.tags: {$in: [['c', 'd']]}}`, true},
		// $exists.
		{`{email: {$exists: true}}`, true},
		{`{email: {$exists: false}}`, false},
		{`{attributes.missing: {$exists: false}}`, true},
		{`{attributes.missing: {$exists: 1}}`, false},
		{`{attributes.nickname: {$exists: true}}`, true},
		{`{attributes.addresses.kind: {$exists: true}}`, true},
		{`{attributes.addresses.street: {$exists: true}}`, false},
		{`{attributes.addresses.street: {$exists: 0}}`, true},
		{`{attributes.empty.x: {$exists: true}}`, false},
		// $regex.
		{`{username: {$regex: '.*hn\\.d.*'}}`, true},
		{`{username: {$regex: '^john'}}`, true},
		{`{username: {$regex: '^JOHN'}}`, false},
		{`{username: {$regex: '^JOHN', $options: 'i'}}`, true},
		{`{username: {$options: 'i', $regex: '^JOHN'}}`, true},
		{`{username: {$regex: '(?i)^JOHN'}}`, true},
		{`{roles: {$regex: '^SOCIAL'}}`, true},
		{`{roles: {$regex: '^ADMIN'}}`, false},
		{`{createdOn: {$regex: '1'}}`, false},
		{`{attributes.missing: {$regex: '.*'}}`, false},
		{`{username: {$regex: 'j o h n # comment', $options: 'x'}}`, true},
		{`{username: {$regex: 'john[ ]', $options: 'x'}}`, false},
		{`{attributes.firstName: {$regex: 'John\\ ?', $options: 'xu'}}`, true},
		{`{username: {$regex: '^doe$', $options: 'm'}}`, false},
		{`{username: {$regex: 'john', $ne: 'john.doe'}}`, false},
		{`{username: {$not: {$regex: '^admin'}}}`, true},
		// $not.
		{`{createdOn: {$not: {$gt: 5}}}`, false},
		{`{createdOn: {$not: {$lt: 5}}}`, true},
		{`{attributes.missing: {$not: {$gt: 5}}}`, true},
		{`{roles: {$not: {$in: ['X']}}}`, true},
		// $all.
		{`{roles: {$all: ['SOCIAL_USER', 'PROFILE_ADMIN']}}`, true},
		{`{roles: {$all: ['SOCIAL_USER']}}`, true},
		{`{roles: {$all: ['SOCIAL_USER', 'X']}}`, false},
		{`{roles: {$all: []}}`, false},
		{`{attributes.addresses: {$all: [{$elemMatch: {city: 'Paris'}}, {$elemMatch: {city: 'Lyon'}}]}}`, true},
		{`{attributes.addresses: {$all: [{$elemMatch: {city: 'Paris'}}, {$elemMatch: {city: 'Nice'}}]}}`, false},
		// $size.
		{`{roles: {$size: 2}}`, true},
		{`{roles: {$size: 1}}`, false},
		{`{attributes.empty: {$size: 0}}`, true},
		{`{attributes.tags: {$size: 2}}`, false},
		{`{attributes.tags: {$size: 3}}`, true},
		{`{attributes.addresses.kind: {$size: 2}}`, true},
		{`{username: {$size: 8}}`, false},
		{`{attributes.missing: {$size: 0}}`, false},
		// $elemMatch.
		{`{attributes.addresses: {$elemMatch: {city: 'Paris', zip: '75001'}}}`, true},
		{`{attributes.addresses: {$elemMatch: {city: 'Paris', zip: 69001}}}`, false},
		{`{attributes.addresses.city: 'Paris', attributes.addresses.zip: 69001}`, true},
		{`{attributes.addresses: {$elemMatch: {zip: {$gt: 60000, $lt: 70000}}}}`, true},
		{`{attributes.addresses: {$elemMatch: {$or: [{city: 'Nice'}, {city: 'Lyon'}]}}}`, true},
		{`{attributes.addresses: {$elemMatch: {kind: 'home'}}}`, true},
		{`{roles: {$elemMatch: {$regex: '^PROFILE'}}}`, true},
		{`{roles: {$elemMatch: {$eq: 'X'}}}`, false},
		{`{attributes.matrix: {$elemMatch: {$size: 1}}}`, true},
		{`{attributes.matrix: {$elemMatch: {$gt: 2}}}`, true},
		{`{attributes.subscriptions: {$elemMatch: {active: true}}}`, false},
		{`{username: {$elemMatch: {$eq: 'john.doe'}}}`, false},
		{`{attributes.addresses: {$elemMatch: {}}}`, true},
		// Logical operators.
		{`{$and: [{username: 'john.doe'}, {roles: 'SOCIAL_USER'}]}`, true},
		{`{$and: [{username: 'john.doe'}, {roles: 'X'}]}`, false},
		{`{$or: [{username: 'x'}, {email: 'John.Doe@example.com'}]}`, true},
		{`{$or: [{username: 'x'}, {email: 'y'}]}`, false},
		{`{$nor: [{username: 'x'}, {email: 'y'}]}`, true},
		{`{$nor: [{username: 'x'}, {verified: true}]}`, false},
		{`{$and: [{$or: [{a: 1}, {verified: true}]}, {$nor: [{enabled: true}]}], username: 'john.doe'}`, true},
		// Dates.
		{`{attributes.born: {$gt: 0}}`, false},
		{`{attributes.born: {$exists: true}}`, true},
	}
	doc := sampleProfile()
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
}

func TestMatchValueTypes(t *testing.T) {
	born := time.Date(1980, 5, 1, 0, 0, 0, 0, time.UTC)
	doc := map[string]any{
		"i": 3, "i8": int8(3), "i16": int16(3), "i32": int32(3), "u": uint(3), "u8": uint8(3),
		"u16": uint16(3), "u32": uint32(3), "u64": uint64(3), "f32": float32(3), "n": json.Number("3.0"),
		"bad": json.Number("x"), "ints": []int{1, 3}, "i64s": []int64{3}, "fs": []float64{3},
		"maps": []map[string]any{{"k": 3}}, "date": born, "other": struct{}{},
	}
	for _, f := range []string{"i", "i8", "i16", "i32", "u", "u8", "u16", "u32", "u64", "f32", "n", "ints", "i64s", "fs", "maps.k"} {
		q, err := Parse(`{` + f + `: 3}`)
		if err != nil {
			t.Fatal(err)
		}
		if !q.Match(doc) {
			t.Errorf("{%s: 3} does not match", f)
		}
	}
	for _, src := range []string{`{bad: 'x'}`, `{other: {}}`, `{other: null}`, `{other: {$gt: null}}`, `{date: 3}`} {
		q, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		if q.Match(doc) {
			t.Errorf("%s matches", src)
		}
	}
	q, _ := Parse(`{other: {$exists: true}, bad: {$exists: true}}`)
	if !q.Match(doc) {
		t.Error("$exists on unsupported values should match")
	}
	var nilQuery *Query
	if !nilQuery.Match(doc) || nilQuery.Paths() != nil || nilQuery.IndexHints() != nil {
		t.Error("nil Query should match everything and have no paths or hints")
	}
	if q, _ := Parse(`{a: 1}`); q.Match(nil) {
		t.Error("nil document matched {a: 1}")
	}
	if q, _ := Parse(`{a: null}`); !q.Match(nil) {
		t.Error("nil document did not match {a: null}")
	}
}

func TestOperatorErrors(t *testing.T) {
	tests := []struct {
		src    string
		offset int
		msg    string
	}{
		{`{a: {$foo: 1}}`, 5, `unknown operator "$foo"`},
		{`{$foo: [{a: 1}]}`, 1, `unknown top-level operator "$foo"`},
		{`{$expr: {$eq: ['$a', 1]}}`, 1, `unknown top-level operator`},
		{`{a: {$gt: 1, b: 2}}`, 13, `unknown operator "b"`},
		{`{a: {$text: {$search: 'x'}}}`, 5, `unknown operator "$text"`},
		{`{$and: []}`, 7, "non-empty array"},
		{`{$or: {a: 1}}`, 6, "non-empty array"},
		{`{$nor: [1]}`, 8, "non-empty array"},
		{`{a: {$in: 1}}`, 10, "needs an array"},
		{`{a: {$nin: 'x'}}`, 11, "needs an array"},
		{`{a: {$in: [{$gt: 1}]}}`, 11, "cannot nest operators"},
		{`{a: {$exists: 'yes'}}`, 14, "boolean or a number"},
		{`{a: {$not: 1}}`, 11, "operator expression"},
		{`{a: {$not: {}}}`, 11, "operator expression"},
		{`{a: {$not: {b: 1}}}`, 11, "operator expression"},
		{`{a: {$size: -1}}`, 12, "non-negative integer"},
		{`{a: {$size: 1.5}}`, 12, "non-negative integer"},
		{`{a: {$size: '1'}}`, 12, "non-negative integer"},
		{`{a: {$all: 'x'}}`, 11, "needs an array"},
		{`{a: {$all: [{$gt: 1}]}}`, 12, "$elemMatch"},
		{`{a: {$elemMatch: 1}}`, 17, "needs an object"},
		{`{a: {$elemMatch: {$gt: 1, b: 1}}}`, 26, "cannot mix"},
		{`{a: {$elemMatch: {$foo: 1}}}`, 18, "unknown operator"},
		{`{a: {$regex: 1}}`, 13, "needs a string"},
		{`{a: {$regex: 'x', $options: 1}}`, 28, "needs a string"},
		{`{a: {$regex: 'x', $options: 'ig'}}`, 28, `flag "g"`},
		{`{a: {$options: 'i'}}`, 5, "$options needs $regex"},
		{`{a: {$regex: '(a'}}`, 13, "invalid $regex"},
		{`{a: {$regex: '(?=a)'}}`, 13, "invalid $regex"},
		{`{a: {$regex: '(a)\\1'}}`, 13, "invalid $regex"},
		{`{a: {$regex: 'a{2000}'}}`, 13, "invalid $regex"},
		{`{a: {$not: {$regex: '['}}}`, 20, "invalid $regex"},
		{`{a: {$regex: '[a-z]{1000}[a-z]{1000}[a-z]{1000}[a-z]{1000}x'}}`, 13, "too complex"},
		{`{a: {$regex: '(((a|b)*)*){1000}'}}`, 13, "too complex"},
		{`{a: {$regex: 'x{1000}'}, b: {$regex: 'x{1000}'}, c: {$regex: 'x{1000}'}, d: {$regex: 'x{1000}'}, e: {$regex: 'x{1000}'}, f: {$regex: 'x{1000}'}, g: {$regex: 'x{1000}'}, h: {$regex: 'x{1000}'}}`, 181, "too many"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.src)
		var qe *Error
		if !asError(err, &qe) || qe.Kind != KindOperator || qe.Offset != tt.offset || !contains(qe.Msg, tt.msg) {
			t.Errorf("Parse(%s) = %v; want operator error at %d containing %q", tt.src, err, tt.offset, tt.msg)
		}
	}
}
