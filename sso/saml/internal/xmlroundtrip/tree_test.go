package xmlroundtrip

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// dump writes every token of the tree under el, with what Parse must
// reproduce of etree's own parse: names, attributes in order, text and its
// whitespace and CDATA flags, comments, directives, processing
// instructions.
func dump(b *strings.Builder, el *etree.Element, depth int) {
	fmt.Fprintf(b, "%d<%q:%q", depth, el.Space, el.Tag)
	for _, a := range el.Attr {
		fmt.Fprintf(b, " %q:%q=%q(%q)", a.Space, a.Key, a.Value, a.NamespaceURI())
	}
	fmt.Fprintf(b, " ns=%q>\n", el.NamespaceURI())
	for _, c := range el.Child {
		switch c := c.(type) {
		case *etree.Element:
			if c.Parent() != el {
				b.WriteString("bad parent\n")
			}
			dump(b, c, depth+1)
		case *etree.CharData:
			fmt.Fprintf(b, "text %q ws=%v cdata=%v idx=%d\n", c.Data, c.IsWhitespace(), c.IsCData(), c.Index())
		case *etree.Comment:
			fmt.Fprintf(b, "comment %q\n", c.Data)
		case *etree.Directive:
			fmt.Fprintf(b, "directive %q\n", c.Data)
		case *etree.ProcInst:
			fmt.Fprintf(b, "procinst %q %q\n", c.Target, c.Inst)
		}
	}
}

var seeds = []string{
	`<?xml version="1.0" encoding="UTF-8"?><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="x" ID="y" a:ID="z"><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">  <saml:NameID>a&amp;b<!--c-->d<![CDATA[<e>]]></saml:NameID>` + "\n\t" + `</saml:Assertion></samlp:Response>`,
	`<?xml version="1.0" encoding="ISO-8859-1"?><a/>`,
	`<!DOCTYPE a><a><?php x?></a><!-- after -->`,
	`<a :b="1"/>`,
	`<a b:="1"/>`,
	`<:a/>`,
	`<a:/>`,
	`<a><b></a></b>`,
	`<a>&unknown;</a>`,
	`<a b=c/>`,
	`<a>` + "\r\n" + `x&#xD;</a>`,
	`<a xmlns="u" xmlns:p="v"><p:b p:c="1" c="2"/></a>`,
	"<a>\xff</a>",
	`<a>]]></a>`,
	"<a>\u00e9\u2028</a>",
	`<a/><b/>`,
	``,
	`<a>`,
}

// FuzzParseMatchesEtreeAndValidate holds Parse to what it stands for: when
// it folds, the same parse error as etree's ReadFromBytes and, on a
// document etree reads, the same tree, and the same round-trip decision as
// Validate (crewjam/saml's check, which Parse makes on its own tokens).
func FuzzParseMatchesEtreeAndValidate(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	for _, a := range []string{`<x::Root/>`, `<Root><x::Element></::Element></Root>`, `<Root xmlns="x" xmlns:="y"></Root>`, `<Root><! <<!-- -->!-- x --> y></Root>`, "<a><!>DOCTYPE a=></a>", "<a><![CDATA[]]></a>"} {
		f.Add([]byte(a))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, parseErr, checkErr, folded := Parse(data, nil)
		if !folded || errors.Is(parseErr, ErrTooManyAttributes) {
			return // etree reads such a document; Parse refuses it
		}
		want := etree.NewDocument()
		wantErr := want.ReadFromBytes(data)
		if (parseErr == nil) != (wantErr == nil) {
			t.Fatalf("parse error %v, etree %v", parseErr, wantErr)
		}
		if parseErr != nil {
			return
		}
		var got, ref strings.Builder
		dump(&got, &doc.Element, 0)
		dump(&ref, &want.Element, 0)
		if got.String() != ref.String() {
			t.Fatalf("tree differs:\n%s\netree:\n%s", got.String(), ref.String())
		}
		if refErr := Validate(data); (checkErr == nil) != (refErr == nil) {
			t.Fatalf("round-trip check %v, Validate %v", checkErr, refErr)
		}
	})
}

// FuzzKnownStableIsStable: character data that knownStable lets through
// without the check passes the check.
func FuzzKnownStableIsStable(f *testing.F) {
	f.Add([]byte("MIIC+/=\n\t abc.def:ghi@jkl#!?()[]{}*%$~^|,;-_"))
	f.Add([]byte("]]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok := xml.CharData(data)
		if !knownStable(tok, NewMemo(), new([]byte)) {
			return
		}
		if err := newChecker().check(tok); err != nil {
			t.Fatalf("%q: knownStable, but the check fails: %v", data, err)
		}
	})
}

