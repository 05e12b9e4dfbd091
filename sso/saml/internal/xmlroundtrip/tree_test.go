package xmlroundtrip

import (
	"bytes"
	"encoding/xml"
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
		doc, parseErr, checkErr, folded := Parse(data)
		if !folded {
			return
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
		if !knownStable(tok, nil) {
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
		if got := knownStable(c.tok, map[xml.Name]bool{}); got != c.want {
			t.Errorf("%#v: %v, want %v", c.tok, got, c.want)
		}
	}
	ends := map[xml.Name]bool{{Local: "a"}: true}
	if !knownStable(xml.EndElement{Name: xml.Name{Local: "a"}}, ends) {
		t.Error("an end tag that passed is checked again")
	}
	// A document whose only unstable token comes after stable ones of the
	// same shape is still refused.
	unstable := []byte(`<a><a>x</a><a><![CDATA[]]></a></a>`)
	if Validate(unstable) == nil {
		t.Fatal("Validate accepts an empty CDATA section")
	}
	if _, parseErr, checkErr, _ := Parse(unstable); parseErr != nil || checkErr == nil {
		t.Errorf("Parse: parse error %v, check %v", parseErr, checkErr)
	}
	if _, _, checkErr, _ := Parse([]byte(`<a>x</a>`)); checkErr != nil {
		t.Errorf("a plain document: %v", checkErr)
	}
	if err := Validate(bytes.Repeat([]byte("<a>"), 65)); err == nil {
		t.Error("Validate's depth limit is gone")
	}
	if _, _, checkErr, _ := Parse(append(bytes.Repeat([]byte("<a>"), 65), bytes.Repeat([]byte("</a>"), 65)...)); checkErr == nil {
		t.Error("Parse does not apply the depth limit")
	}
}
