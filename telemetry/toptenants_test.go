package telemetry

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// values collects t as a scrape would: tenant label -> value.
func values(t *testing.T, tt *topTenants) map[string]float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 100)
	tt.Collect(ch)
	close(ch)
	out := map[string]float64{}
	for m := range ch {
		var d dto.Metric
		require.NoError(t, m.Write(&d))
		out[d.Label[0].GetValue()] = d.Counter.GetValue()
	}
	return out
}

func TestTopTenants(t *testing.T) {
	tt := newTopTenants(2, time.Hour)
	hit := func(tenant string, n int) {
		for range n {
			tt.inc(tenant)
		}
	}
	// The first two tenants seen get series; the third counts as other.
	hit("a", 1)
	hit("b", 1)
	hit("c", 5)
	hit("other", 2) // a tenant named other never gets a series of its own
	assert.Equal(t, map[string]float64{"a": 1, "b": 1, "other": 7}, values(t, tt))

	// The interval passes: c, the busiest, takes b's place (a was busier
	// than b); a keeps its count, c starts at 0, and other never goes down.
	tt.since = tt.since.Add(-2 * time.Hour)
	hit("a", 1)
	got := values(t, tt)
	assert.Equal(t, map[string]float64{"a": 2, "c": 0, "other": 7}, got)
	hit("b", 3)
	hit("c", 2)
	assert.Equal(t, map[string]float64{"a": 2, "c": 2, "other": 10}, values(t, tt))

	// Many more tenants than the bound: still 2 + other, and the two are
	// among the busiest of the interval (6 requests each).
	for i := range 1000 {
		hit(fmt.Sprint("t", i), i%7)
	}
	tt.since = tt.since.Add(-2 * time.Hour)
	got = values(t, tt)
	assert.Len(t, got, 3)
	for tenant := range got {
		if tenant != "other" {
			var i int
			_, err := fmt.Sscanf(tenant, "t%d", &i)
			require.NoError(t, err)
			assert.Equal(t, 6, i%7, tenant)
		}
	}
}
