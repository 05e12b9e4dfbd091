package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

var testMsg = Message{
	From:    "Gatehouse <noreply@example.com>",
	To:      []string{"alice@example.org"},
	Subject: "Vérifiez votre compte",
	Text:    "Open https://app.example.com/verify?tokenId=abc\n",
	HTML:    `<p><a href="https://app.example.com/verify?tokenId=abc">Verify</a></p>`,
}

func TestRenderParses(t *testing.T) {
	raw, err := testMsg.Render(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("bare LF in rendered message")
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	subj, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
	if subj != testMsg.Subject {
		t.Errorf("subject %q", subj)
	}
	if !strings.HasPrefix(msg.Header.Get("Content-Type"), "multipart/alternative") {
		t.Errorf("content type %q", msg.Header.Get("Content-Type"))
	}
	if !strings.HasSuffix(msg.Header.Get("Message-Id"), "@example.com>") {
		t.Errorf("message id %q", msg.Header.Get("Message-Id"))
	}
	body, _ := io.ReadAll(msg.Body)
	if !bytes.Contains(body, []byte("tokenId=3Dabc")) {
		t.Errorf("body lacks the quoted-printable link: %s", body)
	}
}

func TestValidateRefusesInjection(t *testing.T) {
	for name, m := range map[string]Message{
		"no from":         {To: []string{"a@b.c"}, Text: "x"},
		"bad to":          {From: "a@b.c", To: []string{"not an address"}, Text: "x"},
		"no to":           {From: "a@b.c", Text: "x"},
		"subject CRLF":    {From: "a@b.c", To: []string{"a@b.c"}, Subject: "hi\r\nBcc: evil@x.y", Text: "x"},
		"header CRLF":     {From: "a@b.c", To: []string{"a@b.c"}, Text: "x", Headers: map[string]string{"X-A": "1\nBcc: e@x.y"}},
		"reserved header": {From: "a@b.c", To: []string{"a@b.c"}, Text: "x", Headers: map[string]string{"Bcc": "e@x.y"}},
		"empty body":      {From: "a@b.c", To: []string{"a@b.c"}},
	} {
		if err := m.Validate(); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("%s: %v, want ErrInvalidMessage", name, err)
		}
	}
}

func TestDirMailer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail")
	d, err := NewDirMailer(dir)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); _ = d.Send(context.Background(), testMsg) }()
	}
	wg.Wait()
	if err := d.Send(context.Background(), Message{From: "x"}); err == nil {
		t.Error("invalid message written")
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 5 {
		t.Fatalf("%d files, want 5 (no temporary files left)", len(files))
	}
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".eml") || strings.HasPrefix(f.Name(), ".tmp") {
			t.Errorf("unexpected file %s", f.Name())
		}
		raw, _ := os.ReadFile(filepath.Join(dir, f.Name()))
		if _, err := mail.ReadMessage(bytes.NewReader(raw)); err != nil {
			t.Errorf("%s: %v", f.Name(), err)
		}
	}
}

// A real SMTP server on loopback (emersion/go-smtp).

type received struct {
	mu    sync.Mutex
	from  string
	to    []string
	data  []byte
	user  string
	tls   bool
	count int
}

type backend struct{ r *received }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{r: b.r, tls: isTLS}, nil
}

type session struct {
	r    *received
	tls  bool
	user string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != "mailer" || pass != "s3cret" {
			return errors.New("bad credentials")
		}
		s.user = user
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.from = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.to = append(s.r.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.data, s.r.user, s.r.tls = b, s.user, s.tls
	s.r.count++
	return err
}
func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func startSMTP(t *testing.T, withTLS bool) (string, *received, *x509.CertPool) {
	t.Helper()
	r := &received{}
	srv := smtp.NewServer(backend{r})
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	var pool *x509.CertPool
	if withTLS {
		var cert tls.Certificate
		cert, pool = selfSigned(t)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	} else {
		srv.AllowInsecureAuth = true
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), r, pool
}

func TestSMTPMailerSTARTTLSAndAuth(t *testing.T) {
	addr, r, pool := startSMTP(t, true)
	m := &SMTPMailer{Addr: addr, Username: "mailer", Password: "s3cret",
		TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}, RequireTLS: true}
	if err := m.Send(context.Background(), testMsg); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.from != "noreply@example.com" || len(r.to) != 1 || r.to[0] != "alice@example.org" {
		t.Errorf("envelope %q %q", r.from, r.to)
	}
	if !r.tls || r.user != "mailer" {
		t.Errorf("tls=%v user=%q; want STARTTLS and authenticated", r.tls, r.user)
	}
	if _, err := mail.ReadMessage(bytes.NewReader(r.data)); err != nil {
		t.Errorf("delivered message does not parse: %v", err)
	}
}

func TestSMTPMailerErrors(t *testing.T) {
	addr, r, pool := startSMTP(t, true)
	bad := &SMTPMailer{Addr: addr, Username: "mailer", Password: "wrong",
		TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}}
	if err := bad.Send(context.Background(), testMsg); err == nil {
		t.Error("wrong password accepted")
	}
	untrusted := &SMTPMailer{Addr: addr}
	if err := untrusted.Send(context.Background(), testMsg); err == nil {
		t.Error("self-signed certificate accepted without being trusted")
	}
	plainAddr, r2, _ := startSMTP(t, false)
	req := &SMTPMailer{Addr: plainAddr, RequireTLS: true}
	if err := req.Send(context.Background(), testMsg); !errors.Is(err, ErrNoTLS) {
		t.Errorf("RequireTLS without STARTTLS: %v", err)
	}
	// Without TLS and without credentials, plain delivery works.
	if err := (&SMTPMailer{Addr: plainAddr}).Send(context.Background(), testMsg); err != nil {
		t.Errorf("plain delivery: %v", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r2.mu.Lock()
	defer r2.mu.Unlock()
	if r.count != 0 || r2.count != 1 {
		t.Errorf("delivered %d and %d messages, want 0 and 1", r.count, r2.count)
	}
	if err := (&SMTPMailer{Addr: "127.0.0.1:1", Timeout: time.Second}).Send(context.Background(), testMsg); err == nil {
		t.Error("dial to a closed port succeeded")
	}
}
