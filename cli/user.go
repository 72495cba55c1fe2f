package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v3"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/provision"
)

// userCommand manages the users inside a tenant.
func userCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:   "user",
		Usage:  "manage a tenant's users",
		Action: groupAction,
		Commands: []*ucli.Command{
			{
				Name:        "create",
				Usage:       "create a user inside a tenant",
				Description: "Without a password flag, the password is asked for on the terminal.",
				Flags: append([]ucli.Flag{
					schemaFlag(),
					&ucli.StringFlag{Name: "username", Usage: "the user's username", Required: true},
					&ucli.StringFlag{Name: "email", Usage: "the user's email"},
					&ucli.BoolFlag{Name: "staff", Usage: "make the user staff (and an admin, unless --role says otherwise)"},
					&ucli.StringFlag{Name: "role", Usage: "owner, admin or member (default: admin with --staff, else member); owners and admins are staff unless --staff=false"},
				}, passwordFlags("password", "user's")...),
				Action: action(inv.userCreate),
			},
			{
				Name:  "list",
				Usage: "list a tenant's users",
				Flags: []ucli.Flag{
					schemaFlag(),
					&ucli.BoolFlag{Name: "json", Usage: "print a JSON array"},
				},
				Action: action(inv.userList),
			},
			{
				Name:  "update",
				Usage: "change a user's email, role, staff or active flag; only the flags given change",
				Description: "Deactivating a user (--active=false) also signs them out everywhere: their\n" +
					"refresh tokens are revoked.",
				Flags: []ucli.Flag{
					schemaFlag(),
					&ucli.StringFlag{Name: "username", Usage: "the user's username", Required: true},
					&ucli.StringFlag{Name: "email", Usage: "the user's new email (\"\" for none)"},
					&ucli.StringFlag{Name: "role", Usage: "the user's new role: owner, admin or member (sets staff too, unless --staff is given)"},
					&ucli.BoolFlag{Name: "staff", Usage: "whether the user is staff (--staff=false to unset)"},
					&ucli.BoolFlag{Name: "active", Usage: "whether the user may sign in (--active=false to deactivate)"},
				},
				Action: action(inv.userUpdate),
			},
			{
				Name:  "delete",
				Usage: "delete a user of a tenant (the items they wrote stay, without an author)",
				Description: "Asks to type the username to confirm, unless --yes is given.\n" +
					"Refuses without --yes when stdin is not a terminal.",
				Flags: []ucli.Flag{
					schemaFlag(),
					&ucli.StringFlag{Name: "username", Usage: "the user's username", Required: true},
					&ucli.BoolFlag{Name: "yes", Usage: "do not ask for confirmation"},
				},
				Action: action(inv.userDelete),
			},
		},
	}
}

// checkSchema validates a --schema flag before anything connects.
func checkSchema(schema string) error {
	if _, err := db.ParseSchema(schema); err != nil {
		return &provision.FieldError{Field: "schema_name", Message: err.Error()}
	}
	return nil
}

func (inv *invocation) userCreate(ctx context.Context, cmd *ucli.Command) error {
	if err := checkPasswordFlags(cmd, "password"); err != nil {
		return err
	}
	if err := checkRole(cmd); err != nil {
		return err
	}
	schema := cmd.String("schema")
	if err := checkSchema(schema); err != nil {
		return err
	}
	if err := inv.open(ctx); err != nil {
		return err
	}
	// An unknown tenant is reported before the password is asked for.
	if _, err := inv.svc.GetTenant(ctx, schema); err != nil {
		return notFound(err, "tenant", schema)
	}
	u := provision.UserParams{Username: cmd.String("username"), Email: cmd.String("email"), Staff: cmd.Bool("staff")}
	if cmd.IsSet("role") {
		u.Role = cmd.String("role")
		if !cmd.IsSet("staff") {
			u.Staff = u.Role != provision.RoleMember
		}
	}
	pw, err := inv.password(ctx, cmd, "password", u.Username)
	if err != nil {
		return err
	}
	u.Password = pw
	created, err := inv.svc.CreateUser(ctx, schema, u)
	if err != nil {
		return notFound(err, "tenant", schema)
	}
	msg := fmt.Sprintf("created user %s in tenant %s (role %s", u.Username, schema, created.Role)
	if created.IsStaff {
		msg += ", staff"
	}
	fmt.Fprintln(inv.out(), msg+")")
	return nil
}

// checkRole refuses a --role that is not one of the roles (exit 2).
func checkRole(cmd *ucli.Command) error {
	if r := cmd.String("role"); cmd.IsSet("role") && !provision.ValidRole(r) {
		return usageErrorf("--role: %q is not owner, admin or member", r)
	}
	return nil
}

