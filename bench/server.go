package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// server is the real tenantctl binary serving the benchmark database, run
// as a child process on a loopback port.
type server struct {
	cmd     *exec.Cmd
	logPath string
	client  *httpClient
	exited  chan struct{} // closed when the process has exited
	once    sync.Once
}

// buildServer builds tenantctl into dir and returns the binary's path.
func buildServer(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "tenantctl")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/tenantctl/tenantctl/cmd/tenantctl").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build tenantctl: %w\n%s", err, out)
	}
	return bin, nil
}

// startServer starts `tenantctl serve` on a free 127.0.0.1 port against
// dbURL and waits until /health/ answers. Its environment is given in full
// (nothing inherited) and its directory holds no .env, so only these
// settings apply. The caller must stop it.
func startServer(ctx context.Context, bin, dir, dbURL, secret string, concurrency int, extra []string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--addr", addr)
	cmd.Dir = dir
	cmd.Env = []string{
		"DATABASE_URL=" + dbURL,
		"ALLOWED_HOSTS=.localhost,localhost",
		"LOG_LEVEL=error",
		"LOG_FORMAT=text",
		"SECRET_KEY=" + secret,
		// Long enough that tokens obtained for one tenant count still work
		// at the next, from the next server process.
		"ACCESS_TOKEN_TTL=24h",
		// An API-only replica: no job workers. The daily maintenance runs
		// when a leader starts, two jobs per tenant (40,000 cold tenant
		// transactions at 20,000 tenants), and would compete with the
		// loads for the CPUs. -server-env WORKERS=10 brings them back.
		"WORKERS=0",
	}
	cmd.Env = append(cmd.Env, extra...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start tenantctl serve: %w", err)
	}
	s := &server{
		cmd: cmd, logPath: logPath, exited: make(chan struct{}),
		client: newHTTPClient(addr, concurrency, 30*time.Second),
	}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	if err := s.waitHealthy(ctx); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// freeAddr returns a 127.0.0.1 address with a port free right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitHealthy polls /health/ for up to 30 seconds.
func (s *server) waitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		status, _, err := s.client.do(ctx, request{method: http.MethodGet, path: "/health/", host: "localhost"}, false)
		if err == nil && status == http.StatusOK {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("tenantctl serve exited: %s", s.logTail())
		case <-ctx.Done():
			return fmt.Errorf("tenantctl serve did not become healthy: %w; log: %s", ctx.Err(), s.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop shuts the server down gracefully (SIGINT), and kills it if it has
// not exited 10 seconds later. It is safe to call more than once.
func (s *server) stop() {
	s.once.Do(func() {
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		s.client.close()
	})
}

// logTail is the end of the server's output, for error messages.
func (s *server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return "(no output)"
	}
	return string(b)
}

// op is the load operation of sc over HTTP: one request on the tenant's
// host, with its token, its body read to the end so the connection is
// reused.
func (s *server) op(sc scenario) op {
	return func(ctx context.Context, t *tenant) *failure {
		status, body, err := s.do(ctx, sc, t, false)
		switch {
		case status == http.StatusServiceUnavailable && err == nil:
			return &failure{key: "503", rejected: true}
		case err != nil:
			return &failure{key: "error", detail: fmt.Sprintf("%s %s on %s: %v", sc.method, sc.path, t.host, err)}
		case status/100 != 2:
			return &failure{key: strconv.Itoa(status), detail: fmt.Sprintf("%s %s on %s: %d %.300s", sc.method, sc.path, t.host, status, body)}
		}
		return nil
	}
}

// do sends sc's request for t and returns the status and, when the status
// is not 2xx or keep is set, the body (its first 64 KiB).
func (s *server) do(ctx context.Context, sc scenario, t *tenant, keep bool) (int, []byte, error) {
	req := request{method: sc.method, path: sc.path, host: t.host, body: sc.body}
	if sc.bearer {
		req.bearer = t.token
	}
	if sc.apiKey {
		req.apiKey = t.apiKey
	}
	return s.client.do(ctx, req, keep)
}

// createAPIKey makes a read API key of t's admin through POST
// /api/api-keys/, with its access token.
func (s *server) createAPIKey(ctx context.Context, t *tenant) (string, error) {
	req := request{method: http.MethodPost, path: "/api/api-keys/", host: t.host, bearer: t.token,
		body: `{"name":"bench","scope":"read"}`}
	status, body, err := s.client.do(ctx, req, true)
	if err != nil {
		return "", fmt.Errorf("API key on %s: %w", t.host, err)
	}
	var k struct {
		Key string `json:"key"`
	}
	if status != http.StatusCreated || json.Unmarshal(body, &k) != nil || k.Key == "" {
		return "", fmt.Errorf("API key on %s: %d %.300s", t.host, status, body)
	}
	return k.Key, nil
}

// signIn obtains t's admin access token through POST /api/token/.
func (s *server) signIn(ctx context.Context, t *tenant) (string, error) {
	sc, _ := scenarioByName("token")
	status, body, err := s.do(ctx, sc, t, true)
	if err != nil {
		return "", fmt.Errorf("sign in on %s: %w", t.host, err)
	}
	var pair struct {
		Access string `json:"access"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &pair) != nil || pair.Access == "" {
		return "", fmt.Errorf("sign in on %s: %d %.300s", t.host, status, body)
	}
	return pair.Access, nil
}
