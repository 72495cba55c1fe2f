package server

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/provision"
)

// Admin UI pages that change or remove what exists: a tenant's settings,
// a user's email and role, deleting users and superusers, and the
// confirmation pages in front of removing a domain and deactivating a user.

// tenantSettingsForm is the settings form of t, filled with its values.
func tenantSettingsForm(t provision.Tenant) form {
	f := emptyForm()
	f.Values["name"] = t.Name
	if t.PaidUntil != nil {
		f.Values["paid_until"] = t.PaidUntil.Format(time.DateOnly)
	}
	if t.OnTrial {
		f.Values["on_trial"] = "on"
	}
	return f
}

// adminTenantSettingsUI changes a tenant's name, plan and paid-until date:
// POST /admin/tenants/{schema}/settings/. The form sends every field; an
// empty date clears it.
func (s *Server) adminTenantSettingsUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	schema, err := pathSchema(r)
	if err != nil {
		return err
	}
	f := formOf(r, "name", "paid_until", "on_trial")
	f.require("name")
	noNUL(f, "name")
	name, onTrial := f.Values["name"], f.Values["on_trial"] != ""
	ch := provision.TenantChanges{Name: &name, OnTrial: &onTrial, ClearPaidUntil: true}
	if v := f.Values["paid_until"]; v != "" {
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			f.Errors["paid_until"] = "Enter a date as YYYY-MM-DD."
		}
		ch.PaidUntil, ch.ClearPaidUntil = &d, false
	}
	if len(f.Errors) == 0 {
		c, err := s.prov.UpdateTenant(r.Context(), schema, ch)
		if err != nil && !f.fail(err) {
			return err
		}
		if err == nil {
			return s.redirect(w, r, sess, tenantURL(schema), "Saved the settings of "+c.Name+".")
		}
	}
	p, err := s.tenantView(r.Context(), r, schema, emptyForm(), emptyForm())
	if err != nil {
		return err
	}
	p.SettingsForm = f
	return s.render(w, http.StatusBadRequest, sess, "tenant", p.Tenant.Name, p)
}

// noNUL records an error for each of fields holding a NUL character,
// which PostgreSQL text cannot store (the JSON API refuses it the same way).
func noNUL(f form, fields ...string) {
	for _, k := range fields {
		if strings.ContainsRune(f.Values[k], 0) {
			f.Errors[k] = "Null characters are not allowed."
		}
	}
}

type userPage struct {
	Tenant provision.Tenant
	User   provision.User
	Form   form
}

// tenantUser loads the tenant and user of the request's path.
func (s *Server) tenantUser(r *http.Request) (provision.Tenant, provision.User, error) {
	schema, id, err := pathSchemaUser(r)
	if err != nil {
		return provision.Tenant{}, provision.User{}, err
	}
	t, err := s.prov.DescribeTenant(r.Context(), schema)
	if err != nil {
		return t, provision.User{}, err
	}
	u, err := s.prov.GetUser(r.Context(), schema, id)
	return t, u, err
}

// adminUserUI shows (GET) and handles (POST) the edit form of a tenant
// user, their email and role (is_staff follows the role):
// /admin/tenants/{schema}/users/{id}/.
func (s *Server) adminUserUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	t, u, err := s.tenantUser(r)
	if err != nil {
		return err
	}
	f, status := emptyForm(), http.StatusOK
	f.Values["email"] = u.Email
	f.Values["role"] = u.Role
	if r.Method == http.MethodPost {
		f = formOf(r, "email", "role")
		noNUL(f, "email")
		if f.Values["role"] == "" { // absent: unchanged
			f.Values["role"] = u.Role
		}
		if len(f.Errors) == 0 {
			email, role := f.Values["email"], f.Values["role"]
			_, err := s.prov.UpdateUserByID(r.Context(), t.Schema, u.ID, provision.UserChanges{Email: &email, Role: &role})
			if err != nil && !f.fail(err) {
				return err
			}
			if err == nil {
				return s.redirect(w, r, sess, tenantURL(t.Schema), "Saved "+u.Username+".")
			}
		}
		status = http.StatusBadRequest
	}
	return s.render(w, status, sess, "user_edit", u.Username, userPage{Tenant: t, User: u, Form: f})
}

// adminUserDeleteUI shows (GET) the confirmation page of deleting a tenant
// user and deletes them (POST): /admin/tenants/{schema}/users/{id}/delete/.
func (s *Server) adminUserDeleteUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	t, u, err := s.tenantUser(r)
	if err != nil {
		return err
	}
	if r.Method == http.MethodPost {
		if _, err := s.prov.DeleteUserByID(r.Context(), t.Schema, u.ID); err != nil {
			return err
		}
		return s.redirect(w, r, sess, tenantURL(t.Schema),
			"Deleted user "+u.Username+": their items were kept and their sign-ins ended.")
	}
	return s.render(w, http.StatusOK, sess, "user_delete", "Delete "+u.Username, userPage{Tenant: t, User: u})
}

// adminUserDeactivateUI shows the confirmation page of deactivating a
// tenant user: GET /admin/tenants/{schema}/users/{id}/active/ (its form
// posts to adminUserActiveUI).
func (s *Server) adminUserDeactivateUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	t, u, err := s.tenantUser(r)
	if err != nil {
		return err
	}
	return s.render(w, http.StatusOK, sess, "user_deactivate", "Deactivate "+u.Username, userPage{Tenant: t, User: u})
}

