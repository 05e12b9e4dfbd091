package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// mongoexport writes MongoDB Extended JSON v2, relaxed (the default) or
// canonical (--jsonFormat=canonical), and older exports the legacy form.
// decodeDoc reads one document with exact numbers (json.Number), and
// plain converts the wrappers it meets into Go values:
//
//	{"$oid": "5f..."}                         the 24-hex string
//	{"$date": "2014-05-01T00:00:00Z"}         a time.Time (relaxed)
//	{"$date": {"$numberLong": "139..."}}      a time.Time (canonical)
//	{"$date": 1398902400000}                  a time.Time (legacy)
//	{"$numberLong": "12345678901234567"}      a json.Number with those digits
//	{"$numberInt": "7"}, {"$numberDouble": "1.0"}, {"$numberDecimal": "0.1"}
//	                                          a json.Number, digits kept as written
//
// Any other "$" wrapper (binary, regular expression, timestamp, ...) is
// refused: Crafter Profile never writes one.

// decodeDoc parses one exported document.
func decodeDoc(raw []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var doc map[string]any
	if err := d.Decode(&doc); err != nil {
		return nil, fmt.Errorf("not a JSON document: %w", err)
	}
	if d.More() {
		return nil, fmt.Errorf("more than one JSON value on the line")
	}
	if doc == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	v, err := plain(doc)
	if err != nil {
		return nil, err
	}
	out, ok := v.(map[string]any)
	if !ok { // the whole document is one wrapper, such as {"$oid": ...}
		return nil, fmt.Errorf("not a document but an extended JSON value")
	}
	return out, nil
}

// plain converts extended-JSON wrappers in v, recursively.
func plain(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, inner := range x {
				if strings.HasPrefix(k, "$") {
					return wrapper(k, inner)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := plain(e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := plain(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case json.Number:
		// Digits are kept; the value must still read back as a float64.
		if f, err := strconv.ParseFloat(x.String(), 64); err != nil || math.IsInf(f, 0) {
			return nil, fmt.Errorf("number %s is out of range", x)
		}
	}
	return v, nil
}

// wrapper converts one extended-JSON wrapper {key: inner}.
func wrapper(key string, inner any) (any, error) {
	switch key {
	case "$oid":
		s, ok := inner.(string)
		if !ok || len(s) != 24 {
			return nil, fmt.Errorf("$oid must be 24 hexadecimal digits")
		}
		return strings.ToLower(s), nil
	case "$date":
		return extDate(inner)
	case "$numberLong", "$numberInt", "$numberDecimal", "$numberDouble":
		s, ok := inner.(string)
		if !ok {
			if n, isNum := inner.(json.Number); isNum {
				s = n.String()
			} else {
				return nil, fmt.Errorf("%s must hold a number in a string", key)
			}
		}
		if key == "$numberLong" || key == "$numberInt" {
			if _, err := strconv.ParseInt(s, 10, 64); err != nil {
				return nil, fmt.Errorf("%s %q is not an integer", key, s)
			}
		} else if f, err := strconv.ParseFloat(s, 64); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("%s %q is not a finite number", key, s)
		}
		if !json.Valid([]byte(s)) {
			return nil, fmt.Errorf("%s %q is not a JSON number", key, s)
		}
		return json.Number(s), nil
	}
	return nil, fmt.Errorf("unsupported extended JSON type %s", key)
}

// extDate reads the inside of {"$date": ...} in its three forms.
func extDate(inner any) (time.Time, error) {
	switch x := inner.(type) {
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return time.Time{}, fmt.Errorf("$date %q is not an ISO-8601 date", x)
		}
		return t.UTC(), nil
	case json.Number:
		ms, err := x.Int64()
		if err != nil {
			return time.Time{}, fmt.Errorf("$date %s is not milliseconds", x)
		}
		return time.UnixMilli(ms).UTC(), nil
	case map[string]any:
		if s, ok := x["$numberLong"].(string); ok && len(x) == 1 {
			ms, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("$date $numberLong %q is not milliseconds", s)
			}
			return time.UnixMilli(ms).UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("$date has an unknown form")
}

// attrValue is an attribute value as the Crafter face stores it: dates
// become epoch milliseconds, as Crafter's REST API (Jackson) writes a
// java.util.Date.
func attrValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return json.Number(strconv.FormatInt(x.UnixMilli(), 10))
	case map[string]any:
		for k, e := range x {
			x[k] = attrValue(e)
		}
	case []any:
		for i, e := range x {
			x[i] = attrValue(e)
		}
	}
	return v
}

// fields reads typed fields of a document and remembers the first
// problem.
type fields struct {
	doc map[string]any
	err error
}

func (f *fields) fail(name, want string) {
	if f.err == nil {
		f.err = fmt.Errorf("field %s must be %s", name, want)
	}
}

// str is a string field ("" when absent or null).
func (f *fields) str(name string) string {
	switch x := f.doc[name].(type) {
	case nil:
		return ""
	case string:
		return x
	}
	f.fail(name, "a string")
	return ""
}

// boolean is a boolean field (def when absent or null).
func (f *fields) boolean(name string, def bool) bool {
	switch x := f.doc[name].(type) {
	case nil:
		return def
	case bool:
		return x
	}
	f.fail(name, "a boolean")
	return def
}

// date is a date field (nil when absent or null); a plain number is
// epoch milliseconds.
func (f *fields) date(name string) *time.Time {
	switch x := f.doc[name].(type) {
	case nil:
		return nil
	case time.Time:
		return &x
	case json.Number:
		if ms, err := x.Int64(); err == nil {
			t := time.UnixMilli(ms).UTC()
			return &t
		}
	}
	f.fail(name, "a date")
	return nil
}

// strings is a list of strings (nil when absent or null).
func (f *fields) strings(name string) []string {
	switch x := f.doc[name].(type) {
	case nil:
		return nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				f.fail(name, "a list of strings")
				return nil
			}
			out = append(out, s)
		}
		return out
	}
	f.fail(name, "a list of strings")
	return nil
}

// object is an object field (nil when absent or null).
func (f *fields) object(name string) map[string]any {
	switch x := f.doc[name].(type) {
	case nil:
		return nil
	case map[string]any:
		return x
	}
	f.fail(name, "an object")
	return nil
}

// objects is a list of objects (nil when absent or null).
func (f *fields) objects(name string) []map[string]any {
	switch x := f.doc[name].(type) {
	case nil:
		return nil
	case []any:
		out := make([]map[string]any, 0, len(x))
		for _, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				f.fail(name, "a list of objects")
				return nil
			}
			out = append(out, m)
		}
		return out
	}
	f.fail(name, "a list of objects")
	return nil
}
