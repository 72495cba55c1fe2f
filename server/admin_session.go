package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
)

// Admin web UI sessions are stored server-side, in the public
// admin_sessions table: the cookie holds 32 random bytes, the table only
// their SHA-256. So signing out (or deactivating the superuser) ends a
// session at once, and a leaked table signs nobody in.
//
// CSRF: each session has its own random CSRF token, rendered into every
// form and checked (in constant time) on every POST. The sign-in form,
// which has no session yet, uses a double-submit token instead: a random
// value in a cookie that the form must echo. The cookies are SameSite=Lax
// and a POST whose Origin names another host is refused as well.
const (
	sessionCookie   = "tenantctl_admin_session"
	loginCSRFCookie = "tenantctl_admin_csrf"
	adminCookiePath = "/admin/"
	// sessionTTL is how long a sign-in lasts, however active.
	sessionTTL = 12 * time.Hour
	// csrfField is the name of the hidden form field carrying the token.
	csrfField = "csrf_token"
)

// errCSRF refuses a form post whose CSRF token is missing or wrong.
var errCSRF = errDetail(http.StatusForbidden,
	"The form has expired or did not come from this site. Go back, reload the page and try again.")

// adminSession is a signed-in superuser's session.
type adminSession struct {
	tokenHash   []byte
	superuserID int64
	username    string
	csrf        string
	flash       string
	flashError  bool
}

// randomToken returns 32 random bytes, base64url-encoded.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSessionToken returns the stored form of a session cookie's value, or
// nil when the value is not one we could have issued.
func hashSessionToken(v string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) != 32 {
		return nil
	}
	h := sha256.Sum256(b)
	return h[:]
}

// setCookie sets an admin cookie: HttpOnly, SameSite=Lax, Secure in
// production, scoped to the admin's paths. maxAge < 0 deletes it.
func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     adminCookiePath,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.cfg.Production(),
		SameSite: http.SameSiteLaxMode,
	})
}

// loadSession returns the request's live session, or nil if it has none.
// On a GET it also takes the session's flash message, which the page about
// to be rendered shows once.
func (s *Server) loadSession(r *http.Request) (*adminSession, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, nil
	}
	h := hashSessionToken(c.Value)
	if h == nil {
		return nil, nil
	}
	ctx := r.Context()
	row, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) (publicdb.GetAdminSessionRow, error) {
		row, err := q.GetAdminSession(ctx, h)
		if err != nil || row.Flash == "" || r.Method != http.MethodGet {
			return row, err
		}
		return row, q.SetAdminSessionFlash(ctx, publicdb.SetAdminSessionFlashParams{TokenHash: h})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	requestInfoFrom(ctx).UserID = row.SuperuserID
	return &adminSession{
		tokenHash: h, superuserID: row.SuperuserID, username: row.Username, csrf: row.CsrfToken,
		flash: row.Flash, flashError: row.FlashError,
	}, nil
}

// startSession signs superuserID in: a new session (replacing the request's
// old one, if any) and its cookie. Expired sessions are swept on the way.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, superuserID int64, flash string) error {
	raw := randomToken()
	ctx := r.Context()
	err := db.InPublic(ctx, s.pool, func(q *publicdb.Queries) error {
		if old, err := r.Cookie(sessionCookie); err == nil {
			if h := hashSessionToken(old.Value); h != nil {
				if err := q.DeleteAdminSession(ctx, h); err != nil {
					return err
				}
			}
		}
		if err := q.DeleteExpiredAdminSessions(ctx); err != nil {
			return err
		}
		h := hashSessionToken(raw)
		if err := q.CreateAdminSession(ctx, publicdb.CreateAdminSessionParams{
			TokenHash: h, SuperuserID: superuserID, CsrfToken: randomToken(), ExpiresAt: time.Now().Add(sessionTTL),
		}); err != nil {
			return err
		}
		return q.SetAdminSessionFlash(ctx, publicdb.SetAdminSessionFlashParams{TokenHash: h, Flash: flash})
	})
	if err != nil {
		return err
	}
	s.setCookie(w, sessionCookie, raw, int(sessionTTL/time.Second))
	return nil
}

// endSession signs the session out and deletes its cookie.
func (s *Server) endSession(ctx context.Context, w http.ResponseWriter, sess *adminSession) error {
	err := db.InPublic(ctx, s.pool, func(q *publicdb.Queries) error {
		return q.DeleteAdminSession(ctx, sess.tokenHash)
	})
	if err != nil {
		return err
	}
	s.setCookie(w, sessionCookie, "", -1)
	return nil
}

// setFlash stores the message the session's next page shows.
func (s *Server) setFlash(ctx context.Context, sess *adminSession, msg string, isError bool) error {
	return db.InPublic(ctx, s.pool, func(q *publicdb.Queries) error {
		return q.SetAdminSessionFlash(ctx, publicdb.SetAdminSessionFlashParams{TokenHash: sess.tokenHash, Flash: msg, FlashError: isError})
	})
}

// sameToken compares two tokens in constant time; an empty one never matches.
func sameToken(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// checkOrigin refuses a POST whose Origin header names another host than
// the one it was sent to. Browsers send Origin with every form POST; a
// request without one (not from a browser) is left to the CSRF token.
func checkOrigin(r *http.Request) error {
	o := r.Header.Get("Origin")
	if o == "" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
		return errCSRF
	}
	return nil
}

// loginCSRF returns the sign-in form's double-submit token, setting its
// cookie when the browser has none yet.
func (s *Server) loginCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(loginCSRFCookie); err == nil && hashSessionToken(c.Value) != nil {
		return c.Value
	}
	v := randomToken()
	s.setCookie(w, loginCSRFCookie, v, int(sessionTTL/time.Second))
	return v
}
