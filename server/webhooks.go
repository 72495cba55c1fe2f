package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/webhook"
)

// webhookJSON is the API's webhook endpoint. Secret is set only in the
// answer that created it: the secret is shown once.
type webhookJSON struct {
	ID             int64    `json:"id"`
	URL            string   `json:"url"`
	EventTypes     []string `json:"event_types"`
	Enabled        bool     `json:"enabled"`
	DisabledReason *string  `json:"disabled_reason"`
	CreatedAt      apiTime  `json:"created_at"`
	UpdatedAt      apiTime  `json:"updated_at"`
	Secret         string   `json:"secret,omitempty"`
}

func newWebhookJSON(e tenantdb.WebhookEndpoint) webhookJSON {
	return webhookJSON{
		ID: e.ID, URL: e.Url, EventTypes: e.EventTypes, Enabled: e.Enabled, DisabledReason: e.DisabledReason,
		CreatedAt: apiTime(e.CreatedAt), UpdatedAt: apiTime(e.UpdatedAt),
	}
}

// webhookAudit is what the audit log keeps of an endpoint: never its secret.
func webhookAudit(e tenantdb.WebhookEndpoint) map[string]any {
	return map[string]any{"url": e.Url, "event_types": e.EventTypes, "enabled": e.Enabled}
}

// deliveryJSON is one delivery of an endpoint (its attempts so far).
type deliveryJSON struct {
	ID            int64    `json:"id"`
	EventID       string   `json:"event_id"`
	EventType     string   `json:"event_type"`
	Status        string   `json:"status"`
	Attempts      int32    `json:"attempts"`
	ResponseCode  *int32   `json:"response_code"`
	LatencyMs     *int32   `json:"latency_ms"`
	LastError     *string  `json:"last_error"`
	CreatedAt     apiTime  `json:"created_at"`
	LastAttemptAt *apiTime `json:"last_attempt_at"`
	DeliveredAt   *apiTime `json:"delivered_at"`
}

// maxWebhookURL bounds an endpoint's URL.
const maxWebhookURL = 2000

// webhookInput is a validated endpoint body; a nil field was absent.
type webhookInput struct {
	url        *string
	eventTypes []string
	enabled    *bool
}

// decodeWebhook validates an endpoint body; partial (PATCH) makes every
// field optional, otherwise url and event_types are required.
func (s *Server) decodeWebhook(r *http.Request, partial bool) (webhookInput, error) {
	body, err := decodeObject(r, false)
	if err != nil {
		return webhookInput{}, err
	}
	fe := fieldErrors{}
	var in webhookInput
	if _, ok := body["url"]; ok || !partial {
		if v, ok := requiredString(fe, body, "url", maxWebhookURL); ok {
			if msg := s.checkWebhookURL(v); msg != "" {
				fe.add("url", msg)
			} else {
				in.url = &v
			}
		}
	}
	if raw, ok := body["event_types"]; ok || !partial {
		in.eventTypes = decodeEventTypes(fe, raw, ok)
	}
	in.enabled = patchBool(fe, body, "enabled")
	return in, fe.err()
}

// checkWebhookURL says what is wrong with an endpoint URL ("" if
// nothing): it must be an absolute http(s) URL, and, unless
// WEBHOOK_ALLOW_PRIVATE, not name the local machine or a private address
// literally. Names that resolve to one are refused at connect time.
func (s *Server) checkWebhookURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.Opaque != "" {
		return "Enter a valid URL."
	}
	if u.User != nil {
		return "A webhook URL may not hold credentials."
	}
	if !s.cfg.WebhookAllowPrivate {
		if why := webhook.RefusedHost(u.Hostname()); why != "" {
			return fmt.Sprintf("Webhooks cannot be sent to %s (%s).", u.Hostname(), why)
		}
	}
	return ""
}

