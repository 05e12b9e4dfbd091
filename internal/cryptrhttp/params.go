package cryptrhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
)

// MaxBodyBytes bounds a request body; a larger one is refused with 413.
const MaxBodyBytes = 1 << 20

// maxDepth bounds the nesting of parameters (JSON objects and bracketed
// form keys).
const maxDepth = 8

// Params are a request's parameters: the query string merged with the
// body, the body winning. Values are string, bool, json.Number, nil,
// []any or Params (nested objects), whatever the source:
//
//   - a JSON object body, whatever its Content-Type label: curl's
//     --data-raw '{...}' labels it application/x-www-form-urlencoded, and
//     Cryptr's server reads it as JSON all the same;
//   - a form body (application/x-www-form-urlencoded, multipart/form-data
//     without files, or a form sent under a JSON label, as the document's
//     update-user sample does with -H "Content-Type: application/json"
//     -d profile=...), where "profile[given_name]=Jane" is the nested
//     object {"profile": {"given_name": "Jane"}} and
//     "allowed_redirect_urls[]=a" appends to a list; a key repeated without
//     brackets becomes a list;
//   - the query string, parsed like a form.
//
// A body is never ignored: one that is neither a JSON object nor a form
// of "key=value" pairs is refused (see DecodeParams).
//
// Read them with a Reader, which checks types and names the offending
// fields.
type Params map[string]any

type paramsKey struct{}

// withParams returns ctx carrying the decoded parameters of its request,
// which DecodeParams then returns instead of reading the (consumed) body
// again.
func withParams(ctx context.Context, p Params) context.Context {
	return context.WithValue(ctx, paramsKey{}, p)
}

// DecodeParams reads the query string and the body of r. A body starting
// with "{" must be a JSON object, whatever its label; otherwise a body
// labelled JSON may be JSON null or a form, and a body labelled as a form
// (or text/plain, or not labelled) must be a form whose every pair has a
// name and "=". Anything else is a 400 *Error (a body is never silently
// ignored), a body over MaxBodyBytes a 413, a body of another content
// type a 415. On the routes of Mux.Handle the parameters are decoded once,
// before the handler runs, and DecodeParams returns them.
func DecodeParams(r *http.Request) (Params, error) {
	if p, ok := r.Context().Value(paramsKey{}).(Params); ok {
		return p, nil
	}
	p := Params{}
	if r.URL.RawQuery != "" {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, BadRequest("malformed query string")
		}
		if err := p.mergeForm(q); err != nil {
			return nil, err
		}
	}
	if r.Body == nil || r.Body == http.NoBody {
		return p, nil
	}
	tooLarge := &Error{Status: http.StatusRequestEntityTooLarge, Code: "request_too_large",
		Message: "the request body is larger than 1 MiB"}
	if r.ContentLength > MaxBodyBytes {
		return nil, tooLarge // before the first read: no "100 Continue" (httpx.LimitBody)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, BadRequest("the request body could not be read")
	}
	if len(body) > MaxBodyBytes {
		return nil, tooLarge
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return p, nil
	}
	ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	jsonLabel := ct == "application/json" || strings.HasSuffix(ct, "+json")
	switch {
	case ct == "multipart/form-data":
		mr := multipartReader(body, ctParams["boundary"])
		if mr == nil {
			return nil, BadRequest("malformed multipart body")
		}
		form, err := mr.ReadForm(MaxBodyBytes)
		if err != nil {
			return nil, BadRequest("malformed multipart body")
		}
		defer form.RemoveAll()
		if len(form.File) > 0 {
			return nil, BadRequest("malformed multipart body: file parts are not accepted")
		}
		if err := p.mergeForm(form.Value); err != nil {
			return nil, err
		}
	case trimmed[0] == '{', jsonLabel && json.Valid(trimmed):
		// A JSON object whatever the label; under a JSON label, any other
		// JSON value is refused (null is an empty object).
		obj, err := decodeJSONObject(body)
		if err != nil {
			return nil, err
		}
		for k, v := range obj {
			p[k] = v
		}
	case jsonLabel, ct == "application/x-www-form-urlencoded", ct == "", ct == "text/plain":
		f, err := parseFormBody(string(trimmed))
		if err != nil {
			if jsonLabel {
				return nil, BadRequest("malformed JSON body: the body is neither a JSON object nor a form")
			}
			return nil, err
		}
		if err := p.mergeForm(f); err != nil {
			return nil, err
		}
	default:
		return nil, &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "send application/json or application/x-www-form-urlencoded"}
	}
	return p, nil
}

