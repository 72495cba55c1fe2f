package bench

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

type diagTracer struct{}

var diagReasons sync.Map

func diagCount(k string) {
	v, _ := diagReasons.LoadOrStore(k, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (diagTracer) TraceRelease(_ *pgxpool.Pool, d pgxpool.TraceReleaseData) {
	c := d.Conn
	switch {
	case c.IsClosed():
		diagCount("closed")
	case c.PgConn().IsBusy():
		diagCount("busy")
	case c.PgConn().TxStatus() != 'I':
		diagCount("tx " + string(c.PgConn().TxStatus()))
	}
}

func (diagTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (diagTracer) TraceQueryEnd(_ context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	if d.Err != nil {
		diagCount("query error: " + d.Err.Error())
	}
}

func (diagTracer) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	return ctx
}

func (diagTracer) TraceAcquireEnd(_ context.Context, _ *pgxpool.Pool, d pgxpool.TraceAcquireEndData) {
	if d.Err != nil {
		diagCount("acquire error: " + d.Err.Error())
	}
}

func diagOpen(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig.Tracer = diagTracer{}
	cfg.ShouldPing = func(ctx context.Context, p pgxpool.ShouldPingParams) bool {
		if p.IdleDuration > 1e9 {
			diagCount("ping")
			return true
		}
		return false
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}

func diagDump() {
	diagReasons.Range(func(k, v any) bool {
		fmt.Fprintln(os.Stderr, "DIAG", k, v.(*atomic.Int64).Load())
		return true
	})
}
