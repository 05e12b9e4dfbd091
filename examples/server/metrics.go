package main

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/mail"
)

// metrics are the server's Prometheus collectors, registered on the
// registry given to newMetrics (no global registry). They are opt-in:
// -metrics-addr serves them on a listener of their own.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec   // by route pattern and status
	signIns  *prometheus.CounterVec   // by method and outcome
	tokens   *prometheus.CounterVec   // by kind
	storeTx  *prometheus.HistogramVec // by kind (read, write) and outcome
	mailSend *prometheus.CounterVec   // by outcome
	mailBusy prometheus.Gauge         // mails being sent now
}

// newMetrics creates the collectors and registers them on reg.
func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	m := &metrics{reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_http_requests_total",
			Help: "HTTP requests served, by route pattern and status code."}, []string{"route", "status"}),
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_sign_ins_total",
			Help: "Sign-in attempts, by method (password, magic_link, saml) and outcome (success, failure)."},
			[]string{"method", "outcome"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_tokens_issued_total",
			Help: "Tokens issued, by kind (oidc, refresh, api_key)."}, []string{"kind"}),
		storeTx: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_store_transaction_seconds",
			Help:    "Store transaction latency, by kind (read, write) and outcome (ok, error).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"kind", "outcome"}),
		mailSend: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_mail_sent_total",
			Help: "Mails handed to the mailer, by outcome (sent, error)."}, []string{"outcome"}),
		mailBusy: prometheus.NewGauge(prometheus.GaugeOpts{Name: "gatehouse_mail_queue_depth",
			Help: "Mails being sent in the background now (sign-in mails are sent after the answer)."}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.signIns, m.tokens, m.storeTx, m.mailSend, m.mailBusy} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Handler serves the registry in the Prometheus text format.
func (m *metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// statusWriter records the status code a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes flushes through (server-sent answers, streamed bodies).
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// instrument counts the requests h serves by the pattern of the route
// that matched (never the raw path, so the label set stays bounded) and
// status code; a request no pattern matched counts as route "other".
func (m *metrics) instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			route := r.Pattern
			if route == "" {
				route = "other"
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
		}()
		h.ServeHTTP(sw, r)
	})
}

// observeEvent counts sign-ins and token issuance from committed audit
// events (identity.Service.OnEvent).
func (m *metrics) observeEvent(_ context.Context, e identity.Event) {
	switch e.Code {
	case identity.EventPasswordLoginSuccess:
		m.signIns.WithLabelValues("password", "success").Inc()
	case identity.EventPasswordLoginFailed:
		m.signIns.WithLabelValues("password", "failure").Inc()
	case identity.EventMagicLinkSuccess:
		m.signIns.WithLabelValues("magic_link", "success").Inc()
	case identity.EventMagicLinkFailed:
		m.signIns.WithLabelValues("magic_link", "failure").Inc()
	case identity.EventSSOSAMLSuccess:
		m.signIns.WithLabelValues("saml", "success").Inc()
	case identity.EventSSOSAMLFailed:
		m.signIns.WithLabelValues("saml", "failure").Inc()
	case identity.EventTokenIssued:
		m.tokens.WithLabelValues("oidc").Inc()
	case identity.EventTokenRefreshed:
		m.tokens.WithLabelValues("refresh").Inc()
	case identity.EventAPIKeyTokenIssued:
		m.tokens.WithLabelValues("api_key").Inc()
	}
}

// timedStore measures the latency of every transaction of the store it
// wraps.
type timedStore struct {
	identity.Store
	m *metrics
}

func (s timedStore) observe(kind string, start time.Time, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	s.m.storeTx.WithLabelValues(kind, outcome).Observe(time.Since(start).Seconds())
}

// View implements identity.Store.
func (s timedStore) View(ctx context.Context, fn func(tx identity.ReadTx) error) error {
	start := time.Now()
	err := s.Store.View(ctx, fn)
	s.observe("read", start, err)
	return err
}

// Update implements identity.Store.
func (s timedStore) Update(ctx context.Context, fn func(tx identity.Tx) error) error {
	start := time.Now()
	err := s.Store.Update(ctx, fn)
	s.observe("write", start, err)
	return err
}

// Unwrap returns the wrapped store, so that identity finds what it offers
// beyond identity.Store (store/bolt's audit journal).
func (s timedStore) Unwrap() identity.Store { return s.Store }

// Volatile passes identity.VolatileStore through.
func (s timedStore) Volatile() bool {
	v, ok := s.Store.(identity.VolatileStore)
	return ok && v.Volatile()
}

// countedMailer counts the mails being sent and their outcome.
type countedMailer struct {
	mail.Mailer
	m *metrics
}

// Send implements mail.Mailer.
func (c countedMailer) Send(ctx context.Context, msg mail.Message) error {
	c.m.mailBusy.Inc()
	defer c.m.mailBusy.Dec()
	err := c.Mailer.Send(ctx, msg)
	if err != nil {
		c.m.mailSend.WithLabelValues("error").Inc()
	} else {
		c.m.mailSend.WithLabelValues("sent").Inc()
	}
	return err
}
