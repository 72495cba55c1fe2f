package cli

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v3"

	"github.com/tenantctl/tenantctl/cluster"
)

// The commands that operate a Citus cluster: cluster status, cluster
// rebalance and tenant move. On plain PostgreSQL each says Citus is not
// there (cluster.ErrNotCitus) and does nothing else.

func clusterCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:   "cluster",
		Usage:  "operate a Citus cluster: where the tenants are, rebalancing",
		Action: groupAction,
		Commands: []*ucli.Command{
			{
				Name:  "status",
				Usage: "the nodes with their tenants and bytes, and the largest and busiest tenants",
				Description: "Busiest comes from citus_stat_tenants, which counts nothing unless\n" +
					"citus.stat_tenants_track = 'all' (ALTER SYSTEM, on every node).",
				Flags: []ucli.Flag{
					&ucli.BoolFlag{Name: "json", Usage: "print a JSON object"},
					&ucli.IntFlag{Name: "top", Usage: "how many largest and busiest tenants to show", Value: 10},
				},
				Action: action(inv.clusterStatus),
			},
			{
				Name:  "rebalance",
				Usage: "spread the tenants over the workers (citus_rebalance_start) and watch until done",
				Description: "The rebalance is a background job of the coordinator: it goes on if this\n" +
					"command is interrupted or started with --no-wait. --status shows the latest\n" +
					"rebalance once, --watch follows a running one until it ends, --stop cancels it.",
				Flags: []ucli.Flag{
					&ucli.BoolFlag{Name: "no-wait", Usage: "start the rebalance and return at once"},
					&ucli.BoolFlag{Name: "status", Usage: "show the latest rebalance and exit"},
					&ucli.BoolFlag{Name: "watch", Usage: "follow the running rebalance until it ends, starting none"},
					&ucli.BoolFlag{Name: "stop", Usage: "cancel the running rebalance"},
					&ucli.BoolFlag{Name: "block-writes", Usage: "move with shard_transfer_mode 'block_writes' (where logical replication is off)"},
					&ucli.DurationFlag{Name: "interval", Usage: "how often progress is checked", Value: 2 * time.Second},
				},
				Action: action(inv.clusterRebalance),
			},
		},
	}
}

func tenantMoveCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:  "move",
		Usage: "move a tenant's schema to another node of the Citus cluster (citus_schema_move)",
		Description: "Online by default: the tenant's tables are copied over logical replication\n" +
			"while it keeps serving, and writes pause only for the switch-over. Where\n" +
			"logical replication is off (wal_level below logical), --block-writes makes\n" +
			"writes to the tenant wait for the whole copy instead.",
		Flags: []ucli.Flag{
			schemaFlag(),
			&ucli.StringFlag{Name: "node", Usage: "the target node as host:port, as registered in the cluster", Required: true},
			&ucli.BoolFlag{Name: "block-writes", Usage: "use shard_transfer_mode 'block_writes'"},
		},
		Action: action(inv.tenantMove),
	}
}

// clusterStatusJSON is cluster status --json.
type clusterStatusJSON struct {
	Nodes     []clusterNodeJSON     `json:"nodes"`
	Largest   []clusterTenantJSON   `json:"largest"`
	Busiest   []clusterBusyJSON     `json:"busiest"`
	Track     string                `json:"stat_tenants_track"`
	Unplaced  int                   `json:"unplaced_tenants"`
	Rebalance *clusterRebalanceJSON `json:"rebalance"`
}

type clusterNodeJSON struct {
	Host        string `json:"host"`
	Port        int    `json:"port"`
	Role        string `json:"role"`
	Tenants     int    `json:"tenants"`
	Bytes       int64  `json:"bytes"`
	Active      bool   `json:"active"`
	TakesShards bool   `json:"should_have_shards"`
}

type clusterTenantJSON struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	Node   string `json:"node"`
	Bytes  int64  `json:"bytes"`
}

