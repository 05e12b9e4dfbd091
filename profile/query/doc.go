// Package query parses, validates and evaluates the MongoDB filters that
// Crafter Profile clients send to the query endpoints (one_by_query,
// count_by_query, by_query).
//
// # Syntax
//
// Filters are written in Jongo's relaxed JSON: object keys may be unquoted
// (letters, digits, '_', '$' and '.', so dotted paths and operators need no
// quotes), strings may be enclosed in single or double quotes, and the usual
// JSON values (objects, arrays, numbers, true, false, null) are accepted:
//
//	{email: 'admin@example.com'}
//	{attributes.subscriptions.targets: 'news'}
//	{username: {$regex: '.*abc.*', $options: 'i'}}
//
// As in Jongo, the MongoDB extended-JSON wrappers {$date: ...} (epoch
// milliseconds, an ISO-8601 string or {$numberLong: '...'}), {$oid: '...'}
// and {$numberLong: '...'} are read as a time.Time, a lower-case hex string
// and an int64, and {$regex: ..., $options: ...} is accepted as a member of
// $in and $nin.
//
// The parser is a hand-written recursive descent parser. Input size and
// nesting depth are bounded (see [WithMaxLen] and [WithMaxDepth]). Integers
// that fit in int64 become int64, other numbers float64. Duplicate keys in one
// object, comments, trailing commas and unquoted string values are rejected.
//
// # Semantics
//
// Supported operators: $eq $ne $gt $gte $lt $lte $in $nin $exists $regex
// (with $options i, m, s, x, u) $not $all $size $elemMatch, and the logical
// $and $or $nor. Any other operator is rejected. Semantics follow MongoDB:
// implicit equality, a path through an array matches when any element
// matches, equality against an array field also matches when the array
// contains the value, {f: null} matches a missing f, $ne/$nin/$not match
// documents where the field is missing, and $gt/$gte/$lt/$lte only compare
// values of the same type class (numbers compare numerically across integer
// and floating point). Regular expressions use Go's RE2 engine, so matching
// is linear in the subject; PCRE-only constructs (backreferences,
// look-around) are rejected at parse time, and so are expressions whose
// compiled size (counted repetitions expanded) exceeds a fixed budget, per
// expression and per query. Object equality ignores key
// order, because documents are Go maps.
//
// # Validation
//
// As Crafter Profile does, Parse rejects any object key that ends with
// "tenant" (the tenant is added by the caller) and any key ending in
// "$where", anywhere in the filter, literal values included. A caller can
// reject further field paths with [WithValidator] or [WithDeniedAttributes].
// Every error returned by Parse is an [*Error]; the HTTP layer maps it to 400
// INVALID_QUERY.
//
// # Documents
//
// [Query.Match] evaluates a filter on a document of type map[string]any.
// Accepted value types inside a document are:
//
//   - objects: map[string]any
//   - arrays: []any, []string, []map[string]any, []int64, []float64, []int
//   - strings: string
//   - numbers: int, int8, int16, int32, int64, uint, uint8, uint16, uint32,
//     uint64, float32, float64, json.Number
//   - booleans: bool
//   - dates: time.Time (compared with each other only)
//   - null: nil
//
// Values of other types never match any predicate but $exists.
//
// # Index planning and sorting
//
// [Query.IndexHints] and [Query.EqualityOn] extract equality constraints of
// the top-level conjunction, which a store can serve from an index before it
// runs Match on each candidate; [Key] gives the canonical index key of a
// scalar. [Sort] and [SortFunc] order documents by a dotted path like
// MongoDB's sort.
package query
