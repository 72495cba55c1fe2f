package bench

import (
	"context"
	"errors"
	"time"

	"github.com/tenantctl/tenantctl/db"
)

// backendsQuery lists the client backends of the benchmark database other
// than the one asking, with the application_name that says whose they are.
const backendsQuery = `SELECT pid, application_name FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`

// backendMemory reads the private memory (RssAnon, which holds a backend's
// catalog and plan caches) of the server's and the ceiling's backends from
// /proc. PostgreSQL runs on this machine (checkLoopback); a backend whose
// /proc entry cannot be read is reported in Memory.Error, not as a failure.
func backendMemory(ctx context.Context, pool *db.Pool) (Memory, error) {
	rows, err := pool.Query(ctx, backendsQuery)
	if err != nil {
		return Memory{}, err
	}
	type backend struct {
		pid int
		app string
	}
	var backends []backend
	for rows.Next() {
		var b backend
		if err := rows.Scan(&b.pid, &b.app); err != nil {
			rows.Close()
			return Memory{}, err
		}
		backends = append(backends, b)
	}
	if err := rows.Err(); err != nil {
		return Memory{}, err
	}
	var m Memory
	var errs []error
	for _, b := range backends {
		var into *Backends
		switch b.app {
		case appServer:
			into = &m.Server
		case appCeiling:
			into = &m.Ceiling
		default:
			continue
		}
		kb, err := readRSSAnon(b.pid)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		into.add(kb)
	}
	if err := errors.Join(errs...); err != nil {
		m.Error = err.Error()
	}
	return m, nil
}

func (b *Backends) add(kb int64) {
	b.Count++
	b.TotalRSSAnonKB += kb
	b.MaxRSSAnonKB = max(b.MaxRSSAnonKB, kb)
}

// readRSSAnon returns a process's RssAnon in kB.
func readRSSAnon(pid int) (int64, error) { return readStatusKB(pid, "RssAnon") }

// sessionMark is a point from which connectionsSince counts new sessions.
type sessionMark struct {
	sessions int64 // the database's pg_stat_database.sessions
	setupNew int64 // connections the setup pool had opened
}

// markSessions reads the session counters before the server starts.
func (r *runner) markSessions(ctx context.Context) (sessionMark, error) {
	m := sessionMark{setupNew: r.pool.NewConnsCount()}
	err := r.pool.QueryRow(ctx, "SELECT sessions FROM pg_stat_database WHERE datname = current_database()").Scan(&m.sessions)
	return m, err
}

// connectionsSince counts the connections the server and the ceiling opened
// since mark, after both have disconnected. A pool that keeps its
// connections opens each once (the server: its pool and its LISTEN
// connection); more means connections were closed and reopened, each
// reopened backend starting with cold caches. pg_stat_database.sessions
// (PostgreSQL 14+) counts every session; the setup pool's and the
// ceiling's, known from their pools, are taken out.
func (r *runner) connectionsSince(ctx context.Context, mark sessionMark, ceilingNew int64) (Connections, error) {
	// A backend counts its session in the statistics at the latest when it
	// exits: wait for the server's and the ceiling's to be gone.
	for deadline := time.Now().Add(10 * time.Second); ; {
		var n int
		err := r.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND application_name IN ($1, $2)`, appServer, appCeiling).Scan(&n)
		if err != nil {
			return Connections{}, err
		}
		if n == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	now, err := r.markSessions(ctx)
	if err != nil {
		return Connections{}, err
	}
	return Connections{
		Server:  now.sessions - mark.sessions - (now.setupNew - mark.setupNew) - ceilingNew,
		Ceiling: ceilingNew,
	}, nil
}
