package dbtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ViaBouncer reports whether TEST_VIA_PGBOUNCER asks the HTTP tests to reach
// PostgreSQL through PgBouncer in transaction-pooling mode.
func ViaBouncer() bool { return os.Getenv("TEST_VIA_PGBOUNCER") != "" }

// BouncerOptions tune the PgBouncer that Bouncer starts.
type BouncerOptions struct {
	// PoolSize is the number of server connections per database and user
	// (default 20). A pool of 1 makes every client share one server session.
	PoolSize int
}

// Bouncer starts a PgBouncer in transaction-pooling mode in front of d's
// database for the duration of t, and returns a URL that connects through
// it. The URL selects pgx's exec mode: PgBouncer 1.18 keeps no prepared
// statements across transactions. Without a pgbouncer binary the test fails
// in CI and is skipped elsewhere.
func (d *DB) Bouncer(t testing.TB, opts BouncerOptions) string {
	t.Helper()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		for _, p := range []string{"/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"} {
			if _, err := os.Stat(p); err == nil {
				bin = p
			}
		}
	}
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("pgbouncer is not installed (apt-get install pgbouncer); CI runs the PgBouncer tests")
		}
		t.Skip("pgbouncer is not installed (apt-get install pgbouncer)")
	}
	if opts.PoolSize == 0 {
		opts.PoolSize = 20
	}
	server, err := url.Parse(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	dbname := strings.TrimPrefix(server.Path, "/")
	port := freePort(t)
	// Not t.TempDir: its parent is private to this user, and PgBouncer may
	// run as another one (see below).
	dir, err := os.MkdirTemp("", "tenantctl-pgbouncer-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	serverHost, serverPort := server.Hostname(), server.Port()
	if serverPort == "" {
		serverPort = "5432"
	}
	ini := fmt.Sprintf(`[databases]
%s = host=%s port=%s dbname=%s pool_size=%d

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
max_client_conn = 1000
default_pool_size = %d
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
logfile = %s
pidfile = %s
`, dbname, serverHost, serverPort, dbname, opts.PoolSize, port, filepath.Join(dir, "users.txt"), opts.PoolSize,
		filepath.Join(dir, "pgbouncer.log"), filepath.Join(dir, "pgbouncer.pid"))
	username := server.User.Username()
	if username == "" {
		username = "postgres"
	}
	must(t, os.WriteFile(filepath.Join(dir, "users.txt"), []byte(strconv.Quote(username)+` ""`+"\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "pgbouncer.ini"), []byte(ini), 0o644))

	cmd := exec.Command(bin, filepath.Join(dir, "pgbouncer.ini"))
	if os.Geteuid() == 0 {
		// PgBouncer refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("pgbouncer cannot run as root and there is no postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		must(t, os.Chmod(dir, 0o777)) // PgBouncer writes its log and pid file here
	}
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	must(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})

	via := *server
	via.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	q := via.Query()
	q.Set("default_query_exec_mode", "exec")
	via.RawQuery = q.Encode()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := pgx.Connect(ctx, via.String())
		cancel()
		if err == nil {
			c.Close(context.Background())
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			t.Fatalf("pgbouncer did not come up: %v\n%s\n%s", err, out, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return via.String()
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
