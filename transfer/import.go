package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/migrate"
	"github.com/tenantctl/tenantctl/provision"
)

// Options change what Import creates.
type Options struct {
	// Schema, if not "", names the tenant's schema instead of the archive's.
	Schema string
	// Name, if not "", is the tenant's display name instead of the archive's.
	Name string
	// Domains, if not empty, replace the archive's domains; the first is
	// primary. Importing next to the original needs them, as its domains
	// are taken.
	Domains []string
	// PublicHosts are the public site's hosts (PUBLIC_HOSTS), which no
	// tenant may have as a domain.
	PublicHosts []string
}

// ErrUnknownMigration is returned by Import for an archive whose tenant
// schema has a migration the target's tenantctl does not have: it was
// exported by a newer one.
var ErrUnknownMigration = errors.New("the archive is newer than this tenantctl")

// Import creates a tenant from the archive r in the database of pool and m
// (see the package doc), holding the schema's migration lock. It returns a
// *provision.FieldError for an invalid or taken schema name or domain, an
// ErrUnknownMigration, an ErrDamaged for an archive that is truncated,
// altered or no archive, a *migrate.LintError, and database errors; on any
// error nothing of the tenant is left in the database.
func Import(ctx context.Context, pool *db.Pool, m *migrate.Migrator, r io.Reader, o Options) (Summary, error) {
	fr := newFrameReader(r)
	if err := fr.readMagic(); err != nil {
		return Summary{}, err
	}
	raw, err := fr.meta(kindHeader, "header")
	if err != nil {
		return Summary{}, err
	}
	var h Header
	if err := jsonStrict(raw, &h); err != nil {
		return Summary{}, damaged("its header: %v", err)
	}
	p, err := plan(h, o, m)
	if err != nil {
		return Summary{}, err
	}
	sum := Summary{Schema: p.schema.String(), Domains: p.domains, Tables: len(h.Tables), Deleted: h.Tenant.DeletedAt != nil}
	err = m.Lock(ctx, p.schema, func() error {
		return db.InSpan(ctx, pool, pgx.TxOptions{}, func(sp *db.Span) error {
			return load(ctx, sp, m, fr, h, p, &sum)
		})
	})
	sum.Bytes = fr.n
	return sum, err
}

// importPlan is what Import creates, checked before it touches the database.
type importPlan struct {
	schema    db.Schema
	name      string
	domains   []string // the first is primary
	paidUntil *time.Time
}

// plan checks the archive's header against o and the target's migrations.
func plan(h Header, o Options, m *migrate.Migrator) (importPlan, error) {
	var p importPlan
	if h.Format != 1 {
		return p, damaged("its header says format %d in a format 1 archive", h.Format)
	}
	schema := h.Tenant.Schema
	if o.Schema != "" {
		schema = o.Schema
	}
	var err error
	if p.schema, err = provision.ParseSchema(schema); err != nil {
		return p, err
	}
	p.name = h.Tenant.Name
	if o.Name != "" {
		p.name = o.Name
	}
	if err := provision.ValidateName(p.name); err != nil {
		return p, err
	}
	domains := o.Domains
	if len(domains) == 0 {
		// Primary first, as Export lists them.
		for _, d := range h.Domains {
			domains = append(domains, d.Domain)
		}
	}
	for _, d := range domains {
		d, err := provision.TenantDomain(d, o.PublicHosts)
		if err != nil {
			return p, err
		}
		if !slices.Contains(p.domains, d) {
			p.domains = append(p.domains, d)
		}
	}
	if h.Tenant.PaidUntil != nil {
		d, err := time.Parse(dateLayout, *h.Tenant.PaidUntil)
		if err != nil {
			return p, damaged("its paid_until %q is not a date", *h.Tenant.PaidUntil)
		}
		p.paidUntil = &d
	}
	known, err := m.TenantVersions()
	if err != nil {
		return p, err
	}
	for _, v := range h.Migrations {
		if !slices.Contains(known, v) {
			newest := "none"
			if len(known) > 0 {
				newest = known[len(known)-1]
			}
			return p, fmt.Errorf("%w: its tenant schema has migration %s, which this tenantctl does not know (its newest is %s); import it with a tenantctl at least as new as the one that exported it",
				ErrUnknownMigration, v, newest)
		}
	}
	for _, t := range h.Tables {
		if t.Name == "" || len(t.Columns) == 0 || slices.Contains(t.Columns, "") {
			return p, damaged("its header lists a table without a name or columns")
		}
	}
	return p, nil
}

