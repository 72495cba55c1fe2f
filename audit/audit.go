// Package audit records what changed in a tenant, by whom, in the tenant's
// own schema (table audit_log), in the transaction of the change: a change
// that rolls back leaves no entry, and a committed one always has its entry.
//
// The same call feeds the webhook outbox: an action that is a webhook event
// (Events) gets one delivery row per subscribed endpoint, and its delivery
// job, in that transaction too (package webhook delivers them).
package audit

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/telemetry"
)

// Actor kinds: who made a change.
const (
	ActorUser      = "user"
	ActorAPIKey    = "api_key"
	ActorSuperuser = "superuser"
	ActorSystem    = "system"
)

// Actor is who made a change: a tenant's user, one of its API keys, a
// superuser (admin UI, admin API, or tenantctl), or the system (a job).
// ID is 0 where there is none (tenantctl, the system).
type Actor struct {
	Type string `json:"type"`
	ID   int64  `json:"id,omitempty"`
	Name string `json:"name"`
}

// User is the actor of a tenant's user.
func User(id int64, username string) Actor { return Actor{Type: ActorUser, ID: id, Name: username} }

// APIKey is the actor of an API key.
func APIKey(id int64, name string) Actor { return Actor{Type: ActorAPIKey, ID: id, Name: name} }

// Superuser is the actor of a superuser signed in to the admin UI or API.
func Superuser(id int64, username string) Actor {
	return Actor{Type: ActorSuperuser, ID: id, Name: username}
}

// System is the actor of the product itself (a job, a command): name says
// which, e.g. "tenantctl" or "webhooks".
func System(name string) Actor { return Actor{Type: ActorSystem, Name: name} }

// Target is what a change was made to: a type ("item", "user",
// "invitation", "api_key", "webhook", "tenant", "domain") and its id.
type Target struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Of returns the target of typ with numeric id.
func Of(typ string, id int64) Target { return Target{Type: typ, ID: strconv.FormatInt(id, 10)} }

// Entry is one change to record.
type Entry struct {
	Action string // dotted, e.g. "item.created" (see actions.go)
	Actor  Actor
	Target Target
	// Before and After are the changed fields' values before and after the
	// change (nil for a creation's before, a deletion's after). Record
	// keeps the fields that differ and drops those that must never be
	// logged (Secret).
	Before, After map[string]any
	// Data, for an action that is a webhook event, is the event's data
	// (the object as the API shows it); nil sends {"id": target id}.
	Data any
}

// DefaultMaxAttempts is the attempts of a delivery job: the first and
// seven retries, about a day (package webhook's schedule).
const DefaultMaxAttempts = 8

// Record writes e in q's transaction, with the request id and client
// address of ctx's scope (a request's or a job's), and, if e's action is a
// webhook event, its outbox rows and their delivery jobs. s is q's tenant,
// named in the jobs.
//
// It returns the database's errors, and an error for an entry without an
// action or actor.
func Record(ctx context.Context, q *tenantdb.Queries, s db.Schema, e Entry) error {
	if e.Action == "" || e.Actor.Type == "" {
		return fmt.Errorf("audit entry needs an action and an actor: %+v", e)
	}
	changes, err := diff(e.Before, e.After)
	if err != nil {
		return err
	}
	p := tenantdb.RecordAuditParams{
		Action:     e.Action,
		ActorType:  e.Actor.Type,
		ActorName:  e.Actor.Name,
		TargetType: e.Target.Type,
		TargetID:   e.Target.ID,
		// JSON goes as text: a []byte parameter would be sent as bytea in
		// the exec modes used behind PgBouncer (sql/tenant/audit.sql).
		Payload: "{}",
	}
	if changes != nil {
		c := string(changes)
		p.Changes = &c
	}
	if e.Actor.ID != 0 {
		p.ActorID = &e.Actor.ID
	}
	if sc := telemetry.ScopeFrom(ctx); sc != nil {
		p.RequestID, p.ClientAddr = sc.RequestID, sc.ClientAddr
	}
	if IsEvent(e.Action) {
		p.Webhook = true
		p.EventID = NewEventID()
		data := e.Data
		if data == nil {
			data = map[string]string{"id": e.Target.ID}
		}
		payload, err := Payload(e.Action, time.Now(), data)
		if err != nil {
			return err
		}
		p.Payload = string(payload)
	}
	ids, err := q.RecordAudit(ctx, p)
	if err != nil || len(ids) == 0 {
		return err
	}
	return Enqueue(ctx, q, s, ids)
}

// Enqueue enqueues the delivery jobs of webhook_deliveries rows ids of
// tenant s in q's transaction, each with DefaultMaxAttempts attempts.
func Enqueue(ctx context.Context, q *tenantdb.Queries, s db.Schema, ids []int64) error {
	tenant, err := json.Marshal(jobs.Tenant(s))
	if err != nil {
		return err
	}
	return q.EnqueueWebhookDeliveries(ctx, tenantdb.EnqueueWebhookDeliveriesParams{
		Tenant:      string(tenant),
		MaxAttempts: DefaultMaxAttempts,
		Metadata:    string(jobs.Metadata(ctx, s)),
		Ids:         ids,
	})
}

// Payload is the body of a webhook event, as the Standard Webhooks spec
// shapes it: {"type", "timestamp", "data"}.
func Payload(action string, at time.Time, data any) ([]byte, error) {
	return json.Marshal(struct {
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
		Data      any    `json:"data"`
	}{action, at.UTC().Format(time.RFC3339Nano), data})
}

// NewEventID returns a new webhook message id: "msg_" and 26 random
// base32 characters. A delivery keeps it on every attempt.
func NewEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	out := make([]byte, 0, 4+26)
	out = append(out, "msg_"...)
	var acc uint32
	bits := 0
	for _, c := range b {
		acc = acc<<8 | uint32(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out = append(out, alphabet[acc>>uint(bits)&31])
		}
	}
	if bits > 0 {
		out = append(out, alphabet[acc<<uint(5-bits)&31])
	}
	return string(out)
}