// decodeKeepingBody decodes r's parameters (DecodeParams) and leaves r's
// body readable again from its start, for a handler that reads it itself.
func decodeKeepingBody(r *http.Request) (Params, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return DecodeParams(r)
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, BadRequest("the request body could not be read")
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	p, err := DecodeParams(r)
	r.Body = io.NopCloser(bytes.NewReader(raw))
	return p, err
}

// parseFormBody parses a form body: "&"-separated "name=value" pairs.
// Unlike a query string, a pair without "=" or without a name is not
// accepted, so a body that is not a form (a broken JSON text, free text)
// is refused rather than read as a field nobody asked for.
func parseFormBody(body string) (url.Values, error) {
	for _, pair := range strings.Split(body, "&") {
		if pair == "" {
			continue
		}
		if i := strings.IndexByte(pair, '='); i <= 0 {
			return nil, BadRequest("malformed form body: " + truncate(pair) + " is not a name=value pair")
		}
	}
	f, err := url.ParseQuery(body)
	if err != nil {
		return nil, BadRequest("malformed form body")
	}
	return f, nil
}

// decodeJSONObject decodes a JSON object, numbers as json.Number, nested
// objects as Params.
func decodeJSONObject(body []byte) (Params, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, BadRequest("malformed JSON body: " + jsonErrorText(err))
	}
	if dec.More() {
		return nil, BadRequest("malformed JSON body: data after the top-level value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, BadRequest("malformed JSON body: data after the top-level value")
	}
	if v == nil {
		return Params{}, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, BadRequest("malformed JSON body: the body must be a JSON object")
	}
	out, err := fromJSON(obj, 1)
	if err != nil {
		return nil, err
	}
	return out.(Params), nil
}

func jsonErrorText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error() + " at offset " + strconv.FormatInt(se.Offset, 10)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "unexpected end of input"
	}
	return "invalid JSON"
}

func fromJSON(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, BadRequest("malformed JSON body: nested too deeply")
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(Params, len(x))
		for k, e := range x {
			c, err := fromJSON(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		for i, e := range x {
			c, err := fromJSON(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[i] = c
		}
		return x, nil
	}
	return v, nil
}

// mergeForm adds form values, expanding bracketed keys.
func (p Params) mergeForm(vals url.Values) error {
	for key, list := range vals {
		base, path, ok := splitKey(key)
		if !ok {
			base, path = key, nil
		}
		if len(path) >= maxDepth {
			return BadRequest("malformed form body: " + truncate(key) + " is nested too deeply")
		}
		for _, val := range list {
			p.setPath(base, path, val)
		}
	}
	return nil
}

// splitKey splits "a[b][c][]" into "a" and ["b", "c", ""].
func splitKey(key string) (string, []string, bool) {
	i := strings.IndexByte(key, '[')
	if i <= 0 {
		return key, nil, i < 0
	}
	base, rest := key[:i], key[i:]
	var path []string
	for rest != "" {
		if rest[0] != '[' {
			return "", nil, false
		}
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return "", nil, false
		}
		path = append(path, rest[1:j])
		rest = rest[j+1:]
	}
	// "[]" is only meaningful last.
	for _, s := range path[:len(path)-1] {
		if s == "" {
			return "", nil, false
		}
	}
	return base, path, true
}

func (p Params) setPath(name string, path []string, val string) {
	if len(path) == 0 {
		switch old := p[name].(type) {
		case string:
			p[name] = []any{old, val}
		case []any:
			p[name] = append(old, val)
		default:
			p[name] = val
		}
		return
	}
	if path[0] == "" { // name[]=val
		if old, ok := p[name].([]any); ok {
			p[name] = append(old, val)
		} else {
			p[name] = []any{val}
		}
		return
	}
	child, ok := p[name].(Params)
	if !ok {
		child = Params{}
		p[name] = child
	}
	child.setPath(path[0], path[1:], val)
}

func truncate(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64] + "...")
	}
	return strconv.Quote(s)
}

// Reader reads typed fields from Params and collects a field error for
// every value of the wrong type or shape, named with its dotted path
// ("profile.address.country"). Absent fields are not errors: the getters
// return nil. Unknown fields are ignored.
type Reader struct {
	p      Params
	prefix string
	v      *identity.Validation
}

// Reader returns a Reader over p.
func (p Params) Reader() *Reader { return &Reader{p: p, v: &identity.Validation{}} }

// Has reports whether the field is present (even as null).
func (r *Reader) Has(name string) bool { _, ok := r.p[name]; return ok }

// Raw returns the field's value as decoded.
func (r *Reader) Raw(name string) (any, bool) { v, ok := r.p[name]; return v, ok }

// Field returns the dotted name of a field of this reader.
func (r *Reader) Field(name string) string { return r.prefix + name }

