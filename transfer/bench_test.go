package transfer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/provision"
	"github.com/tenantctl/tenantctl/transfer"
)

// BenchmarkTransfer measures export and import of a tenant holding
// TRANSFER_BENCH_ROWS items (comma-separated sizes, default 1000000), each
// item about as wide as the API's (a name, a 100-character description,
// an author), into and from a file:
//
//	TRANSFER_BENCH_ROWS=100000,1000000 go test -run '^$' -bench Transfer -benchtime 1x -timeout 30m ./transfer/
//
// Besides MB/s of archive it reports rows/s, and the export's peak Go heap
// (sampled every millisecond) and the process's peak RSS so far: with
// several sizes, the heap's peak stays the same as the tenant grows.
func BenchmarkTransfer(b *testing.B) {
	sizes := os.Getenv("TRANSFER_BENCH_ROWS")
	if sizes == "" {
		sizes = "1000000"
	}
	d := dbtest.New(b)
	svc := provision.New(d.Pool, d.Migrator, password.NewHasher(0))
	for _, field := range strings.Split(sizes, ",") {
		rows, err := strconv.Atoi(strings.TrimSpace(field))
		require.NoError(b, err, "TRANSFER_BENCH_ROWS")
		schema := fmt.Sprintf("big%d", rows)
		_, err = svc.CreateTenant(b.Context(), provision.TenantParams{Schema: schema, Name: schema, Domain: schema + ".example.com",
			Admin: &provision.UserParams{Username: "boss", Password: "Harbour-Lamp-71"}})
		require.NoError(b, err)
		_, err = d.Pool.Exec(b.Context(), fmt.Sprintf(`INSERT INTO %s.items (name, description, created_by)
			SELECT 'Item ' || g, rpad(md5(g::text), 100, ' lorem ipsum'), 1 FROM generate_series(1, %d) g`, schema, rows))
		require.NoError(b, err)
		_, err = d.Pool.Exec(b.Context(), "VACUUM ANALYZE "+schema+".items")
		require.NoError(b, err)
		file := filepath.Join(b.TempDir(), schema+".tenant")

		b.Run(fmt.Sprintf("export/rows=%d", rows), func(b *testing.B) {
			var sum transfer.Summary
			var peak uint64
			for b.Loop() {
				f, err := os.Create(file)
				require.NoError(b, err)
				peak = peakHeap(func() {
					sum, err = transfer.Export(b.Context(), d.Pool, db.MustParseSchema(schema), f)
				})
				require.NoError(b, err)
				require.NoError(b, f.Close())
			}
			report(b, sum)
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(peakRSS(), "peak-RSS-MiB")
		})
		b.Run(fmt.Sprintf("import/rows=%d", rows), func(b *testing.B) {
			var sum transfer.Summary
			i := 0
			for b.Loop() {
				i++
				f, err := os.Open(file)
				require.NoError(b, err)
				to := fmt.Sprintf("%s_copy%d", schema, i)
				sum, err = transfer.Import(b.Context(), d.Pool, d.Migrator, f, transfer.Options{Schema: to, Domains: []string{strings.ReplaceAll(to, "_", "-") + ".example.com"}})
				require.NoError(b, err)
				require.NoError(b, f.Close())
			}
			report(b, sum)
		})
	}
}

// report gives the size of one archive, and rows per second.
func report(b *testing.B, sum transfer.Summary) {
	b.SetBytes(sum.Bytes)
	perOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(sum.Rows)/perOp, "rows/s")
	b.ReportMetric(float64(sum.Bytes)/(1<<20), "archive-MiB")
}

// peakHeap runs fn and returns the largest heap it saw in use (live and
// not yet collected objects), sampled every millisecond.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	fn()
	stop()
	wg.Wait()
	return peak
}

// peakRSS is the process's peak resident set (VmHWM) in MiB, or 0 where
// /proc does not say.
func peakRSS() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}
