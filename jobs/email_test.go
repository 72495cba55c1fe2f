package jobs_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/mail"
	"github.com/tenantctl/tenantctl/provision"
)

// smtpServer is a real SMTP server (emersion/go-smtp) on 127.0.0.1 that
// keeps what it receives. It offers no STARTTLS (no TLSConfig).
type smtpServer struct {
	addr string
	srv  *smtp.Server
	mu   sync.Mutex
	got  []string // raw messages
	tls  []bool   // whether each came over TLS
}

// startSMTP serves on addr ("127.0.0.1:0" for any port) until the test ends.
func startSMTP(t *testing.T, addr string) *smtpServer { return startTLSSMTP(t, addr, nil, false) }

// startTLSSMTP is startSMTP with TLS: implicit (smtps) or, when not,
// offering STARTTLS.
func startTLSSMTP(t *testing.T, addr string, tc *tls.Config, implicit bool) *smtpServer {
	s := &smtpServer{}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &smtpSession{s: s, c: c}, nil }))
	s.srv.Domain = "localhost"
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	s.addr = l.Addr().String()
	if tc != nil && implicit {
		l = tls.NewListener(l, tc)
	} else {
		s.srv.TLSConfig = tc
	}
	go func() { _ = s.srv.Serve(l) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

func (s *smtpServer) overTLS() []bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]bool(nil), s.tls...)
}

func (s *smtpServer) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

type smtpSession struct {
	s *smtpServer
	c *smtp.Conn
}

func (*smtpSession) Reset()                               {}
func (*smtpSession) Logout() error                        { return nil }
func (*smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	ss.s.got = append(ss.s.got, string(b))
	_, isTLS := ss.c.TLSConnectionState()
	ss.s.tls = append(ss.s.tls, isTLS)
	return nil
}

// fastRetry retries a failed job after 100ms instead of River's backoff.
type fastRetry struct{}

func (fastRetry) NextRetry(*rivertype.JobRow) time.Time {
	return time.Now().Add(100 * time.Millisecond)
}

// mailQueue opens a queue with one worker whose email goes to smtpURL,
// trusting roots, if any, for TLS.
func (e *env) mailQueue(smtpURL string, roots ...*x509.CertPool) *jobs.Queue {
	set, err := mail.ParseURL(smtpURL)
	require.NoError(e.t, err)
	if len(roots) > 0 {
		set.TLSConfig = &tls.Config{RootCAs: roots[0]}
	}
	q, err := jobs.Open(e.d.Pool, jobs.Options{
		Workers: 1, FetchPollInterval: 50 * time.Millisecond, RetryPolicy: fastRetry{},
		Mail: mail.NewSMTP(set, "tenantctl <noreply@localhost>"),
	})
	require.NoError(e.t, err)
	require.NoError(e.t, q.Start(context.Background()))
	e.t.Cleanup(func() { _ = q.Stop(5 * time.Second) })
	return q
}

// welcome enqueues a welcome email about tenant s in a tenant transaction
// that also changes the tenant; fail rolls it back.
func (e *env) welcome(q *jobs.Queue, s string, fail bool) error {
	return db.InTenantTx(e.t.Context(), e.d.Pool, db.MustParseSchema(s), func(tq *tenantdb.Queries, tx pgx.Tx) error {
		if _, err := tx.Exec(e.t.Context(), "INSERT INTO refresh_tokens (jti, family, user_id, expires_at) SELECT gen_random_uuid(), gen_random_uuid(), id, now() + interval '1 day' FROM users"); err != nil {
			return err
		}
		if err := q.TenantEmailTx(e.t.Context(), tx, db.MustParseSchema(s), mail.Message{
			To: "ann@example.com", Subject: "Welcome", Text: "Hello Ann.", HTML: "<p>Hello <b>Ann</b>.</p>",
		}); err != nil {
			return err
		}
		if fail {
			return errors.New("rolled back")
		}
		return nil
	})
}

