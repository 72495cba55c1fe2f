package transfer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/dbmate"
	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/migrate"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/provision"
	"github.com/tenantctl/tenantctl/server"
	"github.com/tenantctl/tenantctl/token"
	"github.com/tenantctl/tenantctl/transfer"
)

// onCitus reports whether the tests run against a Citus cluster.
func onCitus() bool { return len(dbtest.CitusWorkers()) > 0 }

// sourceDB is the database tenants are exported from: on plain PostgreSQL
// always, also next to a Citus cluster (TEST_PLAIN_DATABASE_URL), so that
// the round trip goes from plain PostgreSQL to Citus there.
func sourceDB(t *testing.T) *dbtest.DB {
	if onCitus() {
		return dbtest.NewOn(t, dbtest.PlainServerURL())
	}
	return dbtest.New(t)
}

func count(t *testing.T, d *dbtest.DB, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, d.Pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// leftovers counts what an import of schema may have left behind: the
// schema, the client row, its domains and any domain in domains.
func leftovers(t *testing.T, d *dbtest.DB, schema string, domains ...string) int {
	return count(t, d, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema) +
		count(t, d, "SELECT count(*) FROM clients WHERE schema_name = $1", schema) +
		count(t, d, "SELECT count(*) FROM domains WHERE domain = ANY ($1)", domains)
}

// awkward is a description that COPY's text format must escape.
const awkward = "tab\there, newline\nthere, back\\slash, \\N, quote \" and 'é ☃'"

// seed makes tenant acme in d: an owner, a member, 45 items (some by
// each, some by nobody, one awkward), three deleted so that the id
// sequence is past the largest id, two domains, a paid-until date and a
// trial.
func seed(t *testing.T, d *dbtest.DB) {
	t.Helper()
	ctx := t.Context()
	svc := provision.New(d.Pool, d.Migrator, password.NewHasher(0))
	paid := time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)
	_, err := svc.CreateTenant(ctx, provision.TenantParams{Schema: "acme", Name: "ACME Inc.", Domain: "acme.example.com",
		OnTrial: true, PaidUntil: &paid, Admin: &provision.UserParams{Username: "boss", Email: "boss@acme.example", Password: "Harbour-Lamp-71"}})
	require.NoError(t, err)
	_, err = svc.AddDomain(ctx, "acme", "www.acme.example.com", false)
	require.NoError(t, err)
	member, err := svc.CreateUser(ctx, "acme", provision.UserParams{Username: "member1", Email: "m1@acme.example", Password: "Orbit-Plum-7315"})
	require.NoError(t, err)
	require.NoError(t, db.InTenant(ctx, d.Pool, db.MustParseSchema("acme"), func(q *tenantdb.Queries) error {
		boss := int64(1)
		for i := range 48 {
			p := tenantdb.CreateItemParams{Name: fmt.Sprintf("Item %02d", i), Description: fmt.Sprintf("description %d", i)}
			switch i % 3 {
			case 0:
				p.CreatedBy = &boss
			case 1:
				p.CreatedBy = &member.ID
			}
			if i == 6 { // id 7
				p.Description = awkward
			}
			if _, err := q.CreateItem(ctx, p); err != nil {
				return err
			}
		}
		return nil
	}))
	_, err = d.Pool.Exec(ctx, "DELETE FROM acme.items WHERE id IN (3, 20, 48)")
	require.NoError(t, err)
}

func export(t *testing.T, d *dbtest.DB, schema string) []byte {
	t.Helper()
	var buf bytes.Buffer
	sum, err := transfer.Export(t.Context(), d.Pool, db.MustParseSchema(schema), &buf)
	require.NoError(t, err)
	assert.Equal(t, int64(buf.Len()), sum.Bytes)
	return buf.Bytes()
}

// api serves d's tenants over HTTP.
type api struct {
	srv *httptest.Server
	cfg config.Config
	d   *dbtest.DB
}

