package server

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tenantctl/tenantctl/provision"
)

// purgeAt is when the purge job drops t if it stays deleted, nil for a live
// tenant.
func (s *Server) purgeAt(t provision.Tenant) *time.Time {
	if t.DeletedAt == nil {
		return nil
	}
	at := t.DeletedAt.Add(s.cfg.TenantRetention)
	return &at
}

// retentionText says d in days when it is whole days ("30 days"), else as a
// duration.
func retentionText(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		if n := int64(d / (24 * time.Hour)); n != 1 {
			return fmt.Sprintf("%d days", n)
		}
		return "1 day"
	}
	return d.String()
}

// adminRestoreUI restores a softly deleted tenant: POST
// /admin/tenants/{schema}/restore/ (the Restore button of its page).
func (s *Server) adminRestoreUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	schema, err := pathSchema(r)
	if err != nil {
		return err
	}
	t, err := s.prov.RestoreTenant(r.Context(), schema)
	if errors.Is(err, provision.ErrTenantLive) {
		return s.redirect(w, r, sess, tenantURL(schema), "This tenant is not deleted: there was nothing to restore.")
	}
	if err != nil {
		return err
	}
	return s.redirect(w, r, sess, tenantURL(schema),
		fmt.Sprintf("Restored tenant %s (%s) with its data: its domains answer again; its users sign in again.", t.Schema, t.Name))
}