// Invalid records that the field is invalid for reason.
func (r *Reader) Invalid(name, reason string) { r.v.Add(r.prefix+name, reason) }

// Merge records the field errors of err (an *identity.InvalidError) under
// this reader's prefix; other errors are recorded under field.
func (r *Reader) Merge(field string, err error) {
	var inv *identity.InvalidError
	if errors.As(err, &inv) {
		for _, f := range inv.Fields {
			r.v.Add(r.prefix+f.Field, f.Reason)
		}
		return
	}
	if err != nil {
		r.v.Add(r.prefix+field, err.Error())
	}
}

// Err returns the collected field errors as an *identity.InvalidError
// (which WriteError renders as 422), or nil.
func (r *Reader) Err() error { return r.v.Err() }

// String returns the field as a string. JSON null reads as "" (clear the
// field). Numbers, booleans, lists and objects are wrong types.
func (r *Reader) String(name string) *string {
	v, ok := r.p[name]
	if !ok {
		return nil
	}
	switch x := v.(type) {
	case string:
		if strings.IndexByte(x, 0) >= 0 {
			r.Invalid(name, "must not contain NUL characters")
			return nil
		}
		return &x
	case nil:
		s := ""
		return &s
	}
	r.Invalid(name, "must be a string")
	return nil
}

// Strings returns the field as a list of strings. A single string is a
// one-element list (a form field sent without brackets); null is empty.
func (r *Reader) Strings(name string) *[]string {
	v, ok := r.p[name]
	if !ok {
		return nil
	}
	var out []string
	switch x := v.(type) {
	case nil:
		out = []string{}
	case string:
		out = []string{x}
		if x == "" {
			out = []string{}
		}
	case []any:
		out = make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok || strings.IndexByte(s, 0) >= 0 {
				r.Invalid(name, "must be a list of strings")
				return nil
			}
			out = append(out, s)
		}
	default:
		r.Invalid(name, "must be a list of strings")
		return nil
	}
	return &out
}

// Bool returns the field as a boolean: JSON true/false, or the strings
// "true", "false", "1" and "0" (forms and query strings).
func (r *Reader) Bool(name string) *bool {
	v, ok := r.p[name]
	if !ok {
		return nil
	}
	var b bool
	switch x := v.(type) {
	case bool:
		b = x
	case string:
		switch strings.ToLower(x) {
		case "true", "1":
			b = true
		case "false", "0":
			b = false
		default:
			r.Invalid(name, "must be true or false")
			return nil
		}
	default:
		r.Invalid(name, "must be true or false")
		return nil
	}
	return &b
}

// Int returns the field as an integer: a JSON integer or a decimal string
// of 32 bits (a longer one is a field error saying the bound).
func (r *Reader) Int(name string) *int {
	v, ok := r.p[name]
	if !ok {
		return nil
	}
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
	default:
		r.Invalid(name, "must be an integer")
		return nil
	}
	n64, err := strconv.ParseInt(s, 10, 32)
	switch {
	case errors.Is(err, strconv.ErrRange) && n64 > 0:
		r.Invalid(name, fmt.Sprintf("must be at most %d", math.MaxInt32))
		return nil
	case errors.Is(err, strconv.ErrRange):
		r.Invalid(name, fmt.Sprintf("must be at least %d", math.MinInt32))
		return nil
	case err != nil:
		r.Invalid(name, "must be an integer")
		return nil
	}
	n := int(n64)
	return &n
}

// Object returns a Reader over a nested object, sharing this reader's
// errors; it is empty (every getter returns nil) when the field is absent
// or null, and a field error is recorded when it is not an object.
func (r *Reader) Object(name string) *Reader {
	child := &Reader{p: Params{}, prefix: r.prefix + name + ".", v: r.v}
	switch x := r.p[name].(type) {
	case Params:
		child.p = x
	case nil:
	default:
		r.Invalid(name, "must be an object")
	}
	return child
}

// Page reads the pagination parameters: "page" (or its synonym
// "current_page") and "per_page". per_page defaults to 8 and is capped at
// identity.MaxPerPage. The document says a list "should never return an
// error": a page below 1 is the first page and a per_page below 1 the
// default; only a value that is not an integer (or past 32 bits) is a
// field error.
func (r *Reader) Page() identity.PageRequest {
	req := identity.PageRequest{Page: 1, PerPage: identity.DefaultPerPage}
	name := "page"
	if !r.Has(name) && r.Has("current_page") {
		name = "current_page"
	}
	if p := r.Int(name); p != nil && *p >= 1 {
		req.Page = *p
	}
	if n := r.Int("per_page"); n != nil && *n >= 1 {
		req.PerPage = min(*n, identity.MaxPerPage)
	}
	return req
}