func serve(t *testing.T, d *dbtest.DB) *api {
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"APP_ENV": "test", "ALLOWED_HOSTS": ".example.com"}[k]
	})
	require.NoError(t, err)
	cfg.DatabaseURL, cfg.DatabaseDirectURL = d.URL, d.URL
	ctx, cancel := context.WithCancel(context.Background())
	srv := httptest.NewServer(server.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), d.Pool, password.NewHasher(0), nil))
	t.Cleanup(func() { srv.Close(); cancel() })
	return &api{srv: srv, cfg: cfg, d: d}
}

// token mints an access token for user username of the tenant of schema,
// directly with the token package (sign-in over HTTP is not needed here).
func (a *api) token(t *testing.T, schema, username string) string {
	var id, tenantID int64
	var email string
	require.NoError(t, a.d.Pool.QueryRow(t.Context(), "SELECT id FROM clients WHERE schema_name = $1", schema).Scan(&tenantID))
	require.NoError(t, a.d.Pool.QueryRow(t.Context(),
		fmt.Sprintf("SELECT id, email FROM %s.users WHERE username = $1", schema), username).Scan(&id, &email))
	p, err := token.NewIssuer(a.cfg.SecretKey, a.cfg.AccessTokenTTL, a.cfg.RefreshTokenTTL).
		IssuePair(token.User{ID: id, Username: username, Email: email, Tenant: schema, TenantID: tenantID}, uuid.Nil)
	require.NoError(t, err)
	return p.Access
}

// get fetches path on host with bearer and returns the status and JSON body.
func (a *api) get(t *testing.T, host, path, bearer string) (int, map[string]any) {
	return a.send(t, http.MethodGet, host, path, bearer, nil)
}

func (a *api) send(t *testing.T, method, host, path, bearer string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(raw)
	}
	r, err := http.NewRequest(method, a.srv.URL+path, rd)
	require.NoError(t, err)
	r.Host = host
	r.Header.Set("Authorization", "Bearer "+bearer)
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(r)
	require.NoError(t, err)
	defer resp.Body.Close()
	var m map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
	return resp.StatusCode, m
}

