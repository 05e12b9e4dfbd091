package query

import "testing"

func FuzzParse(f *testing.F) {
	seeds := []string{
		`{email: 'admin@example.com'}`,
		`{attributes.subscriptions.targets: 'news'}`,
		`{username: {$regex: '.*abc.*', $options: 'i'}}`,
		`{$or: [{roles: {$in: ['A', 'B']}}, {createdOn: {$gt: 1.5e12}}], verified: true}`,
		`{attributes.addresses: {$elemMatch: {city: 'Paris', zip: {$ne: null}}}}`,
		`{roles: {$all: ['A'], $size: 1}, attributes.x: {$not: {$exists: false}}}`,
		`{"a.0.b": [1, {"c": "\u00e9"}], $nor: [{d: {$lte: -0.5}}]}`,
		`{a: {$regex: 'a b # c', $options: 'x'}}`,
		`{createdOn: {$gte: {$date: '2017-05-25T17:35:16.728Z'}}, _id: {$oid: '5f1c0a2b3c4d5e6f7a8b9c0d'}}`,
		`{roles: {$nin: [{$regex: '^A', $options: 'ix'}, {$numberLong: '5'}]}}`,
		`{tenant: 1}`,
		`{a: `,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	doc := sampleProfile()
	f.Fuzz(func(t *testing.T, src string) {
		q, err := Parse(src, WithDeniedAttributes("secret"))
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T", err)
			}
			if q != nil {
				t.Fatal("non-nil query with error")
			}
			return
		}
		q.Match(doc)
		q.Match(map[string]any{})
		for _, h := range q.IndexHints() {
			q.EqualityOn(h.Path)
			IndexKeys(doc, h.Path)
			for _, v := range h.Values {
				if _, ok := Key(v); !ok {
					t.Fatalf("hint value %#v has no key", v)
				}
			}
		}
		for _, p := range q.Paths() {
			SortKey(doc, p, true)
			SortKey(doc, p, false)
		}
	})
}
