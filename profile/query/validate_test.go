package query

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

func TestForbiddenKeys(t *testing.T) {
	tests := []struct {
		src    string
		kind   Kind
		offset int
	}{
		{`{tenant: 'x'}`, KindTenant, 1},
		{`{'tenant': 'x'}`, KindTenant, 1},
		{`{"tenant" : 'x'}`, KindTenant, 1},
		{`{attributes.tenant: 'x'}`, KindTenant, 1},
		{`{subtenant: 'x'}`, KindTenant, 1},
		{`{"ten\u0061nt": 'x'}`, KindTenant, 1},
		{`{$or: [{a: 1}, {tenant: 'x'}]}`, KindTenant, 16},
		{`{a: {$elemMatch: {tenant: 1}}}`, KindTenant, 18},
		{`{attributes: {tenant: 'x'}}`, KindTenant, 14},
		{`{a: {$in: [{tenant: 'x'}]}}`, KindTenant, 12},
		{`{$tenant: 1}`, KindTenant, 1},
		{`{$where: 'this.a == 1'}`, KindWhere, 1},
		{`{'$where': 'sleep(1000)'}`, KindWhere, 1},
		{`{$or: [{$where: 'x'}]}`, KindWhere, 8},
		{`{a: {$not: {$where: 'x'}}}`, KindWhere, 12},
		{`{a: {b: {c$where: 1}}}`, KindWhere, 9},
	}
	for _, tt := range tests {
		_, err := Parse(tt.src)
		var qe *Error
		if !errors.As(err, &qe) || qe.Kind != tt.kind || qe.Offset != tt.offset {
			t.Errorf("Parse(%s) = %v; want %v at %d", tt.src, err, tt.kind, tt.offset)
			continue
		}
		want := msgTenant
		if tt.kind == KindWhere {
			want = msgWhere
		}
		if qe.Msg != want {
			t.Errorf("Parse(%s) message %q, want %q", tt.src, qe.Msg, want)
		}
	}
	// Keys merely containing the words, and values, are fine.
	for _, src := range []string{
		`{tenants: 1}`, `{tenantName: 1}`, `{attributes.tenantId: 'x'}`,
		`{username: 'tenant: x'}`, `{where: 1}`, `{username: '$where: 1'}`,
	} {
		if _, err := Parse(src); err != nil {
			t.Errorf("Parse(%s): %v", src, err)
		}
	}
}

func TestDeniedAttributes(t *testing.T) {
	opt := WithDeniedAttributes("secret", "ssn")
	tests := []struct {
		src  string
		attr string // "" when accepted
	}{
		{`{attributes.secret: 'x'}`, "secret"},
		{`{'attributes.secret': 'x'}`, "secret"},
		{`{attributes.secret.deep.er: 'x'}`, "secret"},
		{`{attributes.ssn: {$exists: true}}`, "ssn"},
		{`{$or: [{username: 'a'}, {attributes.ssn: 1}]}`, "ssn"},
		{`{attributes.list: {$elemMatch: {x: 1}}, attributes.ssn: 1}`, "ssn"},
		{`{attributes.secretive: 'x'}`, ""},
		{`{attributes.firstName: 'x'}`, ""},
		{`{secret: 'x'}`, ""},
		{`{other.attributes.secret: 'x'}`, ""},
		{`{username: 'attributes.secret'}`, ""},
	}
	for _, tt := range tests {
		_, err := Parse(tt.src, opt)
		if tt.attr == "" {
			if err != nil {
				t.Errorf("Parse(%s): %v", tt.src, err)
			}
			continue
		}
		var qe *Error
		if !errors.As(err, &qe) || qe.Kind != KindDenied {
			t.Errorf("Parse(%s) = %v, want denied", tt.src, err)
			continue
		}
		if want := fmt.Sprintf(`Attribute "%s" is not allowed in query`, tt.attr); qe.Msg != want {
			t.Errorf("Parse(%s) message %q, want %q", tt.src, qe.Msg, want)
		}
	}
	if _, err := Parse(`{attributes: {$exists: true}}`, opt); !isKind(err, KindDenied) {
		t.Errorf("bare attributes with denied names: %v", err)
	}
	if _, err := Parse(`{attributes: {$exists: true}}`, WithDeniedAttributes()); err != nil {
		t.Errorf("bare attributes without denied names: %v", err)
	}
}

func TestValidator(t *testing.T) {
	var got []string
	errNo := errors.New("no")
	v := WithValidator(func(p string) error {
		got = append(got, p)
		if p == "b.c" {
			return errNo
		}
		return nil
	})
	if _, err := Parse(`{a: 1, $and: [{x: {$elemMatch: {y: 1}}}], z: {$not: {$gt: 1}}}`, v); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "x", "x.y", "z"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("validated %q, want %q", got, want)
	}
	_, err := Parse(`{a: 1, b.c: 2}`, v)
	var qe *Error
	if !errors.As(err, &qe) || qe.Kind != KindDenied || qe.Path != "b.c" || qe.Offset != 7 || qe.Msg != "no" {
		t.Fatalf("got %#v", err)
	}
	if !errors.Is(err, errNo) {
		t.Fatal("validator error is not wrapped")
	}
	if _, err := Parse(`{a: 1}`, WithValidator(nil)); err != nil {
		t.Fatalf("nil validator: %v", err)
	}
}