// TestRoundTrip exports a tenant from plain PostgreSQL and imports it under
// a new name and domain into another database (the Citus cluster when
// TEST_CITUS_WORKERS is set, another plain database otherwise); the HTTP
// API then serves the same items and users there, ids included, and new
// rows get new ids.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	src := sourceDB(t)
	seed(t, src)
	archive := export(t, src, "acme")
	assert.True(t, bytes.HasPrefix(archive, []byte("TENANTCTL-ARCHIVE 1\n")))

	dst := dbtest.New(t)
	to := serve(t, dst)
	// The target's server has answered for the host before: the import's
	// registry rows must reach its host cache (NOTIFY at commit).
	st, _ := to.get(t, "globex.example.com", "/api/items/", "x")
	require.Equal(t, http.StatusNotFound, st)
	sum, err := transfer.Import(t.Context(), dst.Pool, dst.Migrator, bytes.NewReader(archive),
		transfer.Options{Schema: "globex", Domains: []string{"globex.example.com"}})
	require.NoError(t, err)
	// 9 tables since the machine access migration; the rows are the items,
	// the users, and the audit entries of the seed (2 users created, a
	// domain added).
	assert.Equal(t, transfer.Summary{Schema: "globex", Domains: []string{"globex.example.com"}, Tables: 9, Rows: 45 + 2 + 3,
		Bytes: int64(len(archive))}, sum)

	var name, state string
	var onTrial bool
	var paid time.Time
	require.NoError(t, dst.Pool.QueryRow(t.Context(), "SELECT name, state, on_trial, paid_until FROM clients WHERE schema_name = 'globex'").
		Scan(&name, &state, &onTrial, &paid))
	assert.Equal(t, "ACME Inc.", name)
	assert.Equal(t, "ready", state)
	assert.True(t, onTrial)
	assert.Equal(t, "2027-03-31", paid.Format("2006-01-02"))
	assert.Equal(t, 1, count(t, dst, "SELECT count(*) FROM domains WHERE domain = 'globex.example.com' AND is_primary"))
	assert.Zero(t, count(t, dst, "SELECT count(*) FROM domains WHERE domain LIKE '%acme%'"))
	if onCitus() {
		assert.Equal(t, 1, count(t, dst, "SELECT count(*) FROM citus_schemas WHERE schema_name::text = 'globex'"), "the imported schema is distributed")
		const shards = `FROM citus_shards WHERE citus_table_type = 'schema' AND table_name::text LIKE 'globex.%'`
		assert.Equal(t, 10, count(t, dst, "SELECT count(*) "+shards), "its 9 tables and schema_migrations are distributed")
		assert.Equal(t, 1, count(t, dst, "SELECT count(DISTINCT (nodename, nodeport)) "+shards), "together")
		assert.Zero(t, count(t, dst, "SELECT count(*) "+shards+" AND nodeport IN (SELECT nodeport FROM pg_dist_node WHERE groupid = 0)"),
			"on a worker")
	}

	from := serve(t, src)
	fromTok, toTok := from.token(t, "acme", "boss"), to.token(t, "globex", "boss")
	assert.Eventually(t, func() bool {
		st, _ := to.get(t, "globex.example.com", "/api/profile/", toTok)
		return st == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond, "the imported tenant's host answers")
	for _, path := range []string{"/api/items/?page_size=100", "/api/users/?page_size=100", "/api/items/7/"} {
		st1, want := from.get(t, "acme.example.com", path, fromTok)
		st2, got := to.get(t, "globex.example.com", path, toTok)
		require.Equal(t, http.StatusOK, st1, "%s: %v", path, want)
		require.Equal(t, http.StatusOK, st2, "%s: %v", path, got)
		if r, ok := want["results"]; ok {
			assert.Equal(t, want["count"], got["count"], path)
			assert.Equal(t, r, got["results"], path)
		} else {
			assert.Equal(t, want, got, path)
		}
	}
	_, item := to.get(t, "globex.example.com", "/api/items/7/", toTok)
	assert.Equal(t, awkward, item["description"])
	_, page := to.get(t, "globex.example.com", "/api/items/?page_size=100", toTok)
	assert.EqualValues(t, 45, page["count"])

	// New rows do not reuse ids: past the largest (47) and the source's
	// last one (48, deleted).
	st, created := to.send(t, http.MethodPost, "globex.example.com", "/api/items/", toTok, map[string]string{"name": "after import"})
	require.Equal(t, http.StatusCreated, st, "%v", created)
	t.Logf("first item id after import: %v", created["id"])
	assert.Greater(t, created["id"], float64(48))
	st, created = to.send(t, http.MethodPost, "globex.example.com", "/api/users/", toTok,
		map[string]string{"username": "newbie", "password": "Velvet-Canyon-58", "role": "member"})
	require.Equal(t, http.StatusCreated, st, "%v", created)
	assert.Greater(t, created["id"], float64(2))
	if !onCitus() {
		// Exactly next, where PostgreSQL numbers them one by one. (Citus
		// numbers rows inserted on a worker from a range of its own.)
		assert.EqualValues(t, 49, count(t, dst, "SELECT max(id) FROM globex.items"))
		assert.EqualValues(t, 3, count(t, dst, "SELECT max(id) FROM globex.users"))
	}
}

