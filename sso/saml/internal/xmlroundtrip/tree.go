// This file is Gatehouse's, not crewjam/saml's: it folds Validate into the
// parse of the document, so that a message is tokenised once.

package xmlroundtrip

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"sync"

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
// then parses and validates separately. One departure from etree: a start
// tag with more than MaxAttributes attributes ends the parse with
// parseErr ErrTooManyAttributes (and folded true), before any of them is
// added: adding them costs time quadratic in their number (Validate
// refuses such a document too). When parseErr is not nil, doc and
// checkErr are not meaningful (etree refuses the document; Validate may
// not have seen all of it).
//
// FuzzParseMatchesEtreeAndValidate holds it to etree and Validate.
//
// memo, if not nil, remembers the tokens that passed the check across
// calls (see Memo).
func Parse(data []byte, memo *Memo) (doc *etree.Document, parseErr, checkErr error, folded bool) {
	if memo == nil {
		memo = NewMemo()
	}
	// etree's decoder is strict, Validate's is not: on a document the
	// strict decoder accepts, both produce the same tokens; on any other,
	// parseErr is set and the rest does not matter.
	decoder := xml.NewDecoder(bytes.NewReader(data))
	decoder.Strict = true
	decoder.CharsetReader = identityCharsetReader

	doc = etree.NewDocument()
	stack := []*etree.Element{&doc.Element}

	c := newChecker()
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
			if err == nil && !knownStable(token, memo, &keyBuf) {
				err = c.check(token)
				if err == nil {
					memo.add(token, &keyBuf)
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
			if len(t.Attr) > MaxAttributes {
				return doc, ErrTooManyAttributes, checkErr, true
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
// it: a start tag whose shape, or an end tag whose name, memo holds (see
// Memo), or non-empty character data made only of safe text bytes:
// ASCII letters, digits, space, tab, line feed and the punctuation of
// safeTextByte, without '&', '<', '>', quotes or carriage return.
// xml.Encoder writes such text as it is (tab and line feed as character
// references) and the decoder reads it back unchanged up to the next tag.
// Base64 signature values, digests and certificates, and most SAML
// values, are such text. FuzzKnownStableIsStable holds the rule to the
// check itself.
func knownStable(token xml.Token, memo *Memo, buf *[]byte) bool {
	switch t := token.(type) {
	case xml.StartElement:
		return memo.hasStart(startKey(buf, t))
	case xml.EndElement:
		return memo.hasEnd(t.Name)
	case xml.CharData:
		// Empty character data (an empty CDATA section) is not stable: it
		// encodes to nothing.
		if len(t) == 0 {
			return false
		}
		return safeText(string(t))
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

// Memo remembers the start and end tags that passed checker.check, so
// that Parse checks each shape of tag once: once per document without a
// shared Memo, once per connection with one (an IdP sends the same tags
// in every response). It is safe for concurrent use and bounded: past
// maxMemoEntries tags of a kind, or for a key over maxMemoKey bytes, it
// stops remembering and the check runs as before.
//
// The check of a token is a function of the token alone: a new encoder
// encodes each, and the decoder reads back exactly what was encoded (a
// start tag, never self-closing; character data then the sentinel's start
// and end), so it keeps no state from one token to the next. A start tag
// is remembered by its shape (startKey): what the check of a start tag
// does with the value of an unqualified attribute other than xmlns does
// not depend on the value when the value is made of safe text bytes
// (xml.Encoder writes it escaped in place, the decoder reads it back
// unchanged, and the namespace rewriting the check undoes only involves
// names and xmlns declarations). FuzzStartShapeDecides holds this.
type Memo struct {
	mu     sync.RWMutex
	starts map[string]struct{}
	ends   map[xml.Name]struct{}
}

const (
	maxMemoEntries = 1024
	maxMemoKey     = 1024
)

// NewMemo returns an empty Memo.
func NewMemo() *Memo {
	return &Memo{starts: map[string]struct{}{}, ends: map[xml.Name]struct{}{}}
}

func (m *Memo) hasStart(key []byte) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.starts[string(key)]
	return ok
}

func (m *Memo) hasEnd(name xml.Name) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.ends[name]
	return ok
}

// add remembers token, which passed the check.
func (m *Memo) add(token xml.Token, buf *[]byte) {
	switch t := token.(type) {
	case xml.StartElement:
		key := startKey(buf, t)
		if len(key) > maxMemoKey {
			return
		}
		m.mu.Lock()
		if len(m.starts) < maxMemoEntries {
			m.starts[string(key)] = struct{}{}
		}
		m.mu.Unlock()
	case xml.EndElement:
		if len(t.Name.Space)+len(t.Name.Local) > maxMemoKey {
			return
		}
		m.mu.Lock()
		if len(m.ends) < maxMemoEntries {
			m.ends[t.Name] = struct{}{}
		}
		m.mu.Unlock()
	}
}

// startKey is the shape of a start tag: its name and its attributes' names
// and values, in order, separated by NUL (which no name or value of a
// parsed document contains), with the value of an unqualified attribute
// other than xmlns replaced by SOH when it is made of safe text bytes.
func startKey(buf *[]byte, st xml.StartElement) []byte {
	b := append((*buf)[:0], st.Name.Space...)
	b = append(b, 0)
	b = append(b, st.Name.Local...)
	for _, a := range st.Attr {
		b = append(b, 0)
		b = append(b, a.Name.Space...)
		b = append(b, 0)
		b = append(b, a.Name.Local...)
		b = append(b, 0)
		if a.Name.Space == "" && a.Name.Local != "xmlns" && safeText(a.Value) {
			b = append(b, 1)
		} else {
			b = append(b, a.Value...)
		}
	}
	*buf = b
	return b
}

// safeText reports whether s is made of safe text bytes only (it may be
// empty).
func safeText(s string) bool {
	for i := 0; i < len(s); i++ {
		if !safeTextByte(s[i]) {
			return false
		}
	}
	return true
}
