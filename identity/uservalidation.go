package identity

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// One user validation, run by Txn.InsertUser and Txn.ReplaceUser for
// every caller (the Cryptr and Crafter faces, SSO just-in-time
// provisioning, the hosted sign-up, embedders): a face parses its request
// and maps the *InvalidError it gets back to its own error format; it does
// not re-check.
//
// The rules:
//   - every string field is valid UTF-8 without NUL or other control
//     characters (tab, line feed and carriage return are allowed in the
//     multi-line fields: address.formatted, address.street_address and
//     attribute values);
//   - the email is an addr-spec (CheckEmail), the username 1 to 255
//     characters, role and attribute names 1 to 255 characters;
//   - the OIDC claims follow CheckProfile;
//   - every MetaKey value has the MetaKey's type (CheckMetaValue), under
//     the field "metadata.<name>";
//   - every required MetaKey has a value (not absent, null or "").
//
// A replace is refused only for what it breaks: a problem the stored user
// already had (a value written before a rule existed, a MetaKey made
// required after the user was created) does not block other changes to
// that user, such as the lockout counters of a password login.

// ValidateUser checks u against the rules above for its organization's
// directory settings tn (nil: the rules that need no directory).
func ValidateUser(tn *Tenant, u *User) error {
	var v Validation
	v.Merge("", CheckUser(u))
	if tn != nil {
		checkMetaKeys(&v, tn, u)
	}
	return v.Err()
}

// validateReplace is ValidateUser for a replace of old by u: only the
// field errors that old did not already have count.
func validateReplace(tn *Tenant, old, u *User) error {
	err := ValidateUser(tn, u)
	if err == nil {
		return nil
	}
	var before *InvalidError
	prev := ValidateUser(tn, old)
	if prev == nil || !asInvalid(prev, &before) {
		return err
	}
	var now *InvalidError
	if !asInvalid(err, &now) {
		return err
	}
	var v Validation
	for _, f := range now.Fields {
		if !slices.Contains(before.Fields, f) {
			v.Add(f.Field, f.Reason)
		}
	}
	return v.Err()
}

func asInvalid(err error, out **InvalidError) bool {
	ie, ok := err.(*InvalidError)
	if ok {
		*out = ie
	}
	return ok
}

// checkMetaKeys records the MetaKey rules: types of present values, and
// required keys.
func checkMetaKeys(v *Validation, tn *Tenant, u *User) {
	for i := range tn.AttributeDefinitions {
		d := &tn.AttributeDefinitions[i]
		val, ok := u.Attributes[d.Name]
		missing := !ok || val == nil || val == ""
		if d.Required && missing {
			v.Add("metadata."+d.Name, "is required")
			continue
		}
		if !d.InToken || missing {
			continue
		}
		s, ok := metaValueString(val)
		if !ok {
			v.Add("metadata."+d.Name, "must be one value of type "+metaTypeName(d.Type))
			continue
		}
		if r := CheckMetaValue(d.Type, s); r != "" {
			v.Add("metadata."+d.Name, r)
		}
	}
}

// typeMetaValues gives each text value of a typed MetaKey (integer,
// number, boolean) of u the JSON type its MetaKey declares, so that a
// value reads and matches the same whichever face wrote it: Cryptr's
// MetaData are text ("42"), Crafter's attributes JSON values (42), and a
// Crafter query for 42 finds a user whose age a Cryptr client set. Values
// that do not parse are left for the validation to refuse. Run by
// InsertUser, ReplaceUser and ImportUsers before ValidateUser; u's map is
// replaced, not changed in place.
func typeMetaValues(tn *Tenant, u *User) {
	if tn == nil {
		return
	}
	var out map[string]any
	for i := range tn.AttributeDefinitions {
		d := &tn.AttributeDefinitions[i]
		if !d.InToken {
			continue
		}
		text, ok := u.Attributes[d.Name].(string)
		if !ok || text == "" {
			continue
		}
		v, ok := typedMetaValue(d.Type, text)
		if !ok {
			continue
		}
		if out == nil {
			out = maps.Clone(u.Attributes)
		}
		out[d.Name] = v
	}
	if out != nil {
		u.Attributes = out
	}
}

// typedMetaValue is text as a value of MetaKey type typ, when typ is a JSON
// type other than string and text is one of its values. Numbers are
// json.Number, as the store reads them back (kv's codec).
func typedMetaValue(typ, text string) (any, bool) {
	switch typ {
	case MetaInteger:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, false
		}
		return json.Number(strconv.FormatInt(n, 10)), true
	case MetaNumber:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, false
		}
		if c := text[0]; (c == '-' || (c >= '0' && c <= '9')) && json.Valid([]byte(text)) {
			return json.Number(text), true // the written digits, 1.50 stays 1.50
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), true
	case MetaBoolean:
		switch text {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return nil, false
}

func metaTypeName(t string) string {
	if t == "" {
		return MetaString
	}
	return t
}

// metaValueString returns the text of a scalar attribute value, as
// CheckMetaValue reads it.
func metaValueString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), true
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(x), true
	case json.Number:
		return x.String(), true
	}
	return "", false
}

// Reasons of the text rule.
const (
	reasonNotUTF8   = "must be valid UTF-8 text"
	reasonNUL       = "must not contain NUL characters"
	reasonControl   = "must not contain control characters"
	maxValueDepth   = 32
	reasonTooDeeply = "is nested too deeply"
	reasonNotFinite = "must be a finite number"
)

// textReason returns why s is not acceptable text, or "". multiline allows
// tab, line feed and carriage return.
func textReason(s string, multiline bool) string {
	if !utf8.ValidString(s) {
		return reasonNotUTF8
	}
	reason := ""
	for _, r := range s {
		switch {
		case r == 0:
			return reasonNUL
		case multiline && (r == '\t' || r == '\n' || r == '\r'):
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
			reason = reasonControl
		}
	}
	return reason
}

// checkText records field when s is not acceptable text.
func checkText(v *Validation, field, s string, multiline bool) {
	if r := textReason(s, multiline); r != "" {
		v.Add(field, r)
	}
}

// checkValueText records field when a string inside an attribute value
// (a string, or lists and objects of them) is not acceptable text.
func checkValueText(v *Validation, field string, val any, depth int) {
	if depth > maxValueDepth {
		v.Add(field, reasonTooDeeply)
		return
	}
	switch x := val.(type) {
	case string:
		checkText(v, field, x, true)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			v.Add(field, reasonNotFinite)
		}
	case json.Number: // exact digits (an import): must read back as a float64
		if f, err := strconv.ParseFloat(string(x), 64); err != nil || math.IsInf(f, 0) || !json.Valid([]byte(x)) {
			v.Add(field, reasonNotFinite)
		}
	case []any:
		for _, e := range x {
			n := len(v.fields)
			checkValueText(v, field, e, depth+1)
			if len(v.fields) > n {
				return
			}
		}
	case []string:
		for _, e := range x {
			if r := textReason(e, true); r != "" {
				v.Add(field, r)
				return
			}
		}
	case map[string]any:
		for k, e := range x {
			if r := textReason(k, false); r != "" {
				v.Add(field, r)
				return
			}
			n := len(v.fields)
			checkValueText(v, field, e, depth+1)
			if len(v.fields) > n {
				return
			}
		}
	}
}