// decodeEventTypes validates event_types: a non-empty list of the event
// types (audit.Events), duplicates dropped.
func decodeEventTypes(fe fieldErrors, raw json.RawMessage, present bool) []string {
	if !present {
		fe.add("event_types", "This field is required.")
		return nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || v == nil {
		fe.add("event_types", "This field may not be null.")
		return nil
	}
	var types []string
	if err := json.Unmarshal(raw, &types); err != nil {
		if _, list := v.([]any); list {
			fe.add("event_types", "Each event type must be a string.")
		} else {
			fe.add("event_types", `Expected a list of items but got type "`+jsonKind(v)+`".`)
		}
		return nil
	}
	if len(types) == 0 {
		fe.add("event_types", "This list may not be empty.")
		return nil
	}
	out := make([]string, 0, len(types))
	for _, t := range types {
		if !audit.IsEvent(t) {
			fe.add("event_types", fmt.Sprintf("%q is not a valid choice.", t))
			continue
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// listWebhooks answers GET /api/webhooks/: the endpoints, newest first.
func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, a auth) error {
	lq, err := parseList(r, pageSize, nil)
	if err != nil {
		return err
	}
	ctx := r.Context()
	return a.read(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
		if err := a.allow(u, webhooksList); err != nil {
			return response{}, err
		}
		out, err := pageOf(r, lq, func(lim int32, off int64) ([]webhookJSON, int64, error) {
			rows, err := q.ListWebhookEndpoints(ctx, tenantdb.ListWebhookEndpointsParams{Lim: lim, Off: off})
			var total int64
			results := make([]webhookJSON, len(rows))
			for i, e := range rows {
				results[i] = newWebhookJSON(tenantdb.WebhookEndpoint{ID: e.ID, Url: e.Url, EventTypes: e.EventTypes,
					Enabled: e.Enabled, DisabledReason: e.DisabledReason, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt})
				total = e.Total
			}
			return results, total, err
		})
		if err != nil {
			return response{}, err
		}
		return response{http.StatusOK, out}, nil
	})
}

// createWebhook answers POST /api/webhooks/: 201 with the endpoint and its
// signing secret, which no other answer shows.
func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, a auth) error {
	in, err := s.decodeWebhook(r, false)
	if err != nil {
		return err
	}
	enabled := in.enabled == nil || *in.enabled
	key := webhook.NewSecret()
	ctx := r.Context()
	return a.tx(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
		if err := a.allow(u, webhooksCreate); err != nil {
			return response{}, err
		}
		e, err := q.CreateWebhookEndpoint(ctx, tenantdb.CreateWebhookEndpointParams{
			Url: *in.url, EventTypes: in.eventTypes, Enabled: enabled, Secret: key, CreatedBy: &u.ID,
		})
		if err != nil {
			return response{}, err
		}
		err = a.record(ctx, q, u, audit.Entry{Action: audit.WebhookCreated, Target: audit.Of("webhook", e.ID), After: webhookAudit(e)})
		out := newWebhookJSON(e)
		out.Secret = webhook.FormatSecret(key)
		return response{http.StatusCreated, out}, err
	})
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request, a auth) error {
	id, err := itemID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	return a.read(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
		if err := a.allow(u, webhooksList); err != nil {
			return response{}, err
		}
		e, err := q.GetWebhookEndpoint(ctx, id)
		if err != nil {
			return response{}, err
		}
		return response{http.StatusOK, newWebhookJSON(e)}, nil
	})
}

// updateWebhook answers PATCH /api/webhooks/{id}/ {url, event_types,
// enabled}: enabling an endpoint clears why it was disabled.
func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request, a auth) error {
	id, err := itemID(r)
	if err != nil {
		return err
	}
	in, err := s.decodeWebhook(r, true)
	if err != nil {
		return err
	}
	ctx := r.Context()
	return a.tx(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
		if err := a.allow(u, webhooksUpdate); err != nil {
			return response{}, err
		}
		old, err := q.LockWebhookEndpoint(ctx, id)
		if err != nil {
			return response{}, err
		}
		e, err := q.UpdateWebhookEndpoint(ctx, tenantdb.UpdateWebhookEndpointParams{
			ID: id, Url: in.url, EventTypes: in.eventTypes, Enabled: in.enabled,
		})
		if err != nil {
			return response{}, err
		}
		err = a.record(ctx, q, u, audit.Entry{
			Action: audit.WebhookUpdated, Target: audit.Of("webhook", e.ID), Before: webhookAudit(old), After: webhookAudit(e),
		})
		return response{http.StatusOK, newWebhookJSON(e)}, err
	})
}