// emailJobs lists the email jobs, whatever their state.
func (e *env) emailJobs() []*rivertype.JobRow {
	q, err := jobs.Open(e.d.Pool, jobs.Options{})
	require.NoError(e.t, err)
	l, err := q.JobList(e.t.Context(), river.NewJobListParams().Kinds("email.send").States(
		rivertype.JobStateAvailable, rivertype.JobStateCompleted, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStateDiscarded))
	require.NoError(e.t, err)
	return l.Jobs
}

func newMailEnv(t *testing.T) *env {
	e := newEnv(t)
	_, err := e.prov.CreateTenant(t.Context(), provision.TenantParams{
		Schema: "school1", Name: "Springfield Elementary", Domain: "school1.localhost",
		Admin: &provision.UserParams{Username: "admin", Password: "admin-password"},
	})
	require.NoError(t, err)
	return e
}

func waitMessages(t *testing.T, s *smtpServer, n int) []string {
	require.Eventually(t, func() bool { return len(s.messages()) >= n }, 10*time.Second, 20*time.Millisecond)
	return s.messages()
}

// parts returns the decoded subject and the text and HTML parts of raw.
func parts(t *testing.T, raw string) (subject, text, html string) {
	m, err := netmail.ReadMessage(strings.NewReader(raw))
	require.NoError(t, err)
	subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	require.NoError(t, err)
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mt)
	r := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(p)
		require.NoError(t, err)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			text = string(b)
		case "text/html":
			html = string(b)
		}
	}
	return subject, text, html
}

// TestEmailCommitted: an email enqueued in a committed tenant transaction
// reaches the SMTP server, with both parts and the tenant's name.
func TestEmailCommitted(t *testing.T) {
	t.Parallel()
	e := newMailEnv(t)
	srv := startSMTP(t, "127.0.0.1:0")
	q := e.mailQueue("smtp://" + srv.addr)
	require.NoError(t, e.welcome(q, "school1", false))

	got := waitMessages(t, srv, 1)
	require.Len(t, got, 1)
	subject, text, html := parts(t, got[0])
	assert.Equal(t, "[Springfield Elementary] Welcome", subject)
	assert.Contains(t, text, "Hello Ann.")
	assert.Contains(t, text, "Springfield Elementary")
	assert.Contains(t, html, "<b>Ann</b>")
	assert.Contains(t, html, "Springfield Elementary")
}

// TestEmailRolledBack: an email enqueued in a rolled-back transaction is
// never sent (nor is the job there to send it).
func TestEmailRolledBack(t *testing.T) {
	t.Parallel()
	e := newMailEnv(t)
	srv := startSMTP(t, "127.0.0.1:0")
	q := e.mailQueue("smtp://" + srv.addr)
	require.Error(t, e.welcome(q, "school1", true))
	assert.Empty(t, e.emailJobs())
	// A committed one after it is the only email delivered.
	require.NoError(t, e.welcome(q, "school1", false))
	waitMessages(t, srv, 1)
	time.Sleep(200 * time.Millisecond)
	assert.Len(t, srv.messages(), 1)
}

