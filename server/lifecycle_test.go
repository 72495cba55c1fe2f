package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/provision"
)

// TestRequestOutlivesTenant holds a request between its authentication and
// its body while its tenant is deleted (and re-created under the same schema
// and domain): the request must not act in whatever now owns the schema.
// The server asks for the body (100 Continue) only once the handler reads
// it, which is after the host was resolved and the token checked.
func TestRequestOutlivesTenant(t *testing.T) {
	for _, recreate := range []bool{false, true} {
		name := "ErrDeleted"
		if recreate {
			name = "ErrRecreated"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			tok := e.demo(school1)
			ctx := t.Context()

			pr, pw := io.Pipe()
			hr, err := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/api/items/", pr)
			require.NoError(t, err)
			hr.Host = school1
			hr.Header.Set("Content-Type", "application/json")
			hr.Header.Set("Authorization", "Bearer "+tok)
			hr.Header.Set("Expect", "100-continue")
			asked := make(chan struct{})
			hr = hr.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
				Got100Continue: func() { close(asked) },
			}))
			client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
			type result struct {
				status int
				body   string
				err    error
			}
			done := make(chan result, 1)
			go func() {
				resp, err := client.Do(hr)
				if err != nil {
					done <- result{err: err}
					return
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				done <- result{status: resp.StatusCode, body: string(b)}
			}()
			select {
			case <-asked:
			case r := <-done:
				t.Fatalf("answered before reading the body: %d %s %v", r.status, r.body, r.err)
			}

			require.NoError(t, e.prov.DeleteTenant(ctx, "school1"))
			if recreate {
				_, err := e.prov.CreateTenant(ctx, provision.TenantParams{
					Schema: "school1", Name: "School 1 again", Domain: "school1.localhost",
					Admin: &provision.UserParams{Username: "demo", Password: tenantPassword},
				})
				require.NoError(t, err)
			}
			_, err = io.Copy(pw, strings.NewReader(`{"name": "written after the tenant went"}`))
			require.NoError(t, err)
			require.NoError(t, pw.Close())
			r := <-done
			require.NoError(t, r.err)
			require.Equal(t, http.StatusNotFound, r.status, r.body)
			require.JSONEq(t, `{"detail": "Not found."}`, r.body)
			if recreate {
				require.Zero(t, e.count(`SELECT count(*) FROM school1.items`), "the request wrote into the new tenant")
			}
		})
	}
}

// TestTenantDeletedUnderLoad deletes tenants while their users keep reading
// and writing: every answer is a success or a 4xx (the tenant is gone),
// never a 500.
func TestTenantDeletedUnderLoad(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	const rounds, workers = 4, 6
	for round := range rounds {
		tok := e.demo(school1)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[int]int{}
		bad := []string{}
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					rq := req{method: "GET", host: school1, path: "/api/items/", bearer: tok}
					if (w+i)%2 == 0 {
						rq = req{method: "POST", host: school1, path: "/api/items/", bearer: tok, body: map[string]string{"name": "x"}}
					}
					r, _, _, err := e.send(rq)
					if err != nil {
						continue
					}
					mu.Lock()
					statuses[r.status]++
					if r.status >= 500 {
						bad = append(bad, string(r.body))
					}
					mu.Unlock()
				}
			}()
		}
		time.Sleep(50 * time.Millisecond)
		require.NoError(t, e.prov.DeleteTenant(ctx, "school1"))
		time.Sleep(50 * time.Millisecond)
		close(stop)
		wg.Wait()
		require.Empty(t, bad, "round %d: statuses %v", round, statuses)
		for s := range statuses {
			require.Contains(t, []int{200, 201, 403, 404}, s, "round %d: statuses %v", round, statuses)
		}
		_, err := e.prov.Demo(context.WithoutCancel(ctx))
		require.NoError(t, err)
		delete(e.token, school1)
	}
}
