package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"time"
)

// SMTPMailer delivers messages through an SMTP server. It upgrades the
// connection with STARTTLS whenever the server offers it (and refuses to
// authenticate over a plain connection unless the server is on loopback),
// and authenticates with PLAIN when Username is set.
type SMTPMailer struct {
	// Addr is host:port of the server (port 25 or 587 usually).
	Addr string
	// Username and Password enable SMTP AUTH PLAIN.
	Username string
	Password string
	// TLSConfig is used for STARTTLS (default: verify the server name
	// taken from Addr).
	TLSConfig *tls.Config
	// RequireTLS refuses to send when the server does not offer STARTTLS.
	RequireTLS bool
	// LocalName is the name sent in EHLO (default "localhost").
	LocalName string
	// Timeout bounds one delivery (default 30 s).
	Timeout time.Duration
	// Clock returns the current time for the Date header (default time.Now).
	Clock func() time.Time
	// Rand is the source of Message-IDs (default crypto/rand).
	Rand io.Reader
}

// ErrNoTLS is returned when RequireTLS is set and the server offers no
// STARTTLS, or when credentials would cross a plain connection.
var ErrNoTLS = errors.New("mail: SMTP server does not offer STARTTLS")

// Send delivers m.
func (s *SMTPMailer) Send(ctx context.Context, m Message) error {
	now := time.Now
	if s.Clock != nil {
		now = s.Clock
	}
	raw, err := m.Render(now().UTC(), s.Rand)
	if err != nil {
		return err
	}
	from, to, err := m.envelope()
	if err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("mail: SMTP address %q: %w", s.Addr, err)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("mail: dial %s: %w", s.Addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Close the connection when the context ends, so a stalled server
	// cannot hold the caller.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("mail: SMTP greeting: %w", err)
	}
	defer c.Close()
	local := s.LocalName
	if local == "" {
		local = "localhost"
	}
	if err := c.Hello(local); err != nil {
		return fmt.Errorf("mail: EHLO: %w", err)
	}
	tlsOn := false
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := s.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("mail: STARTTLS: %w", err)
		}
		tlsOn = true
	} else if s.RequireTLS {
		return ErrNoTLS
	}
	if s.Username != "" {
		if !tlsOn && !isLoopback(host) {
			return fmt.Errorf("%w: refusing to send credentials in clear", ErrNoTLS)
		}
		if err := c.Auth(plainAuth{username: s.Username, password: s.Password}); err != nil {
			return fmt.Errorf("mail: AUTH: %w", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("mail: MAIL FROM: %w", err)
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return fmt.Errorf("mail: RCPT TO %s: %w", r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if _, err := w.Write(raw); err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if err := c.Quit(); err != nil {
		return fmt.Errorf("mail: QUIT: %w", err)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// plainAuth is SASL PLAIN. net/smtp's PlainAuth refuses plain connections
// to anything but "localhost" by name; Send already enforces TLS (or
// loopback) before authenticating, so this one does not check again.
type plainAuth struct{ username, password string }

func (a plainAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.username + "\x00" + a.password), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("mail: unexpected SMTP AUTH challenge")
	}
	return nil, nil
}