// TestEmailSMTPDown: with the SMTP server down the job fails and is
// retried; once the server is up it is delivered, exactly once.
func TestEmailSMTPDown(t *testing.T) {
	t.Parallel()
	e := newMailEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // a port nobody listens on
	q := e.mailQueue("smtp://" + addr)
	require.NoError(t, e.welcome(q, "school1", false))

	require.Eventually(t, func() bool {
		js := e.emailJobs()
		return len(js) == 1 && len(js[0].Errors) >= 2
	}, 10*time.Second, 50*time.Millisecond, "the job fails and is retried")

	srv := startSMTP(t, addr)
	waitMessages(t, srv, 1)
	require.Eventually(t, func() bool {
		js := e.emailJobs()
		return len(js) == 1 && js[0].State == rivertype.JobStateCompleted
	}, 10*time.Second, 50*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	assert.Len(t, srv.messages(), 1, "delivered exactly once")
}

// TestEmailTLSRequired: ?tls=required refuses a server without STARTTLS
// (the job fails); plain smtp:// to the same server delivers.
func TestEmailTLSRequired(t *testing.T) {
	t.Parallel()
	e := newMailEnv(t)
	srv := startSMTP(t, "127.0.0.1:0")
	q := e.mailQueue("smtp://" + srv.addr + "?tls=required")
	require.NoError(t, e.welcome(q, "school1", false))
	require.Eventually(t, func() bool {
		js := e.emailJobs()
		return len(js) == 1 && len(js[0].Errors) >= 1
	}, 10*time.Second, 50*time.Millisecond)
	require.NoError(t, q.Stop(5*time.Second))
	assert.Empty(t, srv.messages(), "nothing in plain text")
	assert.Contains(t, e.emailJobs()[0].Errors[0].Error, "STARTTLS")

	e.mailQueue("smtp://" + srv.addr)
	waitMessages(t, srv, 1)
	assert.Equal(t, []bool{false}, srv.overTLS(), "plain, as the server offers no STARTTLS")
}

// TestEmailEnqueueOnly: a queue that runs no workers and has no sender
// (the server's) enqueues email; a message with no valid recipient is
// refused in the transaction, which then rolls back.
func TestEmailEnqueueOnly(t *testing.T) {
	t.Parallel()
	e := newMailEnv(t)
	q, err := jobs.Open(e.d.Pool, jobs.Options{})
	require.NoError(t, err)
	enqueue := func(to string) error {
		return db.InPublicTx(t.Context(), e.d.Pool, func(_ *publicdb.Queries, tx pgx.Tx) error {
			return q.EmailTx(t.Context(), tx, mail.Message{To: to, Subject: "s", Text: "t", HTML: "h"})
		})
	}
	require.NoError(t, enqueue("ann@example.com"))
	assert.ErrorContains(t, enqueue("nobody"), `email recipient "nobody"`)
	assert.Len(t, e.emailJobs(), 1)
}

// TestEmailTenantGone: an email about a tenant deleted before it was sent
// is cancelled, not sent nor retried.
func TestEmailTenantGone(t *testing.T) {
	t.Parallel()
	e := newMailEnv(t)
	srv := startSMTP(t, "127.0.0.1:0")
	require.NoError(t, e.welcome(e.queue(0), "school1", false))
	require.NoError(t, e.prov.DeleteTenant(t.Context(), "school1"))
	js := e.emailJobs()
	require.Len(t, js, 1)

	j := e.wait(e.mailQueue("smtp://"+srv.addr), js[0].ID, rivertype.JobStateCancelled)
	assert.Contains(t, j.Errors[0].Error, "tenant no longer exists")
	assert.Empty(t, srv.messages())
}

// selfSigned returns a server certificate for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// TestEmailTLS: smtps:// speaks TLS from the first byte; smtp://, with or
// without ?tls=required, upgrades with STARTTLS when the server offers it;
// all check the certificate.
func TestEmailTLS(t *testing.T) {
	t.Parallel()
	e := newMailEnv(t)
	tc, roots := selfSigned(t)
	t.Run("Implicit", func(t *testing.T) {
		srv := startTLSSMTP(t, "127.0.0.1:0", tc, true)
		q := e.mailQueue("smtps://"+srv.addr, roots)
		require.NoError(t, e.welcome(q, "school1", false))
		waitMessages(t, srv, 1)
		assert.Equal(t, []bool{true}, srv.overTLS())
		require.NoError(t, q.Stop(5*time.Second))
	})
	t.Run("STARTTLSOffered", func(t *testing.T) {
		srv := startTLSSMTP(t, "127.0.0.1:0", tc, false)
		q := e.mailQueue("smtp://"+srv.addr, roots)
		require.NoError(t, e.welcome(q, "school1", false))
		waitMessages(t, srv, 1)
		assert.Equal(t, []bool{true}, srv.overTLS(), "smtp:// upgrades when the server offers STARTTLS")
		require.NoError(t, q.Stop(5*time.Second))
	})
	t.Run("STARTTLSRequired", func(t *testing.T) {
		srv := startTLSSMTP(t, "127.0.0.1:0", tc, false)
		q := e.mailQueue("smtp://"+srv.addr+"?tls=required", roots)
		require.NoError(t, e.welcome(q, "school1", false))
		waitMessages(t, srv, 1)
		assert.Equal(t, []bool{true}, srv.overTLS())
		require.NoError(t, q.Stop(5*time.Second))
	})
}
