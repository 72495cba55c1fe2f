package provision

import (
	"context"
	"errors"
)

// DemoPassword is the password of the demo user of every demo tenant.
const DemoPassword = "demo123"

var demoTenants = []TenantParams{
	{Schema: "school1", Name: "School 1", Domain: "school1.localhost", OnTrial: true},
	{Schema: "school2", Name: "School 2", Domain: "school2.localhost", OnTrial: true},
}

// Demo makes sure the demo tenants exist, each with the user demo/demo123.
// It is idempotent: existing tenants and users are kept as they are. It
// returns one line per tenant saying what it did.
func (s *Service) Demo(ctx context.Context) ([]string, error) {
	var report []string
	for _, t := range demoTenants {
		user := UserParams{Username: "demo", Email: "demo@" + t.Schema + ".com", Password: DemoPassword}
		_, err := s.GetTenant(ctx, t.Schema)
		switch {
		case errors.Is(err, ErrNotFound):
			t.Admin = &user
			if _, err := s.CreateTenant(ctx, t); err != nil {
				return report, err
			}
			report = append(report, "created "+t.Schema+" (http://"+t.Domain+":8000/) with user demo / "+DemoPassword)
		case err != nil:
			return report, err
		default:
			_, err := s.CreateUser(ctx, t.Schema, user)
			var fe *FieldError
			if err != nil && !(errors.As(err, &fe) && fe.Field == "username") {
				return report, err
			}
			report = append(report, t.Schema+" already exists; user demo present")
		}
	}
	return report, nil
}
