package cli

import (
	"context"
	"fmt"

	ucli "github.com/urfave/cli/v3"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/provision"
)

// userCommand creates users inside a tenant.
func userCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:   "user",
		Usage:  "manage a tenant's users",
		Action: groupAction,
		Commands: []*ucli.Command{{
			Name:        "create",
			Usage:       "create a user inside a tenant",
			Description: "Without a password flag, the password is asked for on the terminal.",
			Flags: append([]ucli.Flag{
				schemaFlag(),
				&ucli.StringFlag{Name: "username", Usage: "the user's username", Required: true},
				&ucli.StringFlag{Name: "email", Usage: "the user's email"},
				&ucli.BoolFlag{Name: "staff", Usage: "make the user staff"},
			}, passwordFlags("password", "user's")...),
			Action: action(inv.userCreate),
		}},
	}
}

func (inv *invocation) userCreate(ctx context.Context, cmd *ucli.Command) error {
	if err := checkPasswordFlags(cmd, "password"); err != nil {
		return err
	}
	schema := cmd.String("schema")
	if _, err := db.ParseSchema(schema); err != nil {
		return &provision.FieldError{Field: "schema_name", Message: err.Error()}
	}
	if err := inv.open(ctx); err != nil {
		return err
	}
	// An unknown tenant is reported before the password is asked for.
	if _, err := inv.svc.GetTenant(ctx, schema); err != nil {
		return notFound(err, "tenant", schema)
	}
	u := provision.UserParams{Username: cmd.String("username"), Email: cmd.String("email"), Staff: cmd.Bool("staff")}
	pw, err := inv.password(ctx, cmd, "password", u.Username)
	if err != nil {
		return err
	}
	u.Password = pw
	if _, err := inv.svc.CreateUser(ctx, schema, u); err != nil {
		return notFound(err, "tenant", schema)
	}
	msg := fmt.Sprintf("created user %s in tenant %s", u.Username, schema)
	if u.Staff {
		msg += " (staff)"
	}
	fmt.Fprintln(inv.out(), msg)
	return nil
}

// superuserCommand creates administrators of the public side.
func superuserCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:   "superuser",
		Usage:  "manage the administrators of the public side (the admin UI and API)",
		Action: groupAction,
		Commands: []*ucli.Command{{
			Name:        "create",
			Usage:       "create a superuser",
			Description: "Without a password flag, the password is asked for on the terminal.",
			Flags: append([]ucli.Flag{
				&ucli.StringFlag{Name: "username", Usage: "the superuser's username", Required: true},
				&ucli.StringFlag{Name: "email", Usage: "the superuser's email"},
			}, passwordFlags("password", "superuser's")...),
			Action: action(inv.superuserCreate),
		}},
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
