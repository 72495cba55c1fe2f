package cli_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/dbtest"
)

const notCitus = "Citus is not installed in this database: cluster commands need a Citus coordinator"

// TestClusterWithoutCitus: on plain PostgreSQL every cluster command says
// that Citus is not there, in one line with exit status 1, and changes
// nothing.
func TestClusterWithoutCitus(t *testing.T) {
	if len(dbtest.CitusWorkers()) > 0 {
		t.Skip("on Citus")
	}
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	a.ok("tenant", "create", "--schema", "acme", "--name", "ACME", "--domain", "acme.example.com",
		"--admin-username", "boss", "--admin-password", "Correct-horse-7")
	for _, args := range [][]string{
		{"cluster", "status"},
		{"cluster", "status", "--json"},
		{"cluster", "rebalance"},
		{"cluster", "rebalance", "--no-wait"},
		{"cluster", "rebalance", "--status"},
		{"cluster", "rebalance", "--stop"},
		{"tenant", "move", "--schema", "acme", "--node", "10.0.0.2:5432"},
		{"tenant", "move", "--schema", "acme", "--node", "10.0.0.2:5432", "--block-writes"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := a.run(args...)
			wantErr(t, r, 1, notCitus)
			assert.Equal(t, notCitus, r.err.Error())
			assert.Empty(t, r.stdout)
		})
	}
	assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM acme.users WHERE username = 'boss'"))
}

// TestClusterUsage: flags are checked before anything connects.
func TestClusterUsage(t *testing.T) {
	t.Parallel()
	a := newApp(t, &dbtest.DB{URL: "postgres://nobody@127.0.0.1:1/none?connect_timeout=1"})
	a.env = map[string]string{"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none?connect_timeout=1"}
	wantErr(t, a.run("cluster", "rebalance", "--stop", "--no-wait"), 2, "--no-wait and --stop cannot be used together")
	wantErr(t, a.run("cluster", "rebalance", "--status", "--block-writes"), 2, "--block-writes is for starting a rebalance")
	wantErr(t, a.run("cluster", "status", "--top", "0"), 2, "--top must be at least 1")
	wantErr(t, a.run("tenant", "move", "--schema", "acme"), 2, "missing required flag --node")
	wantErr(t, a.run("tenant", "move", "--schema", "Bad-Name", "--node", "h:1"), 1, "schema_name")
	wantErr(t, a.run("tenant", "move", "--schema", "acme", "--node", "nohost"), 1,
		`--node: "nohost" is not a node's host:port (such as 10.0.0.2:5432)`)
	wantErr(t, a.run("tenant", "move", "--schema", "acme", "--node", "h:99999"), 1, "is not a node's host:port")
}

// clusterStatus is the part of cluster status --json the tests read.
type clusterStatus struct {
	Nodes []struct {
		Host    string `json:"host"`
		Port    int    `json:"port"`
		Role    string `json:"role"`
		Tenants int    `json:"tenants"`
		Bytes   int64  `json:"bytes"`
	} `json:"nodes"`
	Largest []struct {
		Schema string `json:"schema"`
		Node   string `json:"node"`
		Bytes  int64  `json:"bytes"`
	} `json:"largest"`
	Busiest   []json.RawMessage `json:"busiest"`
	Rebalance *struct {
		JobID int64  `json:"job_id"`
		State string `json:"state"`
	} `json:"rebalance"`
}

