package server_test

import (
	"context"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/mail"
)

// mailbox is a real SMTP server (emersion/go-smtp) on 127.0.0.1 that keeps
// every message it receives, for the end-to-end tests of the account flows.
type mailbox struct {
	t    testing.TB
	addr string
	// jobs describes the email jobs in the test's database, for a failure
	// message (set by newMailEnv).
	jobs func() string
	srv  *smtp.Server
	mu   sync.Mutex
	got  []email
}

// email is one received message, decoded.
type email struct {
	To, Subject, Text, HTML string
}

// link returns the first http(s) URL in the text part.
func (m email) link(t testing.TB) string {
	u := regexp.MustCompile(`https?://[^\s<>"]+`).FindString(m.Text)
	require.NotEmpty(t, u, "no link in %q", m.Text)
	return u
}

// secret returns the last path segment of the email's link: the token the
// account endpoints take.
func (m email) secret(t testing.TB) string {
	return linkSecret(t, m.link(t))
}

// linkSecret is the token of an account link /accounts/<kind>/<token>/.
func linkSecret(t testing.TB, link string) string {
	parts := strings.Split(strings.TrimSuffix(link, "/"), "/")
	require.GreaterOrEqual(t, len(parts), 2)
	return parts[len(parts)-1]
}

// startMailbox serves SMTP on addr ("127.0.0.1:0": any port) until the test ends.
func startMailbox(t testing.TB, addr string) *mailbox {
	m := &mailbox{t: t}
	m.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailboxSession{m: m}, nil }))
	m.srv.Domain = "localhost"
	m.srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	m.addr = l.Addr().String()
	go func() { _ = m.srv.Serve(l) }()
	t.Cleanup(func() { _ = m.srv.Close() })
	return m
}

// messages returns what was received so far.
func (m *mailbox) messages() []email {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]email(nil), m.got...)
}

// to returns the messages received for address.
func (m *mailbox) to(address string) []email {
	var out []email
	for _, e := range m.messages() {
		if strings.EqualFold(e.To, address) {
			out = append(out, e)
		}
	}
	return out
}

// wait returns the nth message (1-based) for address once it arrives, and
// fails the test, with the email jobs' states, if it does not within 60 s
// (generous: CI runs every package at once on two cores).
func (m *mailbox) wait(address string, n int) email {
	m.t.Helper()
	if !assert.Eventually(m.t, func() bool { return len(m.to(address)) >= n }, 60*time.Second, 20*time.Millisecond) {
		jobs := ""
		if m.jobs != nil {
			jobs = m.jobs()
		}
		m.t.Fatalf("no email #%d to %s; got %v; email jobs: %s", n, address, m.messages(), jobs)
	}
	return m.to(address)[n-1]
}

type mailboxSession struct{ m *mailbox }

func (*mailboxSession) Reset()                               {}
func (*mailboxSession) Logout() error                        { return nil }
func (*mailboxSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*mailboxSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *mailboxSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	e, err := decodeEmail(b)
	if err != nil {
		return err
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.m.got = append(s.m.got, e)
	return nil
}

// decodeEmail reads a multipart/alternative message as go-mail writes it.
func decodeEmail(raw []byte) (email, error) {
	m, err := netmail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		return email{}, err
	}
	var e email
	if to, err := netmail.ParseAddress(m.Header.Get("To")); err == nil {
		e.To = to.Address
	}
	if e.Subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err != nil {
		return email{}, err
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		return email{}, err
	}
	r := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := r.NextPart() // decodes quoted-printable
		if err == io.EOF {
			return e, nil
		}
		if err != nil {
			return email{}, err
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return email{}, err
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			e.Text = string(b)
		case "text/html":
			e.HTML = string(b)
		}
	}
}

// quickRetry retries a failed job after 100ms instead of River's backoff.
type quickRetry struct{}

func (quickRetry) NextRetry(*rivertype.JobRow) time.Time {
	return time.Now().Add(100 * time.Millisecond)
}

// newMailEnv is newEnvWith plus what serve adds for email: job workers on
// the test's database sending over SMTP to a mailbox the test reads.
func newMailEnv(t testing.TB, with func(*config.Config)) (*env, *mailbox) {
	t.Helper()
	box := startMailbox(t, "127.0.0.1:0")
	e := newEnvWith(t, with)
	e.startWorkers("smtp://" + box.addr)
	box.jobs = func() string {
		var out string
		err := e.db.Pool.QueryRow(context.Background(), `SELECT coalesce(string_agg(format('%s %s attempt %s/%s at %s errors %s',
			id, state, attempt, max_attempts, scheduled_at, errors::text), '; '), 'none') FROM river.river_job`).Scan(&out)
		if err != nil {
			return err.Error()
		}
		return out
	}
	return e, box
}

// startWorkers runs job workers, as serve does, sending email to smtpURL.
func (e *env) startWorkers(smtpURL string) {
	set, err := mail.ParseURL(smtpURL)
	require.NoError(e.t, err)
	q, err := jobs.Open(e.db.Pool, jobs.Options{
		Workers: 2, FetchPollInterval: 50 * time.Millisecond, RetryPolicy: quickRetry{},
		Mail: mail.NewSMTP(set, "tenantctl <noreply@localhost>"),
	})
	require.NoError(e.t, err)
	require.NoError(e.t, q.Start(context.Background()))
	e.t.Cleanup(func() { _ = q.Stop(5 * time.Second) })
}
