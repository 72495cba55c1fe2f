package provision

import (
	"context"
	"errors"
)

// DemoPassword is the password of the demo user of every demo tenant.
const DemoPassword = "demo123"

// DemoUsername is the demo user of every demo tenant.
const DemoUsername = "demo"

var demoTenants = []TenantParams{
	{Schema: "school1", Name: "School 1", Domain: "school1.localhost", OnTrial: true, demo: true},
	{Schema: "school2", Name: "School 2", Domain: "school2.localhost", OnTrial: true, demo: true},
}

// DemoOutcome is what Demo did with one demo tenant.
type DemoOutcome int

const (
	// DemoCreated: the tenant did not exist; Demo made it with its user.
	DemoCreated DemoOutcome = iota
	// DemoPresent: Demo had made the tenant before; its demo user is there
	// (added again if it had been deleted).
	DemoPresent
	// DemoSkipped: the schema or domain belongs to something Demo did not
	// make (a real tenant, or a schema that is no tenant's); Demo left it
	// alone. Reason says which.
	DemoSkipped
)

// DemoResult is what Demo did with one demo tenant.
type DemoResult struct {
	Schema  string
	Domain  string
	Outcome DemoOutcome
	// Reason says why a tenant was skipped, in a sentence.
	Reason string
}

// Demo makes sure the demo tenants exist, each with the user demo/demo123.
// It is idempotent: tenants it made before are kept as they are (with their
// demo user). It never touches a tenant it did not make: a tenant of a demo
// tenant's schema that is not marked as made by Demo, or a schema or domain
// of that name taken by anything else, is skipped and reported as such,
// without adding a user. It returns what it did with each demo tenant, and
// stops at the first database error.
func (s *Service) Demo(ctx context.Context) ([]DemoResult, error) {
	var results []DemoResult
	for _, t := range demoTenants {
		res := DemoResult{Schema: t.Schema, Domain: t.Domain}
		// DemoPassword breaks the password rules on purpose: it is the
		// seed's fixed credential (see UserParams.fixture), not a choice.
		user := UserParams{Username: DemoUsername, Email: DemoUsername + "@" + t.Schema + ".com", Password: DemoPassword, fixture: true}
		c, err := s.GetTenant(ctx, t.Schema)
		switch {
		case errors.Is(err, ErrNotFound):
			t.Admin = &user
			_, err := s.CreateTenant(ctx, t)
			var fe *FieldError
			if errors.As(err, &fe) {
				// The schema name or the domain is someone else's.
				res.Outcome, res.Reason = DemoSkipped, fe.Message
				break
			}
			if err != nil {
				return results, err
			}
			res.Outcome = DemoCreated
		case err != nil:
			return results, err
		case !c.Demo:
			res.Outcome = DemoSkipped
			res.Reason = "A tenant " + t.Schema + " exists that tenantctl demo did not make; no demo user added."
		default:
			_, err := s.CreateUser(ctx, t.Schema, user)
			var fe *FieldError
			if err != nil && !(errors.As(err, &fe) && fe.Field == "username") {
				return results, err
			}
			res.Outcome = DemoPresent
		}
		results = append(results, res)
	}
	return results, nil
}
