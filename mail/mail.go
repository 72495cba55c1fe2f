// Package mail sends the product's email: over SMTP through go-mail
// (github.com/wneessen/go-mail) when SMTP_URL is set, to the log otherwise
// (development). Flows do not call a Sender themselves: they enqueue a
// jobs.EmailArgs in the transaction of the change that causes the email.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLS is how an SMTP connection is encrypted.
type TLS int

const (
	// STARTTLS upgrades the connection when the server offers it and stays
	// plain when it does not (smtp://, as Mailpit in development).
	STARTTLS TLS = iota
	// STARTTLSRequired refuses a server that does not offer STARTTLS
	// (smtp://...?tls=required).
	STARTTLSRequired
	// Implicit is TLS from the first byte (smtps://).
	Implicit
)

// Settings are an SMTP_URL, parsed.
type Settings struct {
	Host     string
	Port     int
	Username string
	Password string
	TLS      TLS
	// TLSConfig, if not nil, replaces the default TLS configuration
	// (system roots, server name Host): a private CA, or a test's.
	TLSConfig *tls.Config
}

// ParseURL parses SMTP_URL: smtp://[user:pass@]host:port[?tls=required] or
// smtps://[user:pass@]host:port. The port defaults to 587 for smtp and 465
// for smtps. It returns an error naming what is wrong, never the password.
func ParseURL(raw string) (Settings, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Settings{}, errors.New("not a URL such as smtp://user:pass@host:587")
	}
	var s Settings
	def := 587
	switch u.Scheme {
	case "smtp":
		s.TLS = STARTTLS
	case "smtps":
		s.TLS, def = Implicit, 465
	default:
		return Settings{}, fmt.Errorf("scheme %q is not smtp or smtps", u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return Settings{}, errors.New("no host (want smtp://[user:pass@]host:port)")
	}
	if u.Path != "" && u.Path != "/" {
		return Settings{}, fmt.Errorf("unexpected path %q", u.Path)
	}
	s.Host, s.Port = u.Hostname(), def
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Settings{}, fmt.Errorf("port %q is not 1 to 65535", p)
		}
		s.Port = n
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	q := u.Query()
	for k := range q {
		if k != "tls" {
			return Settings{}, fmt.Errorf("unknown parameter %q (only tls=required)", k)
		}
	}
	if q.Has("tls") {
		if v := q.Get("tls"); v != "required" || len(q["tls"]) != 1 {
			return Settings{}, fmt.Errorf("tls=%q: the only value is required", v)
		}
		if s.TLS == Implicit {
			return Settings{}, errors.New("tls=required is for smtp:// (smtps:// is always TLS)")
		}
		s.TLS = STARTTLSRequired
	}
	return s, nil
}

// Addr is host:port.
func (s Settings) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// ParseAddress checks a MAIL_FROM such as "tenantctl <noreply@example.com>".
func ParseAddress(a string) error {
	_, err := mail.ParseAddress(a)
	return err
}

// Message is one email, with a plain-text part and an HTML part.
type Message struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

// Sender sends messages. Send's error means the message may not have gone
// out, and the caller (the email job) retries.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// SMTP sends through an SMTP server.
type SMTP struct {
	from string
	s    Settings
}

// NewSMTP returns a Sender that connects to s for each message, from the
// address from (MAIL_FROM).
func NewSMTP(s Settings, from string) *SMTP { return &SMTP{from: from, s: s} }

// Send sends m in one SMTP session.
func (c *SMTP) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg()
	if err := msg.From(c.from); err != nil {
		return fmt.Errorf("MAIL_FROM: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("recipient: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	opts := []gomail.Option{gomail.WithPort(c.s.Port), gomail.WithTimeout(15 * time.Second)}
	switch c.s.TLS {
	case STARTTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case STARTTLSRequired:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case Implicit:
		opts = append(opts, gomail.WithSSL())
	}
	if c.s.TLSConfig != nil {
		tc := c.s.TLSConfig.Clone()
		if tc.ServerName == "" {
			tc.ServerName = c.s.Host
		}
		opts = append(opts, gomail.WithTLSConfig(tc))
	}
	if c.s.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(c.s.Username), gomail.WithPassword(c.s.Password))
	}
	client, err := gomail.NewClient(c.s.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("send mail via %s: %w", c.s.Addr(), err)
	}
	return nil
}

// Log writes messages to a log instead of sending them: development
// without SMTP_URL.
type Log struct {
	log  *slog.Logger
	from string
}

// NewLog returns a Sender that logs each message at info level.
func NewLog(log *slog.Logger, from string) *Log { return &Log{log: log, from: from} }

// Send logs m.
func (l *Log) Send(ctx context.Context, m Message) error {
	l.log.InfoContext(ctx, "email (not sent: no SMTP_URL)", "from", l.from, "to", m.To, "subject", m.Subject, "text", m.Text)
	return nil
}