// nodeOf returns the "host:port" holding schema's shards, from citus_shards.
func nodeOf(t *testing.T, d *dbtest.DB, schema string) string {
	t.Helper()
	var host string
	var port, nodes int
	require.NoError(t, d.Pool.QueryRow(t.Context(), `SELECT min(nodename), min(nodeport), count(DISTINCT (nodename, nodeport))
		FROM citus_shards WHERE citus_table_type = 'schema' AND split_part(table_name::text, '.', 1) = $1`, schema).
		Scan(&host, &port, &nodes))
	require.Equal(t, 1, nodes, "%s lives whole on one node", schema)
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// TestClusterOnCitus runs on a Citus cluster only (go tool task
// test:citus): status against citus_shards, moving a tenant (and the
// refused moves), rebalancing with its progress, and stopping a rebalance.
func TestClusterOnCitus(t *testing.T) {
	workers := dbtest.CitusWorkers()
	if len(workers) < 2 {
		t.Skip("not on a Citus cluster with two workers (TEST_CITUS_WORKERS)")
	}
	dbtest.LockCitusMoves(t)
	d := dbtest.New(t)
	a := newApp(t, d)
	var schemas []string
	for i := range 6 {
		s := fmt.Sprintf("t%d", i)
		schemas = append(schemas, s)
		a.ok("tenant", "create", "--schema", s, "--name", "Tenant "+s, "--domain", s+".example.com",
			"--admin-username", "boss", "--admin-password", "Correct-horse-7")
	}
	// t0 is the largest.
	for i := range 3 {
		a.ok("user", "create", "--schema", "t0", "--username", fmt.Sprintf("user%d", i), "--password", "Correct-horse-7")
	}
	_, err := d.Pool.Exec(t.Context(), `INSERT INTO t0.items (name, description) SELECT 'item ' || i, repeat('x', 2000)
		FROM generate_series(1, 500) i`)
	require.NoError(t, err)

	status := func() clusterStatus {
		t.Helper()
		var st clusterStatus
		require.NoError(t, json.Unmarshal([]byte(a.ok("cluster", "status", "--json").stdout), &st))
		return st
	}
	// expected is what citus_shards says: tenants and bytes by node.
	type placed struct {
		Tenants int
		Bytes   int64
	}
	expected := func() map[string]placed {
		rows, err := d.Pool.Query(t.Context(), `SELECT nodename || ':' || nodeport, count(DISTINCT split_part(table_name::text, '.', 1)),
			coalesce(sum(shard_size), 0)::bigint FROM citus_shards
			WHERE citus_table_type = 'schema' AND split_part(table_name::text, '.', 1) = ANY ($1) GROUP BY 1`, schemas)
		require.NoError(t, err)
		out := map[string]placed{}
		for rows.Next() {
			var addr string
			var p placed
			require.NoError(t, rows.Scan(&addr, &p.Tenants, &p.Bytes))
			out[addr] = p
		}
		require.NoError(t, rows.Err())
		return out
	}
	byNode := func(st clusterStatus) map[string]placed {
		out := map[string]placed{}
		for _, n := range st.Nodes {
			if n.Tenants > 0 {
				out[net.JoinHostPort(n.Host, strconv.Itoa(n.Port))] = placed{n.Tenants, n.Bytes}
			}
		}
		return out
	}

	t.Run("Status", func(t *testing.T) {
		// Sizes can move a little as autovacuum adds maps to fresh tables:
		// the status must match citus_shards read right before or after.
		before := expected()
		st := status()
		after := expected()
		got := byNode(st)
		if !assert.ObjectsAreEqual(before, got) {
			assert.Equal(t, after, got, "tenants and bytes by node, as citus_shards has them")
		}
		require.Len(t, st.Nodes, 1+len(workers))
		assert.Equal(t, "coordinator", st.Nodes[0].Role)
		assert.Zero(t, st.Nodes[0].Tenants)
		for i, w := range workers {
			n := st.Nodes[i+1]
			assert.Equal(t, "worker", n.Role)
			assert.Equal(t, w, net.JoinHostPort(n.Host, strconv.Itoa(n.Port)))
		}
		total := 0
		for _, n := range st.Nodes {
			total += n.Tenants
		}
		assert.Equal(t, len(schemas), total)
		require.Len(t, st.Largest, len(schemas))
		assert.Equal(t, "t0", st.Largest[0].Schema, "t0 is the largest")
		assert.Equal(t, nodeOf(t, d, "t0"), st.Largest[0].Node)
		assert.Greater(t, st.Largest[0].Bytes, st.Largest[1].Bytes)
		assert.NotNil(t, st.Busiest)

		text := a.ok("cluster", "status", "--top", "2").stdout
		for _, w := range workers {
			assert.Contains(t, text, w)
		}
		assert.Contains(t, text, "coordinator")
		assert.Contains(t, text, "Largest tenants:")
		assert.Contains(t, text, "t0 ")
		assert.Contains(t, text, "Busiest tenants")
		t.Log("\n" + text)
	})

	t.Run("Busiest", func(t *testing.T) {
		// citus_stat_tenants counts only where citus.stat_tenants_track
		// is 'all': turn it on for this database on every node.
		u, err := url.Parse(d.URL)
		require.NoError(t, err)
		for _, node := range append([]string{u.Host}, workers...) {
			nu := *u
			nu.Host = node
			c, err := pgx.Connect(t.Context(), nu.String())
			require.NoError(t, err)
			_, err = c.Exec(t.Context(), "ALTER DATABASE "+pgx.Identifier{strings.TrimPrefix(u.Path, "/")}.Sanitize()+
				" SET citus.stat_tenants_track = 'all'")
			c.Close(t.Context())
			require.NoError(t, err)
		}
		for range 5 {
			a.ok("user", "list", "--schema", "t3")
		}
		st := status()
		require.NotEmpty(t, st.Busiest, "busiest tenants")
		var first struct {
			Schema  string `json:"schema"`
			Node    string `json:"node"`
			Queries int64  `json:"queries_this_period"`
			Last    int64  `json:"queries_last_period"`
		}
		require.NoError(t, json.Unmarshal(st.Busiest[0], &first))
		assert.Equal(t, "t3", first.Schema)
		assert.Equal(t, nodeOf(t, d, "t3"), first.Node)
		assert.Positive(t, first.Queries+first.Last)
		assert.Contains(t, a.ok("cluster", "status").stdout, "t3 ")
	})

	other := func(addr string) string {
		if addr == workers[0] {
			return workers[1]
		}
		return workers[0]
	}
	t.Run("Move", func(t *testing.T) {
		from := nodeOf(t, d, "t0")
		to := other(from)
		r := a.ok("tenant", "move", "--schema", "t0", "--node", to)
		assert.Contains(t, r.stdout, "moved tenant t0 from "+from+" to "+to)
		t.Log(r.stdout)
		assert.Equal(t, to, nodeOf(t, d, "t0"))
		// Its data came along and is read through the app.
		users := a.ok("user", "list", "--schema", "t0", "--json").stdout
		for _, u := range []string{"boss", "user0", "user2"} {
			assert.Contains(t, users, `"username": "`+u+`"`)
		}
		assert.Equal(t, 500, count(t, d, "SELECT count(*) FROM t0.items"))

		// And back, blocking writes.
		r = a.ok("tenant", "move", "--schema", "t0", "--node", from, "--block-writes")
		assert.Contains(t, r.stdout, "moved tenant t0 from "+to+" to "+from)
		assert.Equal(t, from, nodeOf(t, d, "t0"))
		assert.Contains(t, a.ok("user", "list", "--schema", "t0").stdout, "user1")
	})

	t.Run("MoveRefused", func(t *testing.T) {
		here := nodeOf(t, d, "t1")
		// A tenant still being created, whose schema is not there yet.
		_, err := d.Pool.Exec(t.Context(), "INSERT INTO clients (schema_name, name) VALUES ('pending', 'Pending')")
		require.NoError(t, err)
		wantErr(t, a.run("tenant", "move", "--schema", "pending", "--node", here), 1,
			"the tenant's schema is on no node (not distributed, or still being created): there is nothing to move")
		u, err := url.Parse(dbtest.ServerURL())
		require.NoError(t, err)
		coordinator := u.Host
		_, err = d.Pool.Exec(t.Context(), "DELETE FROM clients WHERE schema_name = 'pending'")
		require.NoError(t, err)
		for _, c := range []struct{ name, schema, node, msg string }{
			{"ErrUnknownTenant", "ghost", other(here), `tenant "ghost" not found`},
			{"ErrUnknownNode", "t1", "127.0.0.1:1", "node 127.0.0.1:1 is not in the cluster (nodes that take tenants: " +
				strings.Join(workers, ", ") + ")"},
			{"ErrSameNode", "t1", here, "tenant t1 already lives on node " + here},
			{"ErrCoordinator", "t1", coordinator, "node " + coordinator + " does not take tenants"},
		} {
			t.Run(c.name, func(t *testing.T) {
				wantErr(t, a.run("tenant", "move", "--schema", c.schema, "--node", c.node), 1, c.msg)
				assert.Equal(t, here, nodeOf(t, d, "t1"), "nothing moved")
			})
		}
	})

	// crowd puts every tenant on the first worker.
	crowd := func() {
		t.Helper()
		for _, s := range schemas {
			if nodeOf(t, d, s) != workers[0] {
				a.ok("tenant", "move", "--schema", s, "--node", workers[0])
			}
		}
		require.Len(t, byNode(status()), 1)
	}

	t.Run("Rebalance", func(t *testing.T) {
		crowd()
		r := a.ok("cluster", "rebalance", "--interval", "200ms")
		t.Log("\n" + r.stdout)
		assert.Regexp(t, `(?m)^started rebalance job \d+$`, r.stdout)
		assert.Regexp(t, `(?m)^rebalance job \d+: running, \d+ of \d+ moves done`, r.stdout)
		assert.Regexp(t, `(?m)^rebalance job \d+: finished, (\d+) of (\d+) moves done$`, r.stdout)
		got := byNode(status())
		require.Len(t, got, 2, "both workers hold tenants again")
		assert.InDelta(t, got[workers[0]].Tenants, got[workers[1]].Tenants, 2)
		assert.Contains(t, a.ok("cluster", "rebalance", "--status").stdout, "finished")
		// Balanced now.
		assert.Contains(t, a.ok("cluster", "rebalance").stdout, "the tenants are balanced: nothing to move")
		for _, s := range schemas {
			assert.Contains(t, a.ok("user", "list", "--schema", s).stdout, "boss")
		}
	})

	t.Run("Stop", func(t *testing.T) {
		crowd()
		r := a.ok("cluster", "rebalance", "--no-wait")
		assert.Regexp(t, `^started rebalance job \d+; follow it with: tenantctl cluster rebalance --watch\n$`, r.stdout)
		wantErr(t, a.run("cluster", "rebalance"), 1, "a rebalance is already running as job")
		r = a.ok("cluster", "rebalance", "--stop")
		assert.Regexp(t, `^stopping rebalance job \d+: (cancelling|cancelled)`, r.stdout)
		require.Eventually(t, func() bool {
			return strings.Contains(a.ok("cluster", "rebalance", "--status").stdout, ": cancelled,")
		}, time.Minute, 200*time.Millisecond)
		wantErr(t, a.run("cluster", "rebalance", "--stop"), 1, "no rebalance is running")
		wantErr(t, a.run("cluster", "rebalance", "--watch"), 1, "no rebalance is running")
		var st clusterStatus
		require.NoError(t, json.Unmarshal([]byte(a.ok("cluster", "status", "--json").stdout), &st))
		require.NotNil(t, st.Rebalance)
		assert.Equal(t, "cancelled", st.Rebalance.State)
		// Every tenant is whole on one node and readable.
		for _, s := range schemas {
			nodeOf(t, d, s)
			assert.Contains(t, a.ok("user", "list", "--schema", s).stdout, "boss")
		}
	})
}
