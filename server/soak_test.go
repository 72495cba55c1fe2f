package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSoakIsolation runs 200 concurrent clients over 20 tenants doing random
// CRUD, a fixed number of requests each (loopback only, bounded in count and
// time). No response may carry another tenant's data, no request may fail
// with a 5xx, and afterwards every row in every tenant schema must be one
// that tenant wrote. With TEST_VIA_PGBOUNCER=1 it all goes through
// PgBouncer in transaction mode.
func TestSoakIsolation(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test skipped in -short mode")
	}
	const (
		tenants         = 20
		clients         = 200
		requestsPerUser = 20
	)
	e := newEnv(t)
	for i := 3; i <= tenants; i++ {
		_, err := e.prov.CreateTenant(t.Context(), provisionParams(i))
		require.NoError(t, err)
	}
	hosts := make([]string, tenants)
	tokens := make([]string, tenants)
	for i := range tenants {
		hosts[i] = fmt.Sprintf("school%d.localhost:8000", i+1)
		tokens[i] = e.demo(hosts[i])
	}

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 60 * time.Second}
	var (
		sent     atomic.Int64
		failures = make(chan string, clients*requestsPerUser)
		live     = make([]atomic.Int64, tenants) // items each tenant should hold
		wg       sync.WaitGroup
	)
	call := func(ti int, method, path string, body any) (int, []byte) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		rq, _ := http.NewRequestWithContext(ctx, method, e.srv.URL+path, rd)
		rq.Host = hosts[ti]
		rq.Header.Set("Authorization", "Bearer "+tokens[ti])
		if body != nil {
			rq.Header.Set("Content-Type", "application/json")
		}
		sent.Add(1)
		resp, err := client.Do(rq)
		if err != nil {
			failures <- fmt.Sprintf("%s %s on %s: %v", method, path, hosts[ti], err)
			return 0, nil
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 {
			failures <- fmt.Sprintf("%s %s on %s: %d %s", method, path, hosts[ti], resp.StatusCode, out)
		}
		// Whatever came back, no item in it may belong to another tenant.
		prefix := fmt.Sprintf(`"name":"school%d:`, ti+1)
		for _, part := range strings.Split(string(out), `"name":"`)[1:] {
			if !strings.HasPrefix(`"name":"`+part, prefix) {
				failures <- fmt.Sprintf("%s %s on %s leaked: %.80s", method, path, hosts[ti], part)
			}
		}
		return resp.StatusCode, out
	}

	for c := range clients {
		ti := c % tenants
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 42))
			var mine []int64
			for n := range requestsPerUser {
				if ctx.Err() != nil {
					return
				}
				switch op := rng.IntN(10); {
				case op < 4 || len(mine) == 0:
					status, out := call(ti, "POST", "/api/items/", map[string]string{"name": fmt.Sprintf("school%d:%d:%d", ti+1, c, n)})
					if status == 201 {
						var it struct{ ID int64 }
						_ = json.Unmarshal(out, &it)
						mine = append(mine, it.ID)
						live[ti].Add(1)
					}
				case op < 6:
					call(ti, "GET", "/api/items/", nil)
				case op < 7:
					call(ti, "GET", fmt.Sprintf("/api/items/%d/", mine[rng.IntN(len(mine))]), nil)
				case op < 8:
					call(ti, "PATCH", fmt.Sprintf("/api/items/%d/", mine[rng.IntN(len(mine))]), map[string]string{"description": "edited"})
				case op < 9:
					// Another tenant's id range: must be a 404, never data.
					call(ti, "GET", fmt.Sprintf("/api/items/%d/", rng.Int64N(int64(clients*requestsPerUser))+1), nil)
				default:
					k := rng.IntN(len(mine))
					if status, _ := call(ti, "DELETE", fmt.Sprintf("/api/items/%d/", mine[k]), nil); status == 204 {
						mine = append(mine[:k], mine[k+1:]...)
						live[ti].Add(-1)
					}
				}
			}
		})
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	require.NoError(t, ctx.Err(), "the soak did not finish in time")
	assert.EqualValues(t, clients*requestsPerUser, sent.Load())

	for i := range tenants {
		schema := fmt.Sprintf("school%d", i+1)
		rows, err := e.db.Pool.Query(t.Context(), "SELECT name FROM "+schema+".items")
		require.NoError(t, err)
		var n int64
		for rows.Next() {
			var name string
			require.NoError(t, rows.Scan(&name))
			assert.True(t, strings.HasPrefix(name, schema+":"), "%s holds %q", schema, name)
			n++
		}
		require.NoError(t, rows.Err())
		assert.Equal(t, live[i].Load(), n, "%s row count", schema)
	}
}
