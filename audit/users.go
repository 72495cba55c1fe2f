package audit

import (
	"time"

	"github.com/tenantctl/tenantctl/db/tenantdb"
)

// UserFields are the fields of a tenant's user that an entry's before and
// after compare: never the password hash nor the sign-in bookkeeping
// (last login, tokens' cut-off), which change on their own.
func UserFields(u tenantdb.User) map[string]any {
	return map[string]any{
		"username": u.Username, "email": u.Email, "role": u.Role,
		"is_staff": u.IsStaff, "is_active": u.IsActive, "email_verified": u.EmailVerified,
	}
}

// UserData is a tenant's user as the API shows it (server's userJSON is
// this type), and the data of the user.* webhook events, whether the
// change came from the tenant API, the admin or tenantctl (package
// provision).
type UserData struct {
	ID            int64      `json:"id"`
	Username      string     `json:"username"`
	Email         string     `json:"email"`
	IsStaff       bool       `json:"is_staff"`
	IsActive      bool       `json:"is_active"`
	DateJoined    time.Time  `json:"date_joined"`
	LastLogin     *time.Time `json:"last_login"`
	Role          string     `json:"role"`
	EmailVerified bool       `json:"email_verified"`
}

// UserDataOf is u as UserData.
func UserDataOf(u tenantdb.User) UserData {
	out := UserData{ID: u.ID, Username: u.Username, Email: u.Email, IsStaff: u.IsStaff, IsActive: u.IsActive,
		DateJoined: u.DateJoined.UTC(), Role: u.Role, EmailVerified: u.EmailVerified}
	if u.LastLogin != nil {
		t := u.LastLogin.UTC()
		out.LastLogin = &t
	}
	return out
}
