// Package cluster operates a Citus cluster in which every tenant schema is
// a distributed schema placed whole on one node: which node holds which
// tenant and how much, moving a tenant to another node, and rebalancing.
// tenantctl (cluster status, tenant move, cluster rebalance) and the admin
// (a tenant's node, its move form and POST .../move/) both use it.
//
// Every function works on the Citus coordinator and returns ErrNotCitus on
// a database without Citus, ErrNotCoordinator on a Citus worker.
//
// The Citus queries (db/citusdb) run straight on the pool, each in an
// implicit transaction of its own: they read Citus' catalog, which lives in
// pg_catalog and is found whatever the search_path, and a move over
// logical replication must not share a transaction with another move.
// Queries of the public schema go through db.InPublicV as everywhere else.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/citusdb"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/db/tenantdb"
)

var (
	// ErrNotCitus: the database has no citus extension.
	ErrNotCitus = errors.New("Citus is not installed in this database: cluster commands need a Citus coordinator")
	// ErrNotCoordinator: the database is a Citus worker's.
	ErrNotCoordinator = errors.New("this database is not the Citus coordinator: cluster commands need the coordinator")
	// ErrUnknownTenant: no tenant has that schema.
	ErrUnknownTenant = errors.New("tenant not found")
	// ErrNotPlaced: the tenant's schema is on no node (not distributed,
	// or with no tables yet), so there is nothing to move.
	ErrNotPlaced = errors.New("the tenant's schema is on no node (not distributed, or still being created): there is nothing to move")
)

// Roles of a node.
const (
	RoleCoordinator = "coordinator"
	RoleWorker      = "worker"
)

// Node is one node of the cluster.
type Node struct {
	ID   int32
	Host string
	Port int
	// Role is RoleCoordinator (group 0) or RoleWorker.
	Role string
	// Active is false for a node disabled with citus_disable_node.
	Active bool
	// TakesShards is false for a node that new and moved shards avoid (the
	// coordinator, unless told otherwise; a node being drained).
	TakesShards bool
	// Primary is false for a secondary (a replica of its group).
	Primary bool
}

// Addr is the node as "host:port", as --node and the admin take it.
func (n Node) Addr() string { return net.JoinHostPort(n.Host, strconv.Itoa(n.Port)) }

// Check returns nil on a Citus coordinator, ErrNotCitus on a database
// without Citus and ErrNotCoordinator on a Citus worker.
func Check(ctx context.Context, pool *db.Pool) error {
	q := citusdb.New(pool)
	if _, err := q.CitusVersion(ctx); errors.Is(err, pgx.ErrNoRows) {
		return ErrNotCitus
	} else if err != nil {
		return err
	}
	coord, err := q.IsCoordinator(ctx)
	if err != nil {
		return err
	}
	if !coord {
		return ErrNotCoordinator
	}
	return nil
}

// Nodes returns the nodes of the cluster, the coordinator first.
func Nodes(ctx context.Context, pool *db.Pool) ([]Node, error) {
	if err := Check(ctx, pool); err != nil {
		return nil, err
	}
	return nodes(ctx, citusdb.New(pool))
}

func nodes(ctx context.Context, q *citusdb.Queries) ([]Node, error) {
	rows, err := q.ListNodes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Node, len(rows))
	for i, r := range rows {
		out[i] = Node{ID: r.Nodeid, Host: r.Nodename, Port: int(r.Nodeport), Role: RoleWorker, Active: r.Isactive,
			TakesShards: r.Shouldhaveshards, Primary: r.Noderole == "primary"}
		if r.Groupid == 0 {
			out[i].Role = RoleCoordinator
		}
	}
	return out, nil
}

// Placements returns the address ("host:port") of the node holding each
// distributed schema, from the metadata alone (cheap: no node is asked
// anything). A schema in the middle of a move is on its source node until
// the move completes. Schemas with no tables yet have no entry.
func Placements(ctx context.Context, pool *db.Pool) (map[string]string, error) {
	if err := Check(ctx, pool); err != nil {
		return nil, err
	}
	return placements(ctx, citusdb.New(pool), nil)
}

// TenantNode returns the node holding schema's shards, or nil when the
// schema is not distributed or has no tables.
func TenantNode(ctx context.Context, pool *db.Pool, schema string) (*Node, error) {
	if err := Check(ctx, pool); err != nil {
		return nil, err
	}
	q := citusdb.New(pool)
	where, err := placements(ctx, q, &schema)
	if err != nil {
		return nil, err
	}
	addr, ok := where[schema]
	if !ok {
		return nil, nil
	}
	all, err := nodes(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, n := range all {
		if n.Addr() == addr {
			return &n, nil
		}
	}
	return nil, nil
}

func placements(ctx context.Context, q *citusdb.Queries, schema *string) (map[string]string, error) {
	rows, err := q.SchemaNodes(ctx, schema)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		// During a move both nodes hold placements; the lower node id is
		// as good a tie-break as any until the source's are dropped.
		if _, seen := out[r.SchemaName]; !seen {
			out[r.SchemaName] = Node{Host: r.Nodename, Port: int(r.Nodeport)}.Addr()
		}
	}
	return out, nil
}

