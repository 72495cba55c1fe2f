package bench

import (
	"context"
	"net/http"

	"github.com/tenantctl/tenantctl/db"
)

// loadItemName names the items the load creates, so cleanUp can remove them.
const loadItemName = "load item"

// scenario is one measured endpoint: the request the HTTP load sends, and
// the SQL its handler runs, which the ceiling sends without HTTP.
type scenario struct {
	name   string
	method string
	path   string
	body   string // JSON; "" for none
	bearer bool   // send the tenant's access token
	apiKey bool   // send the tenant's API key instead
	// ceiling runs the handler's SQL for tenant t, the way the handler does.
	ceiling func(ctx context.Context, pool *db.Pool, t *tenant) error
	// note qualifies the comparison with the ceiling in the report.
	note string
}

// scenarios returns every scenario, in the order they run.
func scenarios() []scenario {
	return []scenario{
		{name: "items-list", method: http.MethodGet, path: "/api/items/", bearer: true, ceiling: ceilingItemsList},
		{name: "profile", method: http.MethodGet, path: "/api/profile/", bearer: true, ceiling: ceilingProfile},
		// profile with an API key instead of the access token: the cost of
		// verifying one (a row read joined with its user) next to the JWT's.
		{name: apiKeyScenario, method: http.MethodGet, path: "/api/profile/", apiKey: true, ceiling: ceilingProfileAPIKey},
		{
			name: "items-create", method: http.MethodPost, path: "/api/items/", bearer: true, ceiling: ceilingItemsCreate,
			body: `{"name":"` + loadItemName + `","description":"Created by the benchmark load."}`,
		},
		{
			name: "token", method: http.MethodPost, path: "/api/token/", ceiling: ceilingToken,
			body: `{"username":"` + adminUsername + `","password":"` + adminPassword + `"}`,
			note: "HTTP also verifies the argon2id hash; the ceiling is the SQL only",
		},
		// Measured by measureSignup (signup.go), not by drive: a new tenant
		// per request, on the public host.
		{name: signupScenario, method: http.MethodPost, path: "/api/signup/"},
		// Measured by isolation.go, items-list reads under each
		// distribution, each against the same reads without the disturbance.
		{name: hotTenantScenario},
		{name: churnScenario},
		{name: floodScenario},
	}
}

// The scenarios of isolation.go.
const (
	hotTenantScenario = "hot-tenant"
	churnScenario     = "churn"
	floodScenario     = "flood"
)

// apiKeyScenario is the scenario that needs every tenant's API key.
const apiKeyScenario = "profile-apikey"

// scenarioNames lists the scenarios by name, in the order they run.
func scenarioNames() []string {
	var names []string
	for _, s := range scenarios() {
		names = append(names, s.name)
	}
	return names
}

// scenarioByName returns the scenario called name.
func scenarioByName(name string) (scenario, bool) {
	for _, s := range scenarios() {
		if s.name == name {
			return s, true
		}
	}
	return scenario{}, false
}
