package provision

import (
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/password"
)

var (
	usernamePattern = regexp.MustCompile(`^[A-Za-z0-9.@+_-]{1,150}$`)
	labelPattern    = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// ParseDomain lower-cases a domain name and checks that it is a plain host
// name: dot-separated labels of letters, digits and hyphens, no port, no
// scheme, at most 253 characters.
func ParseDomain(d string) (string, error) {
	d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	if d == "" {
		return "", fieldErr("domain", "This field is required.")
	}
	if len(d) > 253 {
		return "", fieldErr("domain", "Ensure this field has no more than 253 characters.")
	}
	for _, label := range strings.Split(d, ".") {
		if !labelPattern.MatchString(label) {
			return "", fieldErr("domain", "Enter a valid domain name such as acme.example.com (letters, digits, hyphens and dots; no port or scheme).")
		}
	}
	return d, nil
}

func parseSchema(s string) (db.Schema, error) {
	if s == "" {
		return db.Schema{}, fieldErr("schema_name", "This field is required.")
	}
	sc, err := db.ParseSchema(s)
	if err != nil {
		return db.Schema{}, &FieldError{Field: "schema_name", Message: err.Error()}
	}
	return sc, nil
}

func validateName(name string) error {
	switch n := utf8.RuneCountInString(strings.TrimSpace(name)); {
	case n == 0:
		return fieldErr("name", "This field is required.")
	case n > 100:
		return fieldErr("name", "Ensure this field has no more than 100 characters.")
	}
	if !utf8.ValidString(name) {
		return fieldErr("name", "Enter valid UTF-8 text.")
	}
	return nil
}

// validateUser checks a new user's fields; prefix names the fields in errors
// ("admin_" when the user comes with a new tenant).
func validateUser(u UserParams, prefix string) error {
	if u.Username == "" {
		return fieldErr(prefix+"username", "This field is required.")
	}
	if !usernamePattern.MatchString(u.Username) {
		return fieldErr(prefix+"username", "Enter a valid username of at most 150 letters, digits and @/./+/-/_ characters.")
	}
	if err := validateEmail(prefix+"email", u.Email); err != nil {
		return err
	}
	if u.Role != "" && !ValidRole(u.Role) {
		return fieldErr(prefix+"role", "\"%s\" is not a valid choice.", u.Role)
	}
	if u.fixture && u.Password != "" {
		return nil
	}
	return checkPassword(prefix+"password", u.Password, u.Username, u.Email)
}

// checkPassword applies the password rules (password.Check) to the
// password plain of the user username with address email: a *FieldError
// on field with every rule it breaks, or "This field is required." for an
// empty one.
func checkPassword(field, plain, username, email string) error {
	if plain == "" {
		return fieldErr(field, "This field is required.")
	}
	if msgs := password.Check(plain, password.Username(username), password.Email(email)); len(msgs) > 0 {
		return &FieldError{Field: field, Message: strings.Join(msgs, " "), Messages: msgs}
	}
	return nil
}

// CheckPassword applies the password rules to a new password of the user
// username with address email, as every flow setting a password does: a
// *FieldError on field listing every rule it breaks, or nil.
func CheckPassword(field, plain, username, email string) error {
	return checkPassword(field, plain, username, email)
}

// validateEmail checks an email address; "" (no email) is valid.
func validateEmail(field, email string) error {
	if email == "" {
		return nil
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 {
		return fieldErr(field, "Enter a valid email address.")
	}
	return nil
}

// ValidateUser checks a new user's fields as CreateUser does: a
// *FieldError (username, email, role or password) for the first invalid one.
// The password gets the full rules (CheckPassword), against this user's
// username and email.
func ValidateUser(u UserParams) error { return validateUser(u, "") }

// ValidateEmail checks an email address ("" is valid): a *FieldError on
// field if it is not one.
func ValidateEmail(field, email string) error { return validateEmail(field, email) }

// ValidateName checks a tenant's name as CreateTenant does: a *FieldError
// on field name if it is blank, too long or not UTF-8.
func ValidateName(name string) error { return validateName(name) }
