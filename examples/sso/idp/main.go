// Command idp is a throwaway SAML identity provider for trying enterprise
// SSO locally and for the browser tests: crewjam/saml's samlidp (a Go IdP,
// not Gatehouse code) with a login form, a fresh signing key, and users given
// on the command line.
//
//	go run ./examples/sso/idp -addr 127.0.0.1:9090 -user 'alice:secret:alice@acme.test:Alice:Liddell'
//
// Its metadata is at http://ADDR/metadata. Register a service provider by
// PUTting the SP metadata XML to http://ADDR/services/{any id} (the admin
// API is open: this is a development tool only).
package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/crewjam/saml/samlidp"
	"golang.org/x/crypto/bcrypt"
)

type users []string

func (u *users) String() string     { return strings.Join(*u, ",") }
func (u *users) Set(s string) error { *u = append(*u, s); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "idp:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:9090", "listen address")
	var us users
	flag.Var(&us, "user", "a user as name:password:email[:given name[:family name]] (repeatable)")
	flag.Parse()

	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base, _ := url.Parse("http://" + l.Addr().String())
	key, cert, err := signingKey()
	if err != nil {
		return err
	}
	srv, err := samlidp.New(samlidp.Options{URL: *base, Key: key, Certificate: cert, Store: &samlidp.MemoryStore{},
		Logger: log.New(os.Stderr, "idp: ", log.LstdFlags)})
	if err != nil {
		return err
	}
	for _, u := range us {
		f := strings.Split(u, ":")
		if len(f) < 3 {
			return fmt.Errorf("-user %q: want name:password:email[:given[:family]]", u)
		}
		pw := f[1]
		user := samlidp.User{Name: f[0], PlaintextPassword: &pw, Email: f[2]}
		if len(f) > 3 {
			user.GivenName = f[3]
		}
		if len(f) > 4 {
			user.Surname = f[4]
		}
		user.CommonName = strings.TrimSpace(user.GivenName + " " + user.Surname)
		hashed, err := hashUser(user)
		if err != nil {
			return err
		}
		if err := srv.Store.Put("/users/"+user.Name, hashed); err != nil {
			return err
		}
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sd, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sd)
	}()
	fmt.Printf("idp listening on %s (metadata %s/metadata)\n", base, base)
	if err := hs.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// hashUser stores the password as samlidp does on PUT /users/{id}.
func hashUser(u samlidp.User) (samlidp.User, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(*u.PlaintextPassword), bcrypt.DefaultCost)
	if err != nil {
		return u, err
	}
	u.HashedPassword, u.PlaintextPassword = h, nil
	return u, nil
}

func signingKey() (*rsa.PrivateKey, *x509.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Gatehouse example IdP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, err
}