// deleteWebhook answers DELETE /api/webhooks/{id}/: the endpoint and its
// deliveries go; deliveries not yet sent are not sent.
func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, a auth) error {
	id, err := itemID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	return a.tx(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
		if err := a.allow(u, webhooksDelete); err != nil {
			return response{}, err
		}
		e, err := q.DeleteWebhookEndpoint(ctx, id)
		if err != nil {
			return response{}, err
		}
		err = a.record(ctx, q, u, audit.Entry{Action: audit.WebhookDeleted, Target: audit.Of("webhook", e.ID), Before: webhookAudit(e)})
		return response{status: http.StatusNoContent}, err
	})
}

// listDeliveries answers GET /api/webhooks/{id}/deliveries/: the
// endpoint's deliveries, newest first, with their attempts' outcome.
func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request, a auth) error {
	id, err := itemID(r)
	if err != nil {
		return err
	}
	lq, err := parseList(r, pageSize, nil)
	if err != nil {
		return err
	}
	ctx := r.Context()
	return a.read(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
		if err := a.allow(u, webhooksList); err != nil {
			return response{}, err
		}
		if _, err := q.GetWebhookEndpoint(ctx, id); err != nil {
			return response{}, err
		}
		out, err := pageOf(r, lq, func(lim int32, off int64) ([]deliveryJSON, int64, error) {
			rows, err := q.ListWebhookDeliveries(ctx, tenantdb.ListWebhookDeliveriesParams{EndpointID: id, Lim: lim, Off: off})
			var total int64
			results := make([]deliveryJSON, len(rows))
			for i, d := range rows {
				results[i] = deliveryJSON{
					ID: d.ID, EventID: d.EventID, EventType: d.EventType, Status: d.Status, Attempts: d.Attempts,
					ResponseCode: d.ResponseCode, LatencyMs: d.LatencyMs, LastError: d.LastError,
					CreatedAt: apiTime(d.CreatedAt), LastAttemptAt: optTime(d.LastAttemptAt), DeliveredAt: optTime(d.DeliveredAt),
				}
				total = d.Total
			}
			return results, total, err
		})
		if err != nil {
			return response{}, err
		}
		return response{http.StatusOK, out}, nil
	})
}

// testWebhook answers POST /api/webhooks/{id}/test/: a ping event
// (audit.Ping) is queued for this endpoint alone, subscribed to it or not,
// and sent even if the endpoint is disabled (to check it before enabling
// it again); 202 with its event id.
func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request, a auth) error {
	id, err := itemID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	return a.tx(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
		if err := a.allow(u, webhooksTest); err != nil {
			return response{}, err
		}
		if _, err := q.GetWebhookEndpoint(ctx, id); err != nil {
			return response{}, err
		}
		eventID := audit.NewEventID()
		payload, err := audit.Payload(audit.Ping, time.Now(), map[string]any{"webhook_id": id})
		if err != nil {
			return response{}, err
		}
		did, err := q.CreateWebhookDelivery(ctx, tenantdb.CreateWebhookDeliveryParams{
			EndpointID: id, EventID: eventID, EventType: audit.Ping, Payload: string(payload),
		})
		if err != nil {
			return response{}, err
		}
		err = audit.Enqueue(ctx, q, a.tenant.Schema, []int64{did})
		return response{http.StatusAccepted, map[string]string{"event_id": eventID}}, err
	})
}
