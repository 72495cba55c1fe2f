package server_test

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkProfileRequest measures a whole authenticated GET /api/profile/
// (HTTP client, server, one tenant transaction) in process, for profiling
// the server's own share: go test -bench ProfileRequest -cpuprofile cpu.out ./server/
func BenchmarkProfileRequest(b *testing.B) {
	e := newEnv(b)
	tok := e.demo(school1)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rq, _ := http.NewRequest("GET", e.srv.URL+"/api/profile/", nil)
			rq.Host = school1
			rq.Header.Set("Authorization", "Bearer "+tok)
			resp, err := client.Do(rq)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body) // so the connection is reused
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}