// load does the import's work in sp, its one transaction.
func load(ctx context.Context, sp *db.Span, m *migrate.Migrator, fr *frameReader, h Header, p importPlan, sum *Summary) error {
	pq, err := sp.Public(ctx)
	if err != nil {
		return err
	}
	c, err := pq.ImportClient(ctx, publicdb.ImportClientParams{
		SchemaName: p.schema.String(), Name: p.name, OnTrial: h.Tenant.OnTrial, PaidUntil: p.paidUntil,
		CreatedAt: h.Tenant.CreatedAt, DeletedAt: h.Tenant.DeletedAt,
	})
	if db.IsUniqueViolation(err, "clients_schema_name_key") {
		return &provision.FieldError{Field: "schema_name", Message: fmt.Sprintf("A tenant with schema %q already exists.", p.schema)}
	}
	if err != nil {
		return err
	}
	for i, d := range p.domains {
		_, err := pq.CreateDomain(ctx, publicdb.CreateDomainParams{Domain: d, ClientID: c.ID, IsPrimary: i == 0})
		if db.IsUniqueViolation(err, "domains_domain_key") {
			return &provision.FieldError{Field: "domain", Message: fmt.Sprintf("The domain %q is already in use.", d)}
		}
		if err != nil {
			return err
		}
	}
	if err := pq.CreateTenantSchema(ctx, p.schema.String()); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42P06" {
			return &provision.FieldError{Field: "schema_name", Message: fmt.Sprintf("A schema named %q already exists in the database; choose another name.", p.schema)}
		}
		return fmt.Errorf("create schema: %w", err)
	}

	// The schema as the archive's rows expect it.
	if _, err := sp.Tenant(ctx, p.schema); err != nil {
		return err
	}
	tx := sp.Tx()
	// Never nil: nil would mean every migration, before the rows.
	only := append([]string{}, h.Migrations...)
	if _, err := m.ApplyTenantTx(ctx, tx, only); err != nil {
		return err
	}

	// The foreign keys are checked once all rows are in, a join per key,
	// rather than row by row while they load: that took half of the
	// import's time (1M items, each checking its author).
	if pq, err = sp.Public(ctx); err != nil {
		return err
	}
	fks, err := pq.ImportForeignKeys(ctx, p.schema.String())
	if err != nil {
		return err
	}
	for _, fk := range fks {
		if _, err := tx.Exec(ctx, "ALTER TABLE "+qualified(p.schema, fk.TableName)+" DROP CONSTRAINT "+pgx.Identifier{fk.Name}.Sanitize()); err != nil {
			return err
		}
	}
	loaded, err := copyTables(ctx, tx, fr, h, p.schema)
	if err != nil {
		return err
	}
	tr, err := fr.finish()
	if err != nil {
		return err
	}
	for _, t := range h.Tables {
		if want, ok := tr.Rows[t.Name]; !ok || want != loaded[t.Name] {
			return damaged("table %s: %d rows loaded, its trailer says %d", t.Name, loaded[t.Name], want)
		}
		sum.Rows += loaded[t.Name]
	}
	for _, fk := range fks {
		// The definition is the catalog's own (pg_get_constraintdef).
		if _, err := tx.Exec(ctx, "ALTER TABLE "+qualified(p.schema, fk.TableName)+" ADD CONSTRAINT "+pgx.Identifier{fk.Name}.Sanitize()+" "+fk.Definition); err != nil {
			return fmt.Errorf("table %s: %w", fk.TableName, err)
		}
	}
	if err := setSequences(ctx, sp, p.schema, h); err != nil {
		return err
	}

	// Then forward to the target's newest migration, as migrate would.
	if _, err := sp.Tenant(ctx, p.schema); err != nil {
		return err
	}
	if sum.Migrated, err = m.ApplyTenantTx(ctx, tx, nil); err != nil {
		return err
	}
	if pq, err = sp.Public(ctx); err != nil {
		return err
	}
	return pq.MarkClientReady(ctx, c.ID)
}