// TestImportNextToOriginal imports a tenant's own archive into its own
// database: refused while the schema or a domain is taken, accepted under
// a new schema and domain, and all-or-nothing throughout.
func TestImportNextToOriginal(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	seed(t, d)
	archive := export(t, d, "acme")
	imp := func(o transfer.Options) error {
		_, err := transfer.Import(t.Context(), d.Pool, d.Migrator, bytes.NewReader(archive), o)
		return err
	}

	t.Run("ErrSchemaTaken", func(t *testing.T) {
		err := imp(transfer.Options{Domains: []string{"fresh.example.com"}})
		var fe *provision.FieldError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "schema_name", fe.Field)
		assert.Zero(t, count(t, d, "SELECT count(*) FROM domains WHERE domain = 'fresh.example.com'"))
	})
	t.Run("ErrDomainTaken", func(t *testing.T) {
		err := imp(transfer.Options{Schema: "acme2"})
		var fe *provision.FieldError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "domain", fe.Field)
		assert.Contains(t, fe.Message, "acme.example.com")
		assert.Zero(t, leftovers(t, d, "acme2"))
	})
	t.Run("ErrSchemaExists", func(t *testing.T) {
		_, err := d.Pool.Exec(t.Context(), "CREATE SCHEMA stray")
		require.NoError(t, err)
		err = imp(transfer.Options{Schema: "stray", Domains: []string{"stray.example.com"}})
		var fe *provision.FieldError
		require.ErrorAs(t, err, &fe)
		assert.Contains(t, fe.Message, "already exists in the database")
		assert.Zero(t, count(t, d, "SELECT count(*) FROM clients WHERE schema_name = 'stray'"))
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM pg_namespace WHERE nspname = 'stray'"), "someone else's schema stays")
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		var fe *provision.FieldError
		require.ErrorAs(t, imp(transfer.Options{Schema: "Bad-Name"}), &fe)
		assert.Equal(t, "schema_name", fe.Field)
		require.ErrorAs(t, imp(transfer.Options{Schema: "ok", Domains: []string{"localhost"}, PublicHosts: []string{"localhost"}}), &fe)
		assert.Equal(t, "domain", fe.Field)
	})
	t.Run("OK", func(t *testing.T) {
		require.NoError(t, imp(transfer.Options{Schema: "acme2", Domains: []string{"acme2.example.com", "www.acme2.example.com"}}))
		assert.Equal(t, 45, count(t, d, "SELECT count(*) FROM acme2.items"))
		assert.Equal(t, 45, count(t, d, "SELECT count(*) FROM acme.items"))
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM domains d JOIN clients c ON c.id = d.client_id WHERE c.schema_name = 'acme2' AND d.is_primary AND d.domain = 'acme2.example.com'"))
		assert.Equal(t, 2, count(t, d, "SELECT count(*) FROM domains d JOIN clients c ON c.id = d.client_id WHERE c.schema_name = 'acme2'"))
	})
}

// TestImportDamaged: an archive truncated anywhere, altered anywhere, or
// followed by anything is refused as damaged, and nothing is written.
func TestImportDamaged(t *testing.T) {
	t.Parallel()
	src := sourceDB(t)
	seed(t, src)
	archive := export(t, src, "acme")
	dst := dbtest.New(t)

	at := bytes.Index(archive, []byte("Item 17"))
	require.Positive(t, at)
	id := bytes.Index(archive, []byte("\n17\t"))
	require.Positive(t, id)
	alter := func(i int, b byte) []byte {
		c := bytes.Clone(archive)
		c[i] = b
		return c
	}
	cases := map[string][]byte{
		"Empty":              nil,
		"TruncatedMagic":     archive[:10],
		"TruncatedHeader":    archive[:40],
		"TruncatedRows":      archive[:at+3],
		"TruncatedChecksum":  archive[:len(archive)-1],
		"NoChecksum":         archive[:len(archive)-37],
		"AlteredText":        alter(at+5, '8'), // still valid rows: only the checksum tells
		"AlteredID":          alter(id+1, 'x'), // a row COPY refuses: the checksum still tells
		"AlteredChecksum":    alter(len(archive)-1, archive[len(archive)-1]^1),
		"AlteredFrameLength": alter(at-100, 0xff), // somewhere in a frame: whatever it hits
		"Appended":           append(bytes.Clone(archive), 0),
		"NotAnArchive":       []byte("PGDMP this is something else entirely"),
	}
	for name, a := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := transfer.Import(t.Context(), dst.Pool, dst.Migrator, bytes.NewReader(a), transfer.Options{})
			require.ErrorIs(t, err, transfer.ErrDamaged)
			t.Log(err)
			assert.Zero(t, leftovers(t, dst, "acme", "acme.example.com", "www.acme.example.com"))
		})
	}
	// And the archive itself imports.
	_, err := transfer.Import(t.Context(), dst.Pool, dst.Migrator, bytes.NewReader(archive), transfer.Options{})
	require.NoError(t, err)
	assert.Equal(t, 45, count(t, dst, "SELECT count(*) FROM acme.items"))
}

