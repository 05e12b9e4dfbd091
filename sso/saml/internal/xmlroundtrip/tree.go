// This file is Gatehouse's, not crewjam/saml's: it folds Validate into the
// parse of the document, so that a message is tokenised once.

package xmlroundtrip

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"

	"github.com/beevik/etree"
)

// maxTreeDepth is etree's default ReadSettings.MaxDepth.
const maxTreeDepth = 1024

// Parse reads data, in one tokenisation, as two things at once: the
// document etree.NewDocument().ReadFromBytes(data) builds (default
// settings: strict, no charset conversion, the last of repeated attributes
// kept at the first one's position, whitespace-only text flagged as such),
// with the error it returns (parseErr), and Validate's decision on data
// (checkErr).
//
// folded is false when it cannot stand for both: an element or attribute
// name etree would split at a colon where encoding/xml did not. The caller
// then parses and validates separately. When parseErr is not nil, doc and
// checkErr are not meaningful (etree refuses the document; Validate may
// not have seen all of it).
//
// FuzzParseMatchesEtreeAndValidate holds it to etree and Validate.
func Parse(data []byte) (doc *etree.Document, parseErr, checkErr error, folded bool) {
	// etree's decoder is strict, Validate's is not: on a document the
	// strict decoder accepts, both produce the same tokens; on any other,
	// parseErr is set and the rest does not matter.
	decoder := xml.NewDecoder(bytes.NewReader(data))
	decoder.Strict = true
	decoder.CharsetReader = identityCharsetReader

	doc = etree.NewDocument()
	stack := []*etree.Element{&doc.Element}

	c := newChecker()
	// Tokens that passed the check already: it is a function of the token
	// alone (a new encoder for each; its decoder reads back exactly what
	// was encoded, and never a self-closing tag that would leave state),
	// so an identical token passes again.
	stableEnds := map[xml.Name]bool{}
	stableStarts := map[string]bool{}
	var keyBuf []byte
	offset := int64(0)
	var declared []int
	inScope := 0
	for {
		token, err := decoder.RawToken()
		if err == io.EOF {
			if len(stack) != 1 {
				return doc, etree.ErrXML, checkErr, true
			}
			return doc, nil, checkErr, true
		}
		if err != nil {
			return doc, err, checkErr, true
		}

		// Validate's check, until it fails.
		if checkErr == nil {
			var err error
			switch t := token.(type) {
			case xml.StartElement:
				n := 0
				for _, attr := range t.Attr {
					if attr.Name.Space == "xmlns" || (attr.Name.Space == "" && attr.Name.Local == "xmlns") {
						n++
					}
				}
				declared = append(declared, n)
				inScope += n
				if len(declared) > MaxDepth {
					err = ErrTooDeep
				} else if inScope > MaxNamespacesInScope {
					err = ErrTooManyNamespaces
				}
			case xml.EndElement:
				if len(declared) > 0 {
					inScope -= declared[len(declared)-1]
					declared = declared[:len(declared)-1]
				}
			}
			if err == nil && !knownStable(token, stableEnds) {
				key := ""
				if st, ok := token.(xml.StartElement); ok {
					key = startKey(&keyBuf, st)
				}
				if key == "" || !stableStarts[key] {
					err = c.check(token)
					if err == nil {
						switch t := token.(type) {
						case xml.EndElement:
							stableEnds[t.Name] = true
						case xml.StartElement:
							stableStarts[key] = true
						}
					}
				}
			}
			if err != nil {
				line := int64(bytes.Count(data[:offset], []byte{'\n'})) + 1
				column := offset - int64(bytes.LastIndexByte(data[:offset], '\n'))
				checkErr = &Error{Line: line, Column: column, Err: err}
			}
			offset = decoder.InputOffset()
		}

		// etree's Element.readFrom.
		top := stack[len(stack)-1]
		switch t := token.(type) {
		case xml.StartElement:
			if len(stack) > maxTreeDepth {
				return doc, etree.ErrMaxDepth, checkErr, true
			}
			if strings.IndexByte(t.Name.Local, ':') >= 0 {
				return nil, nil, nil, false
			}
			el := top.CreateElement(qualified(t.Name))
			for _, a := range t.Attr {
				if strings.IndexByte(a.Name.Local, ':') >= 0 {
					return nil, nil, nil, false
				}
				el.CreateAttr(qualified(a.Name), a.Value)
			}
			stack = append(stack, el)
		case xml.EndElement:
			if top.Tag != t.Name.Local || top.Space != t.Name.Space {
				return doc, etree.ErrXML, checkErr, true
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			text := top.CreateText(string(t))
			text.SetData(text.Data) // flags whitespace-only text, as readFrom does
		case xml.Comment:
			top.CreateComment(string(t))
		case xml.Directive:
			top.CreateDirective(string(t))
		case xml.ProcInst:
			top.CreateProcInst(t.Target, string(t.Inst))
		}
	}
}

func qualified(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// knownStable reports whether token passes checker.check without running
// it: an end tag whose name passed already (the check of an EndElement
// depends on its name alone), or character data made only of bytes that
// xml.Encoder writes as they are, or as a character reference the decoder
// reads back unchanged (tab), and that the decoder reads back as they are:
// ASCII letters, digits, space, tab, line feed and the punctuation below,
// without '&', '<', '>', quotes or carriage return. Base64 signature
// values, digests and certificates, and most SAML values, are such text.
// FuzzKnownStableIsStable holds the rule to the check itself.
func knownStable(token xml.Token, stableEnds map[xml.Name]bool) bool {
	switch t := token.(type) {
	case xml.EndElement:
		return stableEnds[t.Name]
	case xml.CharData:
		// Empty character data (an empty CDATA section) is not stable: it
		// encodes to nothing.
		if len(t) == 0 {
			return false
		}
		for _, b := range t {
			if !safeTextByte(b) {
				return false
			}
		}
		return true
	}
	return false
}

func safeTextByte(b byte) bool {
	switch {
	case '0' <= b && b <= '9', 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z':
		return true
	}
	return strings.IndexByte(" \t\n+/=.,:;-_@#!?()[]{}*%$~^|", b) >= 0
}

// startKey is a key equal for two start tags exactly when they are the
// same token: names and attribute names and values, in order, separated
// by NUL, which no name or value of a parsed document contains.
func startKey(buf *[]byte, st xml.StartElement) string {
	b := append((*buf)[:0], st.Name.Space...)
	b = append(b, 0)
	b = append(b, st.Name.Local...)
	for _, a := range st.Attr {
		b = append(b, 0)
		b = append(b, a.Name.Space...)
		b = append(b, 0)
		b = append(b, a.Name.Local...)
		b = append(b, 0)
		b = append(b, a.Value...)
	}
	*buf = b
	return string(b)
}