// copyTables loads every table's rows with COPY FROM and returns how many
// each got. When the database refuses a table's rows, the rest of the
// archive is still read and checked: an archive that turns out damaged is
// reported as such, rather than as the row it broke.
func copyTables(ctx context.Context, tx pgx.Tx, fr *frameReader, h Header, s db.Schema) (map[string]int64, error) {
	loaded := map[string]int64{}
	conn := tx.Conn().PgConn()
	for i, t := range h.Tables {
		tr := fr.table()
		tag, err := conn.CopyFrom(ctx, tr, "COPY "+qualified(s, t.Name)+" ("+columnList(t.Columns)+") FROM STDIN")
		if tr.err != nil {
			return nil, tr.err // the archive's fault, and it is what COPY failed with
		}
		if err != nil {
			err = fmt.Errorf("import table %s: %w", t.Name, err)
			if derr := drain(tr, fr, h.Tables[i+1:]); derr != nil && ctx.Err() == nil {
				return nil, derr
			}
			return nil, err
		}
		loaded[t.Name] = tag.RowsAffected()
	}
	return loaded, nil
}

// drain reads the rest of the archive after the current table's tr, and
// returns its ErrDamaged if it is damaged, or nil.
func drain(tr *tableReader, fr *frameReader, rest []Table) error {
	if err := tr.drain(); err != nil {
		return err
	}
	for range rest {
		if err := fr.table().drain(); err != nil {
			return err
		}
	}
	_, err := fr.finish()
	return err
}

// setSequences sets each identity and serial sequence past the values its
// column got and past the source's last value, so that new rows neither
// collide with imported ones nor reuse the ids of rows deleted in the
// source. The column's largest value takes a statement naming the table,
// built from quoted names (the schema's own, and the header's, which
// pg_get_serial_sequence then checks against the catalog); the sequence is
// set apart from it, so that on Citus, where that statement runs on the
// tenant's worker, setval still runs on the coordinator.
func setSequences(ctx context.Context, sp *db.Span, s db.Schema, h Header) error {
	for _, q := range h.Sequences {
		table := qualified(s, q.Table)
		var largest *int64
		if err := sp.Tx().QueryRow(ctx, "SELECT max("+pgx.Identifier{q.Column}.Sanitize()+")::bigint FROM "+table).Scan(&largest); err != nil {
			return fmt.Errorf("read the largest %s.%s: %w", q.Table, q.Column, err)
		}
		v := q.LastValue
		if largest != nil && *largest > v {
			v = *largest
		}
		if v < 1 {
			continue // never used: the sequence starts where the source's did
		}
		pq, err := sp.Public(ctx)
		if err != nil {
			return err
		}
		if err := pq.SetColumnSequence(ctx, publicdb.SetColumnSequenceParams{TableName: table, ColumnName: q.Column, Value: v}); err != nil {
			return fmt.Errorf("set the sequence of %s.%s: %w", q.Table, q.Column, err)
		}
	}
	return nil
}

// Clone copies the tenant of schema from, in the database of pool and m,
// to a new tenant as o says (o.Schema is required, and o.Domains too unless
// the source has none: its own are taken): Export piped into Import, with
// no file between them. It returns Import's errors, and Export's
// (provision.ErrNotFound for an unknown source).
func Clone(ctx context.Context, pool *db.Pool, m *migrate.Migrator, from db.Schema, o Options) (Summary, error) {
	if o.Schema == "" {
		return Summary{}, errors.New("clone: the new tenant's schema is required")
	}
	pr, pw := io.Pipe()
	exported := make(chan error, 1)
	go func() {
		_, err := Export(ctx, pool, from, pw)
		// The import reads the export's error where the archive stops.
		pw.CloseWithError(err)
		exported <- err
	}()
	sum, err := Import(ctx, pool, m, pr, o)
	// An import that stopped early ends the export's writes.
	pr.CloseWithError(errors.New("the import stopped"))
	if eerr := <-exported; eerr != nil && err == nil {
		err = eerr
	}
	return sum, err
}