// oldMigrations are the tenant migrations up to and including version upTo.
func oldMigrations(t *testing.T, upTo string) fs.FS {
	t.Helper()
	files, err := fs.ReadDir(dbmate.Tenant, "tenant")
	require.NoError(t, err)
	m := fstest.MapFS{}
	for _, f := range files {
		if f.Name() <= upTo+"~" {
			raw, err := fs.ReadFile(dbmate.Tenant, "tenant/"+f.Name())
			require.NoError(t, err)
			m["tenant/"+f.Name()] = &fstest.MapFile{Data: raw}
		}
	}
	return m
}

// TestImportMigratesForward: a tenant exported at an older migration
// version is created at that version, loaded, then migrated to the
// target's newest, with the migrations' data changes applied to its rows.
// An archive newer than the target's migrations is refused.
func TestImportMigratesForward(t *testing.T) {
	t.Parallel()
	const first = "20250101000000"
	src := sourceDB(t)
	src.Migrator.Tenant = oldMigrations(t, first)
	_, err := provision.New(src.Pool, src.Migrator, password.NewHasher(0)).
		CreateTenant(t.Context(), provision.TenantParams{Schema: "old", Name: "Old", Domain: "old.example.com"})
	require.NoError(t, err)
	_, err = src.Pool.Exec(t.Context(), `INSERT INTO old.users (username, password_hash, is_staff)
		VALUES ('member', 'x', false), ('first', 'x', true), ('second', 'x', true)`)
	require.NoError(t, err)
	archive := export(t, src, "old")

	dst := dbtest.New(t)
	t.Run("ErrArchiveNewer", func(t *testing.T) {
		full := export(t, sourceWith(t, src), "cur")
		older, err := migrate.New(dst.URL, dst.Pool)
		require.NoError(t, err)
		older.Tenant = oldMigrations(t, first)
		_, err = transfer.Import(t.Context(), dst.Pool, older, bytes.NewReader(full), transfer.Options{})
		require.ErrorIs(t, err, transfer.ErrUnknownMigration)
		assert.Contains(t, err.Error(), "which this tenantctl does not know (its newest is "+first+")")
		assert.Zero(t, leftovers(t, dst, "cur", "cur.example.com"))
	})
	t.Run("OK", func(t *testing.T) {
		sum, err := transfer.Import(t.Context(), dst.Pool, dst.Migrator, bytes.NewReader(archive), transfer.Options{})
		require.NoError(t, err)
		all, err := dst.Migrator.TenantVersions()
		require.NoError(t, err)
		assert.Equal(t, len(all)-1, sum.Migrated)
		st, err := dst.Migrator.TenantStatus(t.Context(), db.MustParseSchema("old"))
		require.NoError(t, err)
		assert.Equal(t, all, st.Applied)
		assert.Empty(t, st.Pending)
		// Recorded in the import's transaction, as migrate records.
		rec, err := dst.Migrator.Recorded(t.Context())
		require.NoError(t, err)
		assert.Equal(t, all, rec["old"])
		// The roles migration ran over the imported rows.
		rows, err := dst.Pool.Query(t.Context(), "SELECT username || ':' || role FROM old.users ORDER BY id")
		require.NoError(t, err)
		var got []string
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			got = append(got, s)
		}
		require.NoError(t, rows.Err())
		assert.Equal(t, []string{"member:member", "first:owner", "second:admin"}, got)
	})
}

// sourceWith makes tenant cur in a fresh source database with every
// migration, for an archive newer than an old target.
func sourceWith(t *testing.T, _ *dbtest.DB) *dbtest.DB {
	d := sourceDB(t)
	_, err := provision.New(d.Pool, d.Migrator, password.NewHasher(0)).
		CreateTenant(t.Context(), provision.TenantParams{Schema: "cur", Name: "Cur", Domain: "cur.example.com"})
	require.NoError(t, err)
	return d
}

