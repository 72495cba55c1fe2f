package jobs

import (
	"context"
	"errors"
	"fmt"
	"html"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/mail"
)

// EmailArgs send one email. With Tenant set, the email is about that
// tenant: its name goes in the subject and at the end of both parts, and
// the email is cancelled, not sent, once the tenant is gone.
type EmailArgs struct {
	Tenant *TenantArgs `json:"tenant,omitempty"`
	mail.Message
}

// Kind is the job's name in River's tables and in tenantctl jobs list.
func (EmailArgs) Kind() string { return "email.send" }

// email registers the email job's worker, which sends through send
// (Options.Mail). Open registers it on every client, since the kind must be
// known to enqueue it; a failed send is retried with River's backoff.
func email(send mail.Sender) func(*river.Workers, *db.Pool) {
	return func(ws *river.Workers, pool *db.Pool) {
		river.AddWorker(ws, &emailWorker{pool: pool, send: send})
	}
}

// EmailTx enqueues m in tx, the transaction of the change that causes the
// email: it is sent if and only if tx commits, by a worker, never in the
// request. It returns an error for a message with no valid recipient.
func (q *Queue) EmailTx(ctx context.Context, tx pgx.Tx, m mail.Message) error {
	return q.insertEmail(ctx, tx, EmailArgs{Message: m})
}

// TenantEmailTx is EmailTx for an email about tenant s, whose name the
// worker puts in the subject and body.
func (q *Queue) TenantEmailTx(ctx context.Context, tx pgx.Tx, s db.Schema, m mail.Message) error {
	t := Tenant(s)
	return q.insertEmail(ctx, tx, EmailArgs{Tenant: &t, Message: m})
}

func (q *Queue) insertEmail(ctx context.Context, tx pgx.Tx, args EmailArgs) error {
	return insertEmail(ctx, q.Client, tx, args)
}

// WorkerTenantEmailTx is TenantEmailTx for a worker, which has no Queue:
// it enqueues with the client running the job (ctx must be a job's).
func WorkerTenantEmailTx(ctx context.Context, tx pgx.Tx, s db.Schema, m mail.Message) error {
	c, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return err
	}
	t := Tenant(s)
	return insertEmail(ctx, c, tx, EmailArgs{Tenant: &t, Message: m})
}

func insertEmail(ctx context.Context, c *river.Client[pgx.Tx], tx pgx.Tx, args EmailArgs) error {
	if err := mail.ParseAddress(args.To); err != nil {
		return fmt.Errorf("email recipient %q: %w", args.To, err)
	}
	if args.Subject == "" || args.Text == "" || args.HTML == "" {
		return errors.New("email needs a subject, a text part and an HTML part")
	}
	_, err := c.InsertTx(ctx, tx, args, nil)
	return err
}

// errNoMail is the error of an email job run by a queue opened without
// Options.Mail.
var errNoMail = errors.New("no mail sender: this queue was opened without Options.Mail")

type noMail struct{}

func (noMail) Send(context.Context, mail.Message) error { return errNoMail }

type emailWorker struct {
	river.WorkerDefaults[EmailArgs]
	pool *db.Pool
	send mail.Sender
}

func (w *emailWorker) Work(ctx context.Context, job *river.Job[EmailArgs]) error {
	m := job.Args.Message
	if t := job.Args.Tenant; t != nil {
		s, err := resolve(ctx, w.pool, *t)
		if err != nil {
			return err
		}
		c, err := db.InPublicV(ctx, w.pool, func(q *publicdb.Queries) (publicdb.Client, error) {
			return q.GetClientBySchema(ctx, s.String())
		})
		if err != nil {
			return err
		}
		m = withTenant(m, c.Name)
	}
	return w.send.Send(ctx, m)
}

// withTenant puts the tenant's name in m's subject and at the end of both
// parts, so every email says which tenant it comes from.
func withTenant(m mail.Message, name string) mail.Message {
	m.Subject = "[" + name + "] " + m.Subject
	m.Text += "\n\n-- \n" + name + "\n"
	m.HTML += "\n<p>&mdash;<br>" + html.EscapeString(name) + "</p>\n"
	return m
}