// TestKnownStable: what the shortcut takes and leaves, and that a name is
// taken only once its end tag has passed the check.
func TestKnownStable(t *testing.T) {
	for _, c := range []struct {
		tok  xml.Token
		want bool
	}{
		{xml.CharData("PHNhbWw+IDw/eG1s/+=\n"), true},
		{xml.CharData(""), false},
		{xml.CharData("a&b"), false},
		{xml.CharData("a<b"), false},
		{xml.CharData("a>b"), false},
		{xml.CharData("a\rb"), false},
		{xml.CharData("caf\xc3\xa9"), false},
		{xml.CharData(`"`), false},
		{xml.EndElement{Name: xml.Name{Local: "a"}}, false},
		{xml.StartElement{Name: xml.Name{Local: "a"}}, false},
		{xml.Comment("x"), false},
	} {
		if got := knownStable(c.tok, NewMemo(), new([]byte)); got != c.want {
			t.Errorf("%#v: %v, want %v", c.tok, got, c.want)
		}
	}
	memo := NewMemo()
	var buf []byte
	memo.add(xml.EndElement{Name: xml.Name{Local: "a"}}, &buf)
	if !knownStable(xml.EndElement{Name: xml.Name{Local: "a"}}, memo, &buf) {
		t.Error("an end tag that passed is checked again")
	}
	// A document whose only unstable token comes after stable ones of the
	// same shape is still refused.
	unstable := []byte(`<a><a>x</a><a><![CDATA[]]></a></a>`)
	if Validate(unstable) == nil {
		t.Fatal("Validate accepts an empty CDATA section")
	}
	if _, parseErr, checkErr, _ := Parse(unstable, nil); parseErr != nil || checkErr == nil {
		t.Errorf("Parse: parse error %v, check %v", parseErr, checkErr)
	}
	if _, _, checkErr, _ := Parse([]byte(`<a>x</a>`), nil); checkErr != nil {
		t.Errorf("a plain document: %v", checkErr)
	}
	if err := Validate(bytes.Repeat([]byte("<a>"), 65)); err == nil {
		t.Error("Validate's depth limit is gone")
	}
	if _, _, checkErr, _ := Parse(append(bytes.Repeat([]byte("<a>"), 65), bytes.Repeat([]byte("</a>"), 65)...), nil); checkErr == nil {
		t.Error("Parse does not apply the depth limit")
	}
}

// FuzzStartShapeDecides: two start tags of the same shape (startKey) get
// the same decision from the check, so that Memo may remember a shape: the
// fuzzer picks the names and values of a tag, and a second tag differs
// from it only in the values startKey leaves out.
func FuzzStartShapeDecides(f *testing.F) {
	f.Add("saml", "Assertion", "", "ID", "id-1", "xmlns", "saml", "urn:x", "id-2")
	f.Add("", "a", "", "xmlns", "u", "x", "b", "v", "w")
	f.Add("", "a", "xmlns", "p", "u", "p", "b", "v", "2026-12-03T17:00:00Z")
	f.Add("", "Root", "", ":", "value", "x", "", "y", "z")
	f.Fuzz(func(t *testing.T, space, local, s1, l1, v1, s2, l2, v2, other string) {
		a := xml.StartElement{Name: xml.Name{Space: space, Local: local}, Attr: []xml.Attr{
			{Name: xml.Name{Space: s1, Local: l1}, Value: v1},
			{Name: xml.Name{Space: s2, Local: l2}, Value: v2},
		}}
		b := xml.CopyToken(a).(xml.StartElement)
		for i := range b.Attr {
			if b.Attr[i].Name.Space == "" && b.Attr[i].Name.Local != "xmlns" && safeText(b.Attr[i].Value) && safeText(other) {
				b.Attr[i].Value = other
			}
		}
		var ka, kb []byte
		if string(startKey(&ka, a)) != string(startKey(&kb, b)) {
			t.Fatalf("shapes differ: %q %q", ka, kb)
		}
		errA, errB := newChecker().check(a), newChecker().check(b)
		if (errA == nil) != (errB == nil) {
			t.Fatalf("same shape, different decisions: %v / %v\n%#v\n%#v", errA, errB, a, b)
		}
	})
}

// TestMaxAttributes: an element with more than MaxAttributes attributes
// is refused by Parse (a parse error, before the tree is built, whose
// cost grows with the square of their number) and by Validate (the check
// of the path that does not fold), wherever the element is; MaxAttributes
// of them pass.
func TestMaxAttributes(t *testing.T) {
	attrs := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, ` a%d="v"`, i)
		}
		return b.String()
	}
	tests := []struct {
		name string
		doc  string
		ok   bool
	}{
		{"at the limit", `<Response` + attrs(MaxAttributes) + `/>`, true},
		{"one over, root", `<Response` + attrs(MaxAttributes+1) + `/>`, false},
		{"36,000 on a child", `<Response><Assertion` + attrs(36000) + `/></Response>`, false},
		{"namespace declarations count", `<Response` + attrs(MaxAttributes) + ` xmlns:x="urn:x"/>`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, parseErr, _, folded := Parse([]byte(tc.doc), nil)
			if !folded {
				t.Fatal("not folded")
			}
			verr := Validate([]byte(tc.doc))
			if tc.ok {
				if parseErr != nil || verr != nil {
					t.Fatalf("Parse %v, Validate %v", parseErr, verr)
				}
				return
			}
			if !errors.Is(parseErr, ErrTooManyAttributes) || !errors.Is(verr, ErrTooManyAttributes) {
				t.Fatalf("Parse %v, Validate %v; want ErrTooManyAttributes", parseErr, verr)
			}
		})
	}
	// A name Parse cannot fold sends the caller to etree and Validate:
	// Validate still refuses the element further on.
	doc := `<Response><:Root/><Assertion` + attrs(MaxAttributes+1) + `/></Response>`
	if _, _, _, folded := Parse([]byte(doc), nil); folded {
		t.Fatal("folded a name etree splits")
	}
	if err := Validate([]byte(doc)); !errors.Is(err, ErrTooManyAttributes) {
		t.Fatalf("Validate %v", err)
	}
}