// userJSON is one user of user list --json, as the admin API shows users.
type userJSON struct {
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

func (inv *invocation) userList(ctx context.Context, cmd *ucli.Command) error {
	schema := cmd.String("schema")
	if err := checkSchema(schema); err != nil {
		return err
	}
	if err := inv.open(ctx); err != nil {
		return err
	}
	var users []provision.User
	for {
		p, err := inv.svc.ListUsers(ctx, schema, provision.Query{Offset: int64(len(users)), Limit: provision.MaxPageSize})
		if err != nil {
			return notFound(err, "tenant", schema)
		}
		users = append(users, p.Items...)
		if len(p.Items) == 0 || int64(len(users)) >= p.Total {
			break
		}
	}
	if cmd.Bool("json") {
		out := make([]userJSON, len(users))
		for i, u := range users {
			out[i] = userJSON{ID: u.ID, Username: u.Username, Email: u.Email, IsStaff: u.IsStaff, IsActive: u.IsActive,
				DateJoined: u.DateJoined.UTC(), LastLogin: utc(u.LastLogin), Role: u.Role, EmailVerified: u.EmailVerified}
		}
		return writeJSON(inv.out(), out)
	}
	tw := tabwriter.NewWriter(inv.out(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tEMAIL\tROLE\tSTAFF\tACTIVE\tJOINED\tLAST LOGIN")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.Username, dash(u.Email), u.Role, yesNo(u.IsStaff), yesNo(u.IsActive),
			u.DateJoined.Local().Format(dateLayout), dateOrDash(u.LastLogin))
	}
	return tw.Flush()
}

func (inv *invocation) userUpdate(ctx context.Context, cmd *ucli.Command) error {
	schema, username := cmd.String("schema"), cmd.String("username")
	var ch provision.UserChanges
	if cmd.IsSet("email") {
		e := cmd.String("email")
		ch.Email = &e
	}
	if cmd.IsSet("staff") {
		b := cmd.Bool("staff")
		ch.Staff = &b
	}
	if cmd.IsSet("active") {
		b := cmd.Bool("active")
		ch.Active = &b
	}
	if err := checkRole(cmd); err != nil {
		return err
	}
	if cmd.IsSet("role") {
		r := cmd.String("role")
		ch.Role = &r
	}
	if ch == (provision.UserChanges{}) {
		return usageErrorf("nothing to change: give --email, --role, --staff or --active")
	}
	if err := checkSchema(schema); err != nil {
		return err
	}
	if err := inv.open(ctx); err != nil {
		return err
	}
	u, err := inv.svc.UpdateUser(ctx, schema, username, ch)
	if err != nil {
		return inv.userNotFound(ctx, err, schema, username)
	}
	fmt.Fprintf(inv.out(), "updated user %s in tenant %s: email %s, role %s, staff %s, active %s\n",
		u.Username, schema, dash(u.Email), u.Role, yesNo(u.IsStaff), yesNo(u.IsActive))
	return nil
}

func (inv *invocation) userDelete(ctx context.Context, cmd *ucli.Command) error {
	schema, username := cmd.String("schema"), cmd.String("username")
	if err := checkSchema(schema); err != nil {
		return err
	}
	if err := inv.open(ctx); err != nil {
		return err
	}
	if !cmd.Bool("yes") {
		// Say what is missing before asking to confirm it.
		if _, err := inv.svc.ListUsers(ctx, schema, provision.Query{Limit: 1}); err != nil {
			return notFound(err, "tenant", schema)
		}
		prompt := fmt.Sprintf("This permanently deletes user %s of tenant %s.", username, schema)
		if err := inv.confirm(ctx, prompt, "username", username); err != nil {
			return err
		}
	}
	if _, err := inv.svc.DeleteUser(ctx, schema, username); err != nil {
		return inv.userNotFound(ctx, err, schema, username)
	}
	fmt.Fprintf(inv.out(), "deleted user %s from tenant %s\n", username, schema)
	return nil
}

// userNotFound says whether the tenant or the user is missing when err is
// provision.ErrNotFound.
func (inv *invocation) userNotFound(ctx context.Context, err error, schema, username string) error {
	if !errors.Is(err, provision.ErrNotFound) {
		return err
	}
	if _, terr := inv.svc.GetTenant(ctx, schema); terr != nil {
		return notFound(terr, "tenant", schema)
	}
	return fmt.Errorf("user %q not found in tenant %s", username, schema)
}

// confirm asks the user to type want (the value of what, such as the
// schema name) to go on. It refuses when stdin is not a terminal: scripts
// pass --yes.
func (inv *invocation) confirm(ctx context.Context, prompt, what, want string) error {
	if inv.opts.Terminal == nil {
		return errors.New("refusing to delete without --yes when not on a terminal")
	}
	fmt.Fprintln(inv.errOut(), prompt)
	fmt.Fprintf(inv.errOut(), "Type the %s to confirm: ", what)
	typed, err := inv.readLine(ctx)
	if err != nil {
		return fmt.Errorf("confirmation: %w", err)
	}
	if strings.TrimSpace(typed) != want {
		return fmt.Errorf("confirmation %q does not match %q; nothing deleted", strings.TrimSpace(typed), want)
	}
	return nil
}

// superuserCommand manages the administrators of the public side.
func superuserCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:   "superuser",
		Usage:  "manage the administrators of the public side (the admin UI and API)",
		Action: groupAction,
		Commands: []*ucli.Command{
			{
				Name:        "create",
				Usage:       "create a superuser",
				Description: "Without a password flag, the password is asked for on the terminal.",
				Flags: append([]ucli.Flag{
					&ucli.StringFlag{Name: "username", Usage: "the superuser's username", Required: true},
					&ucli.StringFlag{Name: "email", Usage: "the superuser's email"},
				}, passwordFlags("password", "superuser's")...),
				Action: action(inv.superuserCreate),
			},
			{
				Name:  "list",
				Usage: "list the superusers",
				Flags: []ucli.Flag{
					&ucli.BoolFlag{Name: "json", Usage: "print a JSON array"},
				},
				Action: action(inv.superuserList),
			},
			{
				Name:        "set-password",
				Usage:       "set a superuser's password (and sign them out of the admin UI)",
				Description: "Without a password flag, the password is asked for on the terminal.",
				Flags: append([]ucli.Flag{
					&ucli.StringFlag{Name: "username", Usage: "the superuser's username", Required: true},
				}, passwordFlags("password", "superuser's new")...),
				Action: action(inv.superuserSetPassword),
			},
			{
				Name:  "delete",
				Usage: "delete a superuser",
				Description: "Asks to type the username to confirm, unless --yes is given.\n" +
					"Refuses without --yes when stdin is not a terminal.",
				Flags: []ucli.Flag{
					&ucli.StringFlag{Name: "username", Usage: "the superuser's username", Required: true},
					&ucli.BoolFlag{Name: "yes", Usage: "do not ask for confirmation"},
				},
				Action: action(inv.superuserDelete),
			},
		},
	}
}

