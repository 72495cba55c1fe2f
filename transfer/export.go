package transfer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/provision"
)

// Summary says what an export wrote or an import loaded.
type Summary struct {
	Schema  string
	Domains []string
	Tables  int
	Rows    int64
	// Bytes is the archive's size.
	Bytes int64
	// Migrated is how many tenant migrations the import applied after
	// loading the rows (the target's newer than the archive's).
	Migrated int
	// Deleted: the tenant was deleted softly when exported, and is so
	// after the import (tenant restore brings it back).
	Deleted bool
}

// dateLayout is how paid_until travels.
const dateLayout = "2006-01-02"

// Export writes the tenant of schema s to w as an archive (see the package
// doc), from one snapshot. It returns provision.ErrNotFound for an unknown
// tenant, an error for one still being created, and the database's or w's
// errors; what it wrote before an error is no archive (Import refuses it).
func Export(ctx context.Context, pool *db.Pool, s db.Schema, w io.Writer) (Summary, error) {
	fw := newFrameWriter(w)
	var sum Summary
	err := db.InSpan(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(sp *db.Span) error {
		h, err := readHeader(ctx, sp, s)
		if err != nil {
			return err
		}
		raw, err := json.Marshal(h)
		if err != nil {
			return err
		}
		if err := fw.raw([]byte(magic), true); err != nil {
			return err
		}
		if err := fw.frame(kindHeader, raw); err != nil {
			return err
		}
		tr := Trailer{Rows: map[string]int64{}}
		c := &chunker{fw: fw, buf: make([]byte, 0, chunkSize)}
		conn := sp.Tx().Conn().PgConn()
		for _, t := range h.Tables {
			tag, err := conn.CopyTo(ctx, c, "COPY "+qualified(s, t.Name)+" ("+columnList(t.Columns)+") TO STDOUT")
			if err != nil {
				return fmt.Errorf("export table %s: %w", t.Name, err)
			}
			if err := c.flush(); err != nil {
				return err
			}
			if err := fw.frame(kindEnd, nil); err != nil {
				return err
			}
			tr.Rows[t.Name] = tag.RowsAffected()
			sum.Rows += tag.RowsAffected()
		}
		if raw, err = json.Marshal(tr); err != nil {
			return err
		}
		if err := fw.frame(kindTrailer, raw); err != nil {
			return err
		}
		sum.Schema, sum.Tables, sum.Deleted = h.Tenant.Schema, len(h.Tables), h.Tenant.DeletedAt != nil
		for _, d := range h.Domains {
			sum.Domains = append(sum.Domains, d.Domain)
		}
		return fw.finish()
	})
	sum.Bytes = fw.n
	return sum, err
}

// readHeader describes the tenant of s, in sp's snapshot.
func readHeader(ctx context.Context, sp *db.Span, s db.Schema) (Header, error) {
	pq, err := sp.Public(ctx)
	if err != nil {
		return Header{}, err
	}
	c, err := pq.GetClientBySchema(ctx, s.String())
	if errors.Is(err, pgx.ErrNoRows) {
		return Header{}, provision.ErrNotFound
	}
	if err != nil {
		return Header{}, err
	}
	if c.State != "ready" {
		return Header{}, fmt.Errorf("tenant %s is still being created; export it once it is ready", s)
	}
	h := Header{Format: 1, ExportedAt: time.Now().UTC(), Tenant: Tenant{
		Schema: c.SchemaName, Name: c.Name, OnTrial: c.OnTrial, CreatedAt: c.CreatedAt, DeletedAt: c.DeletedAt,
	}}
	if c.PaidUntil != nil {
		d := c.PaidUntil.Format(dateLayout)
		h.Tenant.PaidUntil = &d
	}
	name := s.String()
	domains, err := pq.ListDomainsBySchema(ctx, &name)
	if err != nil {
		return Header{}, err
	}
	for _, d := range domains {
		h.Domains = append(h.Domains, Domain{Domain: d.Domain, Primary: d.IsPrimary})
	}
	tables, err := pq.ExportTables(ctx, name)
	if err != nil {
		return Header{}, err
	}
	fks, err := pq.ExportForeignKeys(ctx, name)
	if err != nil {
		return Header{}, err
	}
	seqs, err := pq.ExportSequences(ctx, name)
	if err != nil {
		return Header{}, err
	}
	for _, q := range seqs {
		h.Sequences = append(h.Sequences, Sequence{Table: q.TableName, Column: q.ColumnName, LastValue: q.LastValue})
	}
	refs := map[string][]string{}
	for _, fk := range fks {
		refs[fk.TableName] = append(refs[fk.TableName], fk.Referenced)
	}
	for _, t := range tables {
		h.Tables = append(h.Tables, Table{Name: t.Name, Columns: t.Columns})
	}
	h.Tables = loadOrder(h.Tables, refs)

	tq, err := sp.Tenant(ctx, s)
	if err != nil {
		return Header{}, err
	}
	if h.Migrations, err = tq.AppliedMigrations(ctx); err != nil {
		return Header{}, err
	}
	return h, nil
}

// loadOrder orders tables so that each comes after the tables it references
// (refs), by name where the references leave a choice. Tables in a cycle of
// references keep their place by name: their rows load only if the keys
// are satisfied anyway, and otherwise the import fails and leaves nothing.
func loadOrder(tables []Table, refs map[string][]string) []Table {
	placed := map[string]bool{}
	var out []Table
	for len(out) < len(tables) {
		progress := false
		for _, t := range tables {
			if placed[t.Name] {
				continue
			}
			ready := true
			for _, r := range refs[t.Name] {
				if !placed[r] && slices.ContainsFunc(tables, func(x Table) bool { return x.Name == r }) {
					ready = false
				}
			}
			if ready {
				placed[t.Name] = true
				out = append(out, t)
				progress = true
			}
		}
		if !progress {
			for _, t := range tables {
				if !placed[t.Name] {
					placed[t.Name] = true
					out = append(out, t)
					break
				}
			}
		}
	}
	return out
}

// qualified is the quoted schema-qualified name of table t of s.
func qualified(s db.Schema, t string) string {
	return pgx.Identifier{s.String(), t}.Sanitize()
}

// columnList is cols quoted and separated by commas.
func columnList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(q, ", ")
}

// jsonStrict decodes raw into v, refusing fields v does not have: an
// archive whose header says more than this tenantctl understands is not
// read as if it said less.
func jsonStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
