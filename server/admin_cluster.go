package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/tenantctl/tenantctl/cluster"
	"github.com/tenantctl/tenantctl/provision"
)

// The admin's view of a Citus cluster: the node a tenant lives on (in its
// JSON and on its page) and moving it to another node (POST
// /api/admin/tenants/{schema}/move/ and the move form of its page). On
// plain PostgreSQL none of it shows, and a move is refused with 409.

// errNoCluster answers a move where there is no Citus cluster to move in,
// or nothing to move.
func errNoCluster(err error) *apiError {
	return errDetail(http.StatusConflict, sentence(err.Error())+".")
}

// onCitus turns the errors of a database without Citus, or of a Citus
// worker, into "not on a cluster" (false, nil).
func onCitus(err error) (bool, error) {
	if errors.Is(err, cluster.ErrNotCitus) || errors.Is(err, cluster.ErrNotCoordinator) {
		return false, nil
	}
	return err == nil, err
}

// tenantNodes returns the node ("host:port") of every placed tenant schema
// on Citus, and nil on plain PostgreSQL.
func (s *Server) tenantNodes(ctx context.Context) (map[string]string, error) {
	m, err := cluster.Placements(ctx, s.pool)
	if ok, err := onCitus(err); !ok {
		return nil, err
	}
	return m, nil
}

// tenantNode returns the node schema lives on; nil on plain PostgreSQL and
// for a schema not (yet) placed on a node.
func (s *Server) tenantNode(ctx context.Context, schema string) (*cluster.Node, error) {
	n, err := cluster.TenantNode(ctx, s.pool, schema)
	if ok, err := onCitus(err); !ok {
		return nil, err
	}
	return n, nil
}

// writeTenant answers with t's JSON, with its node on Citus.
func (s *Server) writeTenant(w http.ResponseWriter, r *http.Request, status int, t provision.Tenant) error {
	out := newAdminTenantJSON(t)
	n, err := s.tenantNode(r.Context(), t.Schema)
	if err != nil {
		return err
	}
	if n != nil {
		addr := n.Addr()
		out.Node = &addr
	}
	writeJSON(w, status, out)
	return nil
}

// moveErr maps the refusals of cluster.Move to their answers: no cluster,
// or a tenant on no node, is 409, an unknown tenant 404, a node that cannot take the tenant a field
// error of "node".
func moveErr(err error) error {
	var ne *cluster.NodeError
	switch {
	case errors.Is(err, cluster.ErrNotCitus), errors.Is(err, cluster.ErrNotCoordinator), errors.Is(err, cluster.ErrNotPlaced):
		return errNoCluster(err)
	case errors.Is(err, cluster.ErrUnknownTenant):
		return errNotFound
	case errors.As(err, &ne):
		return fieldErrors{"node": {sentence(ne.Message) + "."}}.err()
	}
	return err
}

// move runs a move that the client's going away does not interrupt: a
// schema move cancelled half-way only wastes the copy made so far.
func (s *Server) move(ctx context.Context, p cluster.MoveParams) (from, to cluster.Node, err error) {
	return cluster.Move(context.WithoutCancel(ctx), s.pool, p)
}

// adminMoveTenant answers POST /api/admin/tenants/{schema}/move/
// {"node": "host:port", "block_writes": false}: the tenant's schema moves
// to that node (citus_schema_move), and the answer is the tenant's JSON
// with its new node.
func (s *Server) adminMoveTenant(w http.ResponseWriter, r *http.Request) error {
	schema, err := pathSchema(r)
	if err != nil {
		return err
	}
	body, err := decodeObject(r, true)
	if err != nil {
		return err
	}
	fe := fieldErrors{}
	node, _ := requiredString(fe, body, "node", 0)
	block, _ := optionalBool(fe, body, "block_writes", false)
	if err := fe.err(); err != nil {
		return err
	}
	if _, _, err := s.move(r.Context(), cluster.MoveParams{Schema: schema, Node: node, BlockWrites: block}); err != nil {
		return moveErr(err)
	}
	t, err := s.prov.DescribeTenant(r.Context(), schema)
	if err != nil {
		return err
	}
	return s.writeTenant(w, r, http.StatusOK, t)
}

// tenantCluster is the node part of a tenant's admin page, on Citus only.
type tenantCluster struct {
	// Node is where the tenant lives ("host:port"), "" when not placed.
	Node string
	// Targets are the other nodes that take tenants.
	Targets []string
	Form    form
}

// tenantClusterView returns the node part of schema's page, nil on plain
// PostgreSQL.
func (s *Server) tenantClusterView(ctx context.Context, schema string) (*tenantCluster, error) {
	nodes, err := cluster.Nodes(ctx, s.pool)
	if ok, err := onCitus(err); !ok {
		return nil, err
	}
	here, err := s.tenantNode(ctx, schema)
	if err != nil {
		return nil, err
	}
	c := &tenantCluster{Form: emptyForm()}
	if here != nil {
		c.Node = here.Addr()
	}
	for _, n := range nodes {
		if n.Primary && n.Active && n.TakesShards && n.Addr() != c.Node {
			c.Targets = append(c.Targets, n.Addr())
		}
	}
	return c, nil
}

// adminMoveTenantUI moves a tenant to the node chosen in its page's move
// form: POST /admin/tenants/{schema}/move/.
func (s *Server) adminMoveTenantUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	schema, err := pathSchema(r)
	if err != nil {
		return err
	}
	f := formOf(r, "node", "block_writes")
	f.require("node")
	if len(f.Errors) == 0 {
		from, to, err := s.move(r.Context(), cluster.MoveParams{Schema: schema, Node: f.Values["node"],
			BlockWrites: f.Values["block_writes"] != ""})
		var ne *cluster.NodeError
		switch {
		case err == nil:
			return s.redirect(w, r, sess, tenantURL(schema)+"#node",
				fmt.Sprintf("Moved tenant %s from %s to %s.", schema, from.Addr(), to.Addr()))
		case errors.As(err, &ne):
			f.Errors["node"] = sentence(ne.Message) + "."
		default:
			return moveErr(err)
		}
	}
	p, err := s.tenantView(r.Context(), r, schema, emptyForm(), emptyForm())
	if err != nil {
		return err
	}
	if p.Cluster == nil {
		return errNoCluster(cluster.ErrNotCitus)
	}
	p.Cluster.Form = f
	return s.render(w, http.StatusBadRequest, sess, "tenant", p.Tenant.Name, p)
}
