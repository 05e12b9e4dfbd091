package query

import "testing"

const benchQuery = `{$or: [{username: 'john.doe'}, {email: 'John.Doe@example.com'}], roles: {$in: ['PROFILE_ADMIN', 'X']}, attributes.subscriptions.targets: 'news', createdOn: {$gt: 1400000000000}}`

// BenchmarkParse measures parsing of a typical query.
func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(benchQuery); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMatch measures matching a typical query on a profile.
func BenchmarkMatch(b *testing.B) {
	q, err := Parse(benchQuery)
	if err != nil {
		b.Fatal(err)
	}
	doc := sampleProfile()
	b.ReportAllocs()
	for b.Loop() {
		if !q.Match(doc) {
			b.Fatal("no match")
		}
	}
}

// BenchmarkMatchRegex measures the admin console's case-insensitive search.
func BenchmarkMatchRegex(b *testing.B) {
	q, err := Parse(`{username: {$regex: '.*doe.*', $options: 'i'}}`)
	if err != nil {
		b.Fatal(err)
	}
	doc := sampleProfile()
	b.ReportAllocs()
	for b.Loop() {
		if !q.Match(doc) {
			b.Fatal("no match")
		}
	}
}

// BenchmarkMatchEquality is the baseline: a single equality test.
func BenchmarkMatchEquality(b *testing.B) {
	q, err := Parse(`{username: 'john.doe'}`)
	if err != nil {
		b.Fatal(err)
	}
	doc := sampleProfile()
	b.ReportAllocs()
	for b.Loop() {
		if !q.Match(doc) {
			b.Fatal("no match")
		}
	}
}
