// Package mail sends the emails of Gatehouse (account verification,
// password reset, magic links, SSO invitations) through a Mailer.
//
// Three mailers are provided: DirMailer writes each message as an RFC 5322
// .eml file into a directory (development, tests, the example server's
// -mail-dir), SMTPMailer delivers through an SMTP server (STARTTLS when the
// server offers it, authentication optional), and LogMailer only logs that
// a message was sent (never its body, which holds secret links).
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"sort"
	"strings"
	"time"
)

// Message is one email. From and at least one recipient are required; Text,
// HTML or both may be given (both make a multipart/alternative message).
type Message struct {
	From    string
	To      []string
	Subject string
	// Text is the plain-text body.
	Text string
	// HTML is the HTML body.
	HTML string
	// Headers are extra header fields (for example "Reply-To",
	// "List-Unsubscribe"). Structural headers are set by the package.
	Headers map[string]string
}

// Mailer sends messages.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// MailerFunc adapts a function to a Mailer.
type MailerFunc func(ctx context.Context, m Message) error

// Send calls f.
func (f MailerFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }

// ErrInvalidMessage is wrapped by every error about a message that cannot
// be sent as given (missing or malformed addresses, header injection).
var ErrInvalidMessage = errors.New("mail: invalid message")

// reserved headers are written by Render itself.
var reserved = map[string]bool{"from": true, "to": true, "subject": true, "date": true, "message-id": true,
	"mime-version": true, "content-type": true, "content-transfer-encoding": true, "bcc": true, "cc": true}

// Validate checks that m can be sent: a parseable sender and recipients,
// a body, and no CR or LF in any header value.
func (m Message) Validate() error {
	if _, err := mail.ParseAddress(m.From); err != nil {
		return fmt.Errorf("%w: from %q: %v", ErrInvalidMessage, m.From, err)
	}
	if len(m.To) == 0 {
		return fmt.Errorf("%w: no recipient", ErrInvalidMessage)
	}
	for _, to := range m.To {
		if _, err := mail.ParseAddress(to); err != nil {
			return fmt.Errorf("%w: recipient %q: %v", ErrInvalidMessage, to, err)
		}
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return fmt.Errorf("%w: subject contains a line break", ErrInvalidMessage)
	}
	for k, v := range m.Headers {
		if k == "" || strings.ContainsAny(k, "\r\n: ") || strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("%w: header %q", ErrInvalidMessage, k)
		}
		if reserved[strings.ToLower(k)] {
			return fmt.Errorf("%w: header %q is set by the mailer", ErrInvalidMessage, k)
		}
	}
	if m.Text == "" && m.HTML == "" {
		return fmt.Errorf("%w: empty body", ErrInvalidMessage)
	}
	return nil
}

// envelope returns the bare addresses of sender and recipients.
func (m Message) envelope() (string, []string, error) {
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return "", nil, fmt.Errorf("%w: from: %v", ErrInvalidMessage, err)
	}
	var to []string
	for _, t := range m.To {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return "", nil, fmt.Errorf("%w: to: %v", ErrInvalidMessage, err)
		}
		to = append(to, a.Address)
	}
	return from.Address, to, nil
}

// Render returns m as an RFC 5322 message with CRLF line endings, dated now,
// with a Message-ID under the sender's domain. Bodies are quoted-printable
// UTF-8; non-ASCII subjects are RFC 2047 encoded.
func (m Message) Render(now time.Time, random io.Reader) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if random == nil {
		random = rand.Reader
	}
	from, _ := mail.ParseAddress(m.From)
	var idb [16]byte
	if _, err := io.ReadFull(random, idb[:]); err != nil {
		return nil, fmt.Errorf("mail: message id: %w", err)
	}
	domain := "localhost"
	if at := strings.LastIndexByte(from.Address, '@'); at >= 0 {
		domain = from.Address[at+1:]
	}
	var b bytes.Buffer
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", from.String())
	var tos []string
	for _, t := range m.To {
		a, _ := mail.ParseAddress(t)
		tos = append(tos, a.String())
	}
	hdr("To", strings.Join(tos, ", "))
	hdr("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", "<"+hex.EncodeToString(idb[:])+"@"+domain+">")
	hdr("MIME-Version", "1.0")
	keys := make([]string, 0, len(m.Headers))
	for k := range m.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		hdr(k, mime.QEncoding.Encode("utf-8", m.Headers[k]))
	}
	part := func(ctype, body string) error {
		hdr("Content-Type", ctype+"; charset=utf-8")
		hdr("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		w := quotedprintable.NewWriter(&b)
		if _, err := w.Write([]byte(strings.ReplaceAll(body, "\r\n", "\n"))); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		b.WriteString("\r\n")
		return nil
	}
	switch {
	case m.Text != "" && m.HTML != "":
		var bb [12]byte
		if _, err := io.ReadFull(random, bb[:]); err != nil {
			return nil, fmt.Errorf("mail: boundary: %w", err)
		}
		boundary := "gh-" + hex.EncodeToString(bb[:])
		hdr("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
		b.WriteString("\r\n")
		for _, p := range []struct{ ctype, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
			b.WriteString("--" + boundary + "\r\n")
			if err := part(p.ctype, p.body); err != nil {
				return nil, err
			}
		}
		b.WriteString("--" + boundary + "--\r\n")
	case m.HTML != "":
		if err := part("text/html", m.HTML); err != nil {
			return nil, err
		}
	default:
		if err := part("text/plain", m.Text); err != nil {
			return nil, err
		}
	}
	// quotedprintable writes bare LF for soft breaks it inserts only as
	// "=\r\n"; body line breaks come out as CRLF. Normalize any stray LF.
	out := bytes.ReplaceAll(b.Bytes(), []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(out, []byte("\n"), []byte("\r\n")), nil
}

// LogMailer logs the sender, recipients and subject of each message and
// drops it. Bodies are not logged: they carry secret links.
type LogMailer struct {
	Logger *slog.Logger
}

// Send logs m.
func (l LogMailer) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	lg := l.Logger
	if lg == nil {
		lg = slog.Default()
	}
	lg.InfoContext(ctx, "mail not delivered (log mailer)", "mail_from", m.From, "mail_to", m.To, "mail_subject", m.Subject)
	return nil
}
