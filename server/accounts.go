package server

// What the account flows (issue #12) share: the links of their emails, the
// emails themselves, and the small server-rendered pages the links open on
// the tenant's host. The flows are in invitations.go, passwords.go and
// signup.go.

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/mail"
	"github.com/tenantctl/tenantctl/token"
)

// The kinds of account link, as they appear in /accounts/<kind>/<token>/
// and in FRONTEND_URL's {kind}.
const (
	linkInvite = "invite"
	linkReset  = "reset"
	linkVerify = "verify"
)

// The purposes of account_tokens rows.
const (
	purposeReset  = "password_reset"
	purposeVerify = "email_verification"
)

// requestScheme is the scheme the client used: https behind a TLS-ending
// proxy that says so, as well as over TLS here.
func requestScheme(r *http.Request) string {
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		return "https"
	}
	return "http"
}

// linkHost is the host an account link of a tenant whose domain is domain
// names: domain, with the port of the request that caused the email, so
// that links work in development (tenant1.localhost:8000) as they do behind
// a proxy on 443.
func linkHost(r *http.Request, domain string) string {
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		return net.JoinHostPort(domain, port)
	}
	return domain
}

// accountLink is the URL an account email links to: FRONTEND_URL filled
// in when set, else the product's own page on host (with its port, see
// linkHost) in the scheme of request r.
func (s *Server) accountLink(r *http.Request, host, kind, secret string) string {
	if t := s.cfg.FrontendURL; t != "" {
		return strings.NewReplacer("{host}", host, "{token}", secret, "{kind}", kind).Replace(t)
	}
	return requestScheme(r) + "://" + host + "/accounts/" + kind + "/" + secret + "/"
}

// accountEmail is an account email to one address: paragraphs of text, a
// link to follow, and what happens if the reader ignores it. The job adds
// the tenant's name (jobs.TenantEmailTx).
func accountEmail(to, subject string, paragraphs []string, action, link, ignore string) mail.Message {
	var text, htm strings.Builder
	for _, p := range paragraphs {
		text.WriteString(p + "\n\n")
		htm.WriteString("<p>" + html.EscapeString(p) + "</p>\n")
	}
	fmt.Fprintf(&text, "%s:\n%s\n\n%s\n", action, link, ignore)
	fmt.Fprintf(&htm, "<p><a href=\"%s\">%s</a></p>\n<p>If the button does not work, copy this address into your browser:<br>%s</p>\n<p>%s</p>\n",
		html.EscapeString(link), html.EscapeString(action), html.EscapeString(link), html.EscapeString(ignore))
	return mail.Message{To: to, Subject: subject, Text: text.String(), HTML: htm.String()}
}

// sendVerification sends u a link verifying u's email address, in tx (the
// transaction of the change that needs it: signup, a changed address, a
// resend), so that the email goes if and only if tx commits. link makes
// the URL from the secret (accountLink with the tenant's host).
func (s *Server) sendVerification(ctx context.Context, tx pgx.Tx, schema db.Schema, u tenantdb.User, link func(kind, secret string) string) error {
	if u.Email == "" {
		return nil
	}
	raw, hash := token.NewSecret()
	err := tenantdb.New(tx).CreateAccountToken(ctx, tenantdb.CreateAccountTokenParams{
		TokenHash: hash, Purpose: purposeVerify, UserID: u.ID, Email: u.Email,
		TtlSecs: s.cfg.EmailVerificationTTL.Seconds(),
	})
	if err != nil {
		return err
	}
	m := accountEmail(u.Email, "Verify your email address", []string{
		"Hello " + u.Username + ",",
		"Please confirm that " + u.Email + " is your email address.",
	}, "Verify my email address", link(linkVerify, raw),
		fmt.Sprintf("The link works once, for %s. If you did not sign up, ignore this email.", humanDuration(s.cfg.EmailVerificationTTL)))
	return s.enqueueEmail(ctx, tx, schema, m)
}

// enqueueEmail enqueues m, about tenant schema, in tx: it is sent if and
// only if tx commits, by a worker (jobs.Queue.TenantEmailTx).
func (s *Server) enqueueEmail(ctx context.Context, tx pgx.Tx, schema db.Schema, m mail.Message) error {
	if s.queue == nil {
		return errors.New("no job queue to send email with (see the log from start-up)")
	}
	return s.queue.TenantEmailTx(ctx, tx, schema, m)
}

// humanDuration writes a TTL as people say it: "1 hour", "7 days", "90 minutes".
func humanDuration(d time.Duration) string {
	h := d.Hours()
	switch {
	case h >= 24 && h == float64(int(h/24))*24:
		return plural(int(h/24), "day")
	case h >= 1 && h == float64(int(h)):
		return plural(int(h), "hour")
	default:
		return plural(int(h*60+0.5), "minute")
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// txMail is tx for handlers that enqueue email: fn gets the transaction
// itself too, for jobs.Queue's ...Tx methods. It is a plain pgx
// transaction, not the pipelined one of tx: account flows are rare.
func (a auth) txMail(ctx context.Context, w http.ResponseWriter, fn func(q *tenantdb.Queries, tx pgx.Tx, u tenantdb.User) (response, error)) error {
	var res response
	err := db.InTenantTx(ctx, a.s.pool, a.tenant.Schema, func(q *tenantdb.Queries, tx pgx.Tx) error {
		u, err := a.activeUser(ctx, q)
		if err != nil {
			return err
		}
		res, err = fn(q, tx, u)
		return err
	})
	if err != nil {
		return err
	}
	return a.s.respondOrError(w, res)
}

//go:embed accounts/templates/*.html
var accountsFS embed.FS

// accountPages are the pages account links open on a tenant's host, parsed
// like the admin's, each with accounts/templates/layout.html around it.
type accountPages map[string]*template.Template

func parseAccountPages() accountPages { return parsePages(accountsFS, "accounts/templates") }

// accountView is what the accounts layout renders around a page.
type accountView struct {
	Title string
	Page  any
}

// renderAccount writes an account page with the admin's security headers
// (no script, no framing, nothing cached, no referrer leaving the tenant's
// host: the URL holds a secret).
func (s *Server) renderAccount(w http.ResponseWriter, status int, page, title string, data any) error {
	t, ok := s.accountPages[page]
	if !ok {
		return fmt.Errorf("no account page %q", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", accountView{Title: title, Page: data}); err != nil {
		return err
	}
	adminHeaders(w)
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// accountStatic serves the admin's stylesheet on tenant hosts, for the
// account pages.
func (s *Server) accountStatic() http.Handler {
	sub, err := fs.Sub(adminFS, "admin/static")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix("/accounts/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			writeJSON(w, errNotFound.status, errNotFound.body)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}