type domainRemovePage struct {
	Tenant provision.Tenant
	Domain publicdb.Domain
	// Last is true for the tenant's only domain, which cannot be removed.
	Last  bool
	Error string
}

// adminRemoveDomainPage shows the confirmation page of removing a domain:
// GET /admin/tenants/{schema}/domains/{domain}/remove/ (its form posts to
// adminRemoveDomainUI).
func (s *Server) adminRemoveDomainPage(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	p, err := s.domainRemoveView(r)
	if err != nil {
		return err
	}
	return s.render(w, http.StatusOK, sess, "domain_remove", "Remove "+p.Domain.Domain, p)
}

func (s *Server) domainRemoveView(r *http.Request) (domainRemovePage, error) {
	schema, domain, err := pathSchemaDomain(r)
	if err != nil {
		return domainRemovePage{}, err
	}
	t, err := s.prov.DescribeTenant(r.Context(), schema)
	if err != nil {
		return domainRemovePage{}, err
	}
	ds, err := s.prov.ListDomains(r.Context(), schema)
	if err != nil {
		return domainRemovePage{}, err
	}
	for _, d := range ds {
		if d.Domain == domain {
			return domainRemovePage{Tenant: t, Domain: d, Last: len(ds) == 1}, nil
		}
	}
	return domainRemovePage{}, errNotFound
}

type superusersPage struct {
	Superusers []provision.Superuser
	Pager      pager
	Me         int64
}

// adminSuperusersUI lists the superusers: GET /admin/superusers/?page=.
func (s *Server) adminSuperusersUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	page := uiPage(r)
	p, err := s.prov.SearchSuperusers(r.Context(), provision.Query{Offset: (page - 1) * adminPageSize, Limit: adminPageSize})
	if err != nil {
		return err
	}
	if len(p.Items) == 0 && page > 1 {
		http.Redirect(w, r, "/admin/superusers/", http.StatusSeeOther)
		return nil
	}
	return s.render(w, http.StatusOK, sess, "superusers", "Superusers", superusersPage{
		Superusers: p.Items, Pager: newPager(r, page, p.Total, len(p.Items)), Me: sess.superuserID,
	})
}

type superuserPage struct {
	Superuser provision.Superuser
	Me        bool
	Form      form
	Error     string
}

// pathSuperuser loads the superuser {id} of the request's path.
func (s *Server) pathSuperuser(r *http.Request) (provision.Superuser, error) {
	id, err := pathUserID(r)
	if err != nil {
		return provision.Superuser{}, err
	}
	return s.prov.GetSuperuserByID(r.Context(), id)
}

// adminSuperuserPasswordUI shows (GET) and handles (POST) the set-password
// form of a superuser: /admin/superusers/{id}/password/. The superuser's
// admin sessions end; when it is the signed-in superuser's own password,
// this browser gets a new session.
func (s *Server) adminSuperuserPasswordUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	su, err := s.pathSuperuser(r)
	if err != nil {
		return err
	}
	me := su.ID == sess.superuserID
	f, status := emptyForm(), http.StatusOK
	if r.Method == http.MethodPost {
		f = formOf(r, "password")
		f.require("password")
		if len(f.Errors) == 0 {
			_, err := s.prov.SetSuperuserPasswordByID(r.Context(), su.ID, f.Values["password"])
			if err != nil && !f.fail(err) {
				return err
			}
			if err == nil && me {
				// Every session of ours ended, this one too: start another.
				if err := s.startSession(w, r, su.ID, "Set your new password; your other sign-ins were ended."); err != nil {
					return err
				}
				http.Redirect(w, r, "/admin/superusers/", http.StatusSeeOther)
				return nil
			}
			if err == nil {
				return s.redirect(w, r, sess, "/admin/superusers/",
					"Set a new password for "+su.Username+"; their admin sign-ins were ended.")
			}
		}
		f.Values["password"], status = "", http.StatusBadRequest
	}
	return s.render(w, status, sess, "superuser_password", "Set password", superuserPage{Superuser: su, Me: me, Form: f})
}

// adminSuperuserDeleteUI shows (GET) the confirmation page of deleting a
// superuser and deletes them (POST): /admin/superusers/{id}/delete/. It
// refuses to delete the signed-in superuser or the last active one.
func (s *Server) adminSuperuserDeleteUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	su, err := s.pathSuperuser(r)
	if err != nil {
		return err
	}
	p, status := superuserPage{Superuser: su, Me: su.ID == sess.superuserID}, http.StatusOK
	if r.Method == http.MethodPost {
		var err error = errDeleteSelf
		if !p.Me {
			_, err = s.prov.DeleteSuperuserByID(r.Context(), su.ID)
		}
		if err == nil {
			return s.redirect(w, r, sess, "/admin/superusers/",
				fmt.Sprintf("Deleted superuser %s: their admin sign-ins were ended.", su.Username))
		}
		ae, _ := toAPIError(err)
		d, ok := ae.body.(detail)
		if ae.status != http.StatusBadRequest || !ok {
			return err
		}
		p.Error, status = d.Detail, http.StatusBadRequest
	}
	return s.render(w, status, sess, "superuser_delete", "Delete "+su.Username, p)
}
