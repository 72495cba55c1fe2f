package cluster

import (
	"cmp"
	"context"
	"slices"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/citusdb"
	"github.com/tenantctl/tenantctl/db/publicdb"
)

// NodeStatus is a node with the tenants placed on it.
type NodeStatus struct {
	Node
	// Tenants counts the tenants whose schema is placed on the node.
	Tenants int
	// Bytes is the size of those schemas' shards there.
	Bytes int64
}

// TenantSize is one tenant's placement and size.
type TenantSize struct {
	Schema string
	Name   string
	Node   string // "host:port"
	Bytes  int64
}

// TenantActivity is one tenant's load as citus_stat_tenants counts it: in
// the current period (citus.stat_tenants_period, 60 s by default) and the
// one before.
type TenantActivity struct {
	Schema            string
	Node              string
	QueriesThisPeriod int64
	QueriesLastPeriod int64
	CPUThisPeriod     float64 // seconds
	CPULastPeriod     float64
}

// Status is the cluster at a glance.
type Status struct {
	Nodes []NodeStatus
	// Largest are the largest tenants, largest first.
	Largest []TenantSize
	// Busiest are the tenants with the most queries, busiest first; empty
	// unless StatTenantsTrack is "all".
	Busiest []TenantActivity
	// StatTenantsTrack is citus.stat_tenants_track ("none" or "all").
	StatTenantsTrack string
	// Unplaced counts tenants whose schema is on no node (not
	// distributed, or with no tables yet).
	Unplaced int
}

// GetStatus returns every node with the tenants and bytes placed on it,
// and the top largest and busiest tenants. It asks every node for the
// sizes of its shards (through citus_shards), so it is for operators, not
// for every request.
func GetStatus(ctx context.Context, pool *db.Pool, top int) (Status, error) {
	var st Status
	if err := Check(ctx, pool); err != nil {
		return st, err
	}
	q := citusdb.New(pool)
	all, err := nodes(ctx, q)
	if err != nil {
		return st, err
	}
	clients, err := db.InPublicV(ctx, pool, func(q *publicdb.Queries) ([]publicdb.ListClientsRow, error) {
		return q.ListClients(ctx)
	})
	if err != nil {
		return st, err
	}
	names := make(map[string]string, len(clients))
	for _, c := range clients {
		names[c.SchemaName] = c.Name
	}
	sizes, err := q.SchemaSizes(ctx)
	if err != nil {
		return st, err
	}
	byAddr := map[string]*NodeStatus{}
	st.Nodes = make([]NodeStatus, len(all))
	for i, n := range all {
		st.Nodes[i] = NodeStatus{Node: n}
		byAddr[n.Addr()] = &st.Nodes[i]
	}
	placed := map[string]bool{}
	var tenants []TenantSize
	for _, s := range sizes {
		name, ok := names[s.SchemaName]
		if !ok {
			continue // a distributed schema that is no tenant's
		}
		addr := Node{Host: s.Nodename, Port: int(s.Nodeport)}.Addr()
		if ns := byAddr[addr]; ns != nil {
			ns.Tenants++
			ns.Bytes += s.Bytes
		}
		if !placed[s.SchemaName] {
			// Mid-move, a schema is on two nodes; it is listed once.
			tenants = append(tenants, TenantSize{Schema: s.SchemaName, Name: name, Node: addr, Bytes: s.Bytes})
		}
		placed[s.SchemaName] = true
	}
	st.Unplaced = len(names) - len(placed)
	slices.SortStableFunc(tenants, func(a, b TenantSize) int {
		return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(a.Schema, b.Schema))
	})
	st.Largest = tenants[:min(top, len(tenants))]
	if st.Largest == nil {
		st.Largest = []TenantSize{}
	}

	if st.StatTenantsTrack, err = q.StatTenantsTrack(ctx); err != nil {
		return st, err
	}
	st.Busiest = []TenantActivity{}
	if st.StatTenantsTrack == "none" {
		return st, nil
	}
	busy, err := q.BusiestSchemas(ctx, int32(top))
	if err != nil {
		return st, err
	}
	where := map[string]string{}
	for _, t := range tenants {
		where[t.Schema] = t.Node
	}
	for _, b := range busy {
		if _, ok := names[b.SchemaName]; !ok {
			continue
		}
		st.Busiest = append(st.Busiest, TenantActivity{Schema: b.SchemaName, Node: where[b.SchemaName],
			QueriesThisPeriod: b.QueriesThisPeriod, QueriesLastPeriod: b.QueriesLastPeriod,
			CPUThisPeriod: b.CpuThisPeriod, CPULastPeriod: b.CpuLastPeriod})
	}
	return st, nil
}