// NodeError is a node named for a move that cannot take the tenant. The
// CLI prints it as one line; the admin API renders it as {"node": [...]}.
type NodeError struct {
	Message string
}

func (e *NodeError) Error() string { return e.Message }

// ParseAddr checks a node's "host:port".
func ParseAddr(s string) (host string, port int, err error) {
	h, p, err := net.SplitHostPort(strings.TrimSpace(s))
	if err == nil && h != "" {
		port, err = strconv.Atoi(p)
		if err == nil && port > 0 && port < 65536 {
			return h, port, nil
		}
	}
	return "", 0, &NodeError{Message: fmt.Sprintf("%q is not a node's host:port (such as 10.0.0.2:5432)", s)}
}

// MoveParams say which tenant goes where.
type MoveParams struct {
	Schema string
	// Node is the target's "host:port" as registered in the cluster.
	Node string
	// BlockWrites moves with shard_transfer_mode 'block_writes' (writes to
	// the tenant wait during the copy) instead of the online move over
	// logical replication, which needs wal_level = logical.
	BlockWrites bool
}

// Move moves a tenant's schema, all its tables at once, to another node
// with citus_schema_move, and returns the source and target nodes. The
// checks come first, so a refused move changes nothing: ErrUnknownTenant
// for a schema no tenant has; a *NodeError for a node that is not in the
// cluster, cannot take shards, or already holds the tenant; ErrNotPlaced
// for a tenant on no node; and ErrNotCitus or ErrNotCoordinator.
func Move(ctx context.Context, pool *db.Pool, p MoveParams) (from, to Node, err error) {
	if err := Check(ctx, pool); err != nil {
		return from, to, err
	}
	if _, err := db.ParseSchema(p.Schema); err != nil {
		return from, to, ErrUnknownTenant
	}
	c, err := db.InPublicV(ctx, pool, func(q *publicdb.Queries) (publicdb.Client, error) {
		return q.GetClientBySchema(ctx, p.Schema)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return from, to, ErrUnknownTenant
	} else if err != nil {
		return from, to, err
	}
	host, port, err := ParseAddr(p.Node)
	if err != nil {
		return from, to, err
	}
	q := citusdb.New(pool)
	all, err := nodes(ctx, q)
	if err != nil {
		return from, to, err
	}
	var found bool
	var workers []string
	for _, n := range all {
		if n.Primary && n.TakesShards && n.Active {
			workers = append(workers, n.Addr())
		}
		if n.Host == host && n.Port == port {
			to, found = n, true
		}
	}
	target := Node{Host: host, Port: port}.Addr()
	switch {
	case !found:
		return from, to, &NodeError{Message: fmt.Sprintf("node %s is not in the cluster (nodes that take tenants: %s)",
			target, listOr(workers))}
	case !to.Primary || !to.Active || !to.TakesShards:
		return from, to, &NodeError{Message: fmt.Sprintf("node %s does not take tenants (nodes that do: %s)",
			target, listOr(workers))}
	}
	where, err := placements(ctx, q, &p.Schema)
	if err != nil {
		return from, to, err
	}
	addr, placed := where[p.Schema]
	if !placed {
		return from, to, ErrNotPlaced
	}
	for _, n := range all {
		if n.Addr() == addr {
			from = n
		}
	}
	if addr == target {
		return from, to, &NodeError{Message: fmt.Sprintf("tenant %s already lives on node %s", p.Schema, target)}
	}
	mode := citusdb.CitusShardTransferModeAuto
	if p.BlockWrites {
		mode = citusdb.CitusShardTransferModeBlockWrites
	}
	err = q.MoveSchema(ctx, citusdb.MoveSchemaParams{SchemaName: p.Schema, NodeName: to.Host, NodePort: int32(to.Port), Mode: mode})
	if err != nil && !p.BlockWrites && strings.Contains(err.Error(), "logical") {
		err = fmt.Errorf("%w (where logical replication is off, move with --block-writes)", err)
	}
	if err != nil {
		return from, to, err
	}
	return from, to, recordMove(ctx, pool, c, from, to)
}

// recordMove records a tenant's move in its audit log, by ctx's actor (the
// admin's superuser, or tenantctl). citus_schema_move commits on its own
// (it copies the schema's shards, over logical replication unless writes
// are blocked), so the entry is written right after it, in a transaction
// of its own: a failure to record leaves the tenant moved, and says so.
func recordMove(ctx context.Context, pool *db.Pool, c publicdb.Client, from, to Node) error {
	schema, err := db.ParseSchema(c.SchemaName)
	if err != nil {
		return err
	}
	err = db.InTenant(ctx, pool, schema, func(q *tenantdb.Queries) error {
		return audit.Record(ctx, q, schema, audit.Entry{
			Action: audit.TenantMoved, Actor: audit.OperatorFrom(ctx), Target: audit.Of("tenant", c.ID),
			Before: map[string]any{"node": from.Addr()}, After: map[string]any{"node": to.Addr()},
		})
	})
	if err != nil {
		return fmt.Errorf("tenant %s moved to %s, but recording it in its audit log failed: %w", c.SchemaName, to.Addr(), err)
	}
	return nil
}

// listOr joins names with commas, or says there are none.
func listOr(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