// TestClone copies a tenant within one database, through a pipe.
func TestClone(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	seed(t, d)
	t.Run("ErrUnknownSource", func(t *testing.T) {
		_, err := transfer.Clone(t.Context(), d.Pool, d.Migrator, db.MustParseSchema("ghost"),
			transfer.Options{Schema: "ghost2", Domains: []string{"ghost2.example.com"}})
		require.ErrorIs(t, err, provision.ErrNotFound)
		assert.Zero(t, leftovers(t, d, "ghost2", "ghost2.example.com"))
	})
	t.Run("ErrDomainTaken", func(t *testing.T) {
		_, err := transfer.Clone(t.Context(), d.Pool, d.Migrator, db.MustParseSchema("acme"), transfer.Options{Schema: "copy"})
		var fe *provision.FieldError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "domain", fe.Field)
		assert.Zero(t, leftovers(t, d, "copy"))
	})
	t.Run("OK", func(t *testing.T) {
		sum, err := transfer.Clone(t.Context(), d.Pool, d.Migrator, db.MustParseSchema("acme"),
			transfer.Options{Schema: "copy", Domains: []string{"copy.example.com"}})
		require.NoError(t, err)
		assert.Equal(t, int64(45+2+3), sum.Rows, "items, users, audit entries")
		assert.Equal(t, count(t, d, "SELECT count(*) FROM acme.items"), count(t, d, "SELECT count(*) FROM copy.items"))
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM copy.items WHERE id = 7 AND description = $1", awkward))
		assert.True(t, strings.HasPrefix(sum.Domains[0], "copy."))
	})
}

// TestImportChecksForeignKeys: the foreign keys, dropped while the rows
// load, are added back and so checked over every row: an archive whose
// rows break one (here from a source that had lost the key) is refused,
// leaving nothing.
func TestImportChecksForeignKeys(t *testing.T) {
	t.Parallel()
	src := sourceDB(t)
	seed(t, src)
	_, err := src.Pool.Exec(t.Context(), `ALTER TABLE acme.items DROP CONSTRAINT items_created_by_fkey;
		INSERT INTO acme.items (name, created_by) VALUES ('orphan', 999)`)
	require.NoError(t, err)
	archive := export(t, src, "acme")

	dst := dbtest.New(t)
	_, err = transfer.Import(t.Context(), dst.Pool, dst.Migrator, bytes.NewReader(archive), transfer.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "items_created_by_fkey")
	assert.Zero(t, leftovers(t, dst, "acme", "acme.example.com", "www.acme.example.com"))
}

// TestImportSoftlyDeleted: a tenant deleted softly moves as it is, deleted
// (its data kept, its hosts not routed), and tenant restore brings it back.
func TestImportSoftlyDeleted(t *testing.T) {
	t.Parallel()
	src := sourceDB(t)
	seed(t, src)
	_, err := provision.New(src.Pool, src.Migrator, password.NewHasher(0)).SoftDeleteTenant(t.Context(), "acme")
	require.NoError(t, err)
	archive := export(t, src, "acme")

	dst := dbtest.New(t)
	sum, err := transfer.Import(t.Context(), dst.Pool, dst.Migrator, bytes.NewReader(archive), transfer.Options{})
	require.NoError(t, err)
	assert.True(t, sum.Deleted)
	var was, is time.Time
	require.NoError(t, src.Pool.QueryRow(t.Context(), "SELECT deleted_at FROM clients WHERE schema_name = 'acme'").Scan(&was))
	require.NoError(t, dst.Pool.QueryRow(t.Context(), "SELECT deleted_at FROM clients WHERE schema_name = 'acme'").Scan(&is))
	assert.True(t, was.Equal(is), "deleted at %v, imported %v", was, is)
	_, err = provision.New(dst.Pool, dst.Migrator, password.NewHasher(0)).RestoreTenant(t.Context(), "acme")
	require.NoError(t, err)
	assert.Equal(t, 45, count(t, dst, "SELECT count(*) FROM acme.items"))
}
