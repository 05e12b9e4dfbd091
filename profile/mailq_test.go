package profile

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/testkit"
	"github.com/gatehouse-id/gatehouse/mail"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// gateMailer blocks every Send until released (or its context ends), as a
// slow SMTP server does.
type gateMailer struct {
	mu      sync.Mutex
	started chan string // subject of each send as it starts
	release chan struct{}
	sent    []string
	ctxErrs int
}

func newGate() *gateMailer {
	return &gateMailer{started: make(chan string, 100), release: make(chan struct{})}
}

func (g *gateMailer) Send(ctx context.Context, m mail.Message) error {
	g.started <- m.Subject
	select {
	case <-g.release:
		g.mu.Lock()
		g.sent = append(g.sent, m.Subject)
		g.mu.Unlock()
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		g.ctxErrs++
		g.mu.Unlock()
		return ctx.Err()
	}
}

func resetReq(e *env, id string) resp {
	return e.do("POST", "/api/1/profile/"+id+"/reset_password.json", e.master,
		url.Values{"resetPasswordUrl": {"https://app.example.com/reset"}})
}

// TestMailDoesNotBlockRequests: with a mail server that never answers,
// requests still complete; the queue is bounded and drops (logged) when
// full; Close cancels the stuck send and ends every worker.
func TestMailDoesNotBlockRequests(t *testing.T) {
	base := runtime.NumGoroutine()
	g := newGate()
	var logs testkit.Buffer
	e := newEnvWith(t, memory.New(), func(o *Options) {
		o.Mailer, o.MailWorkers, o.MailQueue = g, 1, 2
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	e.tenant("acme")
	p := e.profile("acme", "alice", nil)
	// First request: its mail is taken by the only worker, which blocks.
	e.mustOK(resetReq(e, p.ID))
	if s := <-g.started; s != "Reset Password" {
		t.Fatalf("sending %q", s)
	}
	// Two more fill the queue; the fourth is dropped; none waits.
	for i := 0; i < 3; i++ {
		e.mustOK(resetReq(e, p.ID))
	}
	if !strings.Contains(logs.String(), "mail queue full") {
		t.Fatalf("dropped mail not logged: %s", logs.String())
	}
	// Release the worker: the two queued messages go out, the dropped one
	// does not.
	close(g.release)
	e.svc.mailq.wait()
	g.mu.Lock()
	sent := len(g.sent)
	g.mu.Unlock()
	if sent != 3 {
		t.Fatalf("%d messages sent, want 3 (one dropped)", sent)
	}
	// Close: a new stuck send is cancelled, the workers exit. Forget the
	// start signals of the messages already sent, so the wait below is for
	// the new one.
	for len(g.started) > 0 {
		<-g.started
	}
	g.release = make(chan struct{})
	e.mustOK(resetReq(e, p.ID))
	<-g.started
	if err := e.svc.Close(); err != nil {
		t.Fatal(err)
	}
	if g.ctxErrs != 1 || !strings.Contains(logs.String(), "sending email failed") {
		t.Fatalf("in-flight send not cancelled and logged (%d): %s", g.ctxErrs, logs.String())
	}
	// Mail after Close is dropped, not sent, and does not panic.
	e.mustOK(resetReq(e, p.ID))
	if !strings.Contains(logs.String(), "service closed") {
		t.Fatal("mail after Close not logged as dropped")
	}
	if err := e.svc.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// No goroutine is left behind (the runtime may take a moment to reap
	// exited ones).
	for i := 0; runtime.NumGoroutine() > base && i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Fatalf("%d goroutines after Close, %d before New", n, base)
	}
}

func TestMailShutdownDrains(t *testing.T) {
	g := newGate()
	e := newEnvWith(t, memory.New(), func(o *Options) { o.Mailer, o.MailWorkers = g, 2 })
	e.tenant("acme")
	p := e.profile("acme", "alice", nil)
	for i := 0; i < 5; i++ {
		e.mustOK(resetReq(e, p.ID))
	}
	close(g.release)
	if err := e.svc.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(g.sent) != 5 {
		t.Fatalf("Shutdown delivered %d of 5", len(g.sent))
	}
	// A Shutdown whose context ends gives up on a stuck send.
	g2 := newGate()
	e2 := newEnvWith(t, memory.New(), func(o *Options) { o.Mailer = g2 })
	e2.tenant("acme")
	p2 := e2.profile("acme", "alice", nil)
	e2.mustOK(resetReq(e2, p2.ID))
	<-g2.started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e2.svc.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with an ended context: %v", err)
	}
	if g2.ctxErrs != 1 {
		t.Fatal("stuck send not cancelled")
	}
}

func TestSyncMail(t *testing.T) {
	var box mailbox
	e := newEnvWith(t, memory.New(), func(o *Options) { o.Mailer, o.SyncMail = &box, true })
	if e.svc.mailq != nil {
		t.Fatal("SyncMail started workers")
	}
	e.tenant("acme")
	p := e.profile("acme", "alice", nil)
	e.mustOK(resetReq(e, p.ID))
	// No waiting: the message was sent inside the request.
	box.mu.Lock()
	n := len(box.msgs)
	box.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d messages after the request, want 1", n)
	}
	if err := e.svc.Close(); err != nil {
		t.Fatal(err)
	}
}