type clusterBusyJSON struct {
	Schema            string  `json:"schema"`
	Node              string  `json:"node"`
	QueriesThisPeriod int64   `json:"queries_this_period"`
	QueriesLastPeriod int64   `json:"queries_last_period"`
	CPUThisPeriod     float64 `json:"cpu_seconds_this_period"`
	CPULastPeriod     float64 `json:"cpu_seconds_last_period"`
}

type clusterRebalanceJSON struct {
	JobID      int64          `json:"job_id"`
	State      string         `json:"state"`
	StartedAt  *time.Time     `json:"started_at"`
	FinishedAt *time.Time     `json:"finished_at"`
	Tasks      map[string]int `json:"tasks"`
}

func (inv *invocation) clusterStatus(ctx context.Context, cmd *ucli.Command) error {
	top := cmd.Int("top")
	if top < 1 {
		return usageErrorf("--top must be at least 1")
	}
	if err := inv.open(ctx); err != nil {
		return err
	}
	st, err := cluster.GetStatus(ctx, inv.pool, top)
	if err != nil {
		return err
	}
	reb, hasReb, err := cluster.LatestRebalance(ctx, inv.pool)
	if err != nil {
		return err
	}
	if cmd.Bool("json") {
		out := clusterStatusJSON{Nodes: []clusterNodeJSON{}, Largest: []clusterTenantJSON{}, Busiest: []clusterBusyJSON{},
			Track: st.StatTenantsTrack, Unplaced: st.Unplaced}
		for _, n := range st.Nodes {
			out.Nodes = append(out.Nodes, clusterNodeJSON{Host: n.Host, Port: n.Port, Role: n.Role, Tenants: n.Tenants,
				Bytes: n.Bytes, Active: n.Active, TakesShards: n.TakesShards})
		}
		for _, t := range st.Largest {
			out.Largest = append(out.Largest, clusterTenantJSON{Schema: t.Schema, Name: t.Name, Node: t.Node, Bytes: t.Bytes})
		}
		for _, b := range st.Busiest {
			out.Busiest = append(out.Busiest, clusterBusyJSON(b))
		}
		if hasReb {
			out.Rebalance = &clusterRebalanceJSON{JobID: reb.JobID, State: reb.State, StartedAt: reb.StartedAt,
				FinishedAt: reb.FinishedAt, Tasks: reb.Tasks}
		}
		return writeJSON(inv.out(), out)
	}

	w := inv.out()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tROLE\tTENANTS\tSIZE\tSTATE")
	for _, n := range st.Nodes {
		state := "active"
		switch {
		case !n.Active:
			state = "inactive"
		case !n.TakesShards:
			state = "active, takes no tenants"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", n.Addr(), n.Role, n.Tenants, bytesText(n.Bytes), state)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if st.Unplaced > 0 {
		fmt.Fprintf(w, "%d tenant(s) on no node (not distributed, or still being created)\n", st.Unplaced)
	}
	fmt.Fprintln(w, "\nLargest tenants:")
	if len(st.Largest) == 0 {
		fmt.Fprintln(w, "  none")
	} else {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  SCHEMA\tNAME\tNODE\tSIZE")
		for _, t := range st.Largest {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", t.Schema, t.Name, t.Node, bytesText(t.Bytes))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w, "\nBusiest tenants (citus_stat_tenants):")
	switch {
	case st.StatTenantsTrack == "none":
		fmt.Fprintln(w, "  not tracked: set citus.stat_tenants_track = 'all' on every node to see them")
	case len(st.Busiest) == 0:
		fmt.Fprintln(w, "  no queries counted yet")
	default:
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  SCHEMA\tNODE\tQUERIES (THIS/LAST PERIOD)\tCPU s (THIS/LAST)")
		for _, b := range st.Busiest {
			fmt.Fprintf(tw, "  %s\t%s\t%d / %d\t%.3f / %.3f\n", b.Schema, b.Node, b.QueriesThisPeriod, b.QueriesLastPeriod,
				b.CPUThisPeriod, b.CPULastPeriod)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if hasReb {
		fmt.Fprintln(w, "\nLatest "+reb.Progress())
	}
	return nil
}

// bytesText is n bytes for people: 0 B, 512 B, 1.5 KiB, 23.0 MiB.
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func (inv *invocation) clusterRebalance(ctx context.Context, cmd *ucli.Command) error {
	var modes []string
	for _, f := range []string{"no-wait", "status", "watch", "stop"} {
		if cmd.Bool(f) {
			modes = append(modes, "--"+f)
		}
	}
	if len(modes) > 1 {
		return usageErrorf("%s and %s cannot be used together", modes[0], modes[1])
	}
	if cmd.Bool("block-writes") && (cmd.Bool("status") || cmd.Bool("watch") || cmd.Bool("stop")) {
		return usageErrorf("--block-writes is for starting a rebalance")
	}
	interval := cmd.Duration("interval")
	if interval <= 0 {
		return usageErrorf("--interval must be positive")
	}
	if err := inv.open(ctx); err != nil {
		return err
	}
	w := inv.out()
	switch {
	case cmd.Bool("status"):
		r, ok, err := cluster.LatestRebalance(ctx, inv.pool)
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(w, "no rebalance has run")
			return nil
		}
		fmt.Fprintln(w, r.Progress())
		return nil
	case cmd.Bool("stop"):
		r, err := cluster.StopRebalance(ctx, inv.pool)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "stopping rebalance job %d: %s (moves done stay done)\n", r.JobID, r.State)
		return nil
	case cmd.Bool("watch"):
		r, ok, err := cluster.LatestRebalance(ctx, inv.pool)
		if err != nil {
			return err
		}
		if !ok || r.Done() {
			return cluster.ErrNoRebalance
		}
		return inv.watchRebalance(ctx, interval)
	}
	r, started, err := cluster.StartRebalance(ctx, inv.pool, cmd.Bool("block-writes"))
	if err != nil {
		return err
	}
	if !started {
		fmt.Fprintln(w, "the tenants are balanced: nothing to move")
		return nil
	}
	if cmd.Bool("no-wait") {
		fmt.Fprintf(w, "started rebalance job %d; follow it with: tenantctl cluster rebalance --watch\n", r.JobID)
		return nil
	}
	fmt.Fprintf(w, "started rebalance job %d\n", r.JobID)
	return inv.watchRebalance(ctx, interval)
}

// watchRebalance prints a progress line whenever the running rebalance
// changes, until it ends; a job that did not finish is an error.
func (inv *invocation) watchRebalance(ctx context.Context, interval time.Duration) error {
	last := ""
	r, err := cluster.WatchRebalance(ctx, inv.pool, interval, func(r cluster.Rebalance) {
		if line := r.Progress(); line != last {
			fmt.Fprintln(inv.out(), line)
			last = line
		}
	})
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted: the rebalance goes on in the background (tenantctl cluster rebalance --watch, or --stop)")
	}
	if err != nil {
		return err
	}
	if r.State != "finished" {
		return fmt.Errorf("rebalance job %d ended %s", r.JobID, r.State)
	}
	return nil
}

func (inv *invocation) tenantMove(ctx context.Context, cmd *ucli.Command) error {
	schema := cmd.String("schema")
	if err := checkSchema(schema); err != nil {
		return err
	}
	if _, _, err := cluster.ParseAddr(cmd.String("node")); err != nil {
		return fmt.Errorf("--node: %w", err)
	}
	if err := inv.open(ctx); err != nil {
		return err
	}
	start := time.Now()
	from, to, err := cluster.Move(ctx, inv.pool, cluster.MoveParams{Schema: schema, Node: cmd.String("node"),
		BlockWrites: cmd.Bool("block-writes")})
	if errors.Is(err, cluster.ErrUnknownTenant) {
		return notFoundError{kind: "tenant", name: schema}
	}
	if errors.Is(err, cluster.ErrNotPlaced) {
		return fmt.Errorf("tenant %s: %w", schema, err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(inv.out(), "moved tenant %s from %s to %s in %s\n", schema, from.Addr(), to.Addr(),
		time.Since(start).Round(time.Millisecond))
	return nil
}