func (inv *invocation) superuserCreate(ctx context.Context, cmd *ucli.Command) error {
	if err := checkPasswordFlags(cmd, "password"); err != nil {
		return err
	}
	if err := inv.open(ctx); err != nil {
		return err
	}
	u := provision.UserParams{Username: cmd.String("username"), Email: cmd.String("email")}
	pw, err := inv.password(ctx, cmd, "password", u.Username)
	if err != nil {
		return err
	}
	u.Password = pw
	if _, err := inv.svc.CreateSuperuser(ctx, u); err != nil {
		return err
	}
	fmt.Fprintf(inv.out(), "created superuser %s\n", u.Username)
	return nil
}

// superuserJSON is one superuser of superuser list --json.
type superuserJSON struct {
	ID         int64      `json:"id"`
	Username   string     `json:"username"`
	Email      string     `json:"email"`
	IsActive   bool       `json:"is_active"`
	DateJoined time.Time  `json:"date_joined"`
	LastLogin  *time.Time `json:"last_login"`
}

func (inv *invocation) superuserList(ctx context.Context, cmd *ucli.Command) error {
	if err := inv.open(ctx); err != nil {
		return err
	}
	sus, err := inv.svc.ListSuperusers(ctx)
	if err != nil {
		return err
	}
	if cmd.Bool("json") {
		out := make([]superuserJSON, len(sus))
		for i, su := range sus {
			out[i] = superuserJSON{ID: su.ID, Username: su.Username, Email: su.Email, IsActive: su.IsActive,
				DateJoined: su.DateJoined.UTC(), LastLogin: utc(su.LastLogin)}
		}
		return writeJSON(inv.out(), out)
	}
	tw := tabwriter.NewWriter(inv.out(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tEMAIL\tACTIVE\tJOINED\tLAST LOGIN")
	for _, su := range sus {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", su.Username, dash(su.Email), yesNo(su.IsActive),
			su.DateJoined.Local().Format(dateLayout), dateOrDash(su.LastLogin))
	}
	return tw.Flush()
}

func (inv *invocation) superuserSetPassword(ctx context.Context, cmd *ucli.Command) error {
	if err := checkPasswordFlags(cmd, "password"); err != nil {
		return err
	}
	username := cmd.String("username")
	if err := inv.open(ctx); err != nil {
		return err
	}
	// An unknown superuser is reported before the password is asked for.
	if _, err := inv.svc.GetSuperuser(ctx, username); err != nil {
		return notFound(err, "superuser", username)
	}
	pw, err := inv.password(ctx, cmd, "password", username)
	if err != nil {
		return err
	}
	if _, err := inv.svc.SetSuperuserPassword(ctx, username, pw); err != nil {
		return notFound(err, "superuser", username)
	}
	fmt.Fprintf(inv.out(), "set the password of superuser %s\n", username)
	return nil
}

func (inv *invocation) superuserDelete(ctx context.Context, cmd *ucli.Command) error {
	username := cmd.String("username")
	if err := inv.open(ctx); err != nil {
		return err
	}
	if !cmd.Bool("yes") {
		if _, err := inv.svc.GetSuperuser(ctx, username); err != nil {
			return notFound(err, "superuser", username)
		}
		if err := inv.confirm(ctx, fmt.Sprintf("This permanently deletes superuser %s.", username), "username", username); err != nil {
			return err
		}
	}
	if _, err := inv.svc.DeleteSuperuser(ctx, username); err != nil {
		return notFound(err, "superuser", username)
	}
	fmt.Fprintf(inv.out(), "deleted superuser %s\n", username)
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// dash stands in for an empty cell.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return cell(s)
}

func dateOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format(dateLayout)
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
