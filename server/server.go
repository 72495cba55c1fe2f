// Package server is the HTTP side: routing by Host to a tenant or the public
// site, authentication, the tenant API, and the admin.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/migrate"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/provision"
	"github.com/tenantctl/tenantctl/telemetry"
	"github.com/tenantctl/tenantctl/token"
)

// Server holds the dependencies of every handler.
type Server struct {
	cfg     config.Config
	log     *slog.Logger
	pool    *db.Pool
	hasher  *password.Hasher
	tokens  *token.Issuer
	tenants *tenantCache
	// prov is the provisioning service of the admin, the same code the CLI
	// runs; nil if it could not be built (the admin then answers 503).
	prov  *provision.Service
	pages adminPages
	// accountPages are the pages account emails link to (accounts.go).
	accountPages accountPages
	// queue lists and retries background jobs for the admin; it runs none.
	queue *jobs.Queue
	// metrics is nil when metrics are off.
	metrics *telemetry.Metrics

	tenantRoutes  http.Handler
	publicRoutes  http.Handler
	anyHostRoutes http.Handler
	// anyHostPaths are anyHostRoutes' paths, for a map lookup per request
	// rather than a route match.
	anyHostPaths map[string]bool

	// life is New's context: background work of requests (touchAPIKey)
	// ends with it, before the server's database may go.
	life context.Context
	// touching holds the API keys whose last use is being written
	// ("schema:id"), so that one update per key runs at a time.
	touching sync.Map
}

// New returns the HTTP handler of the whole product. Until ctx ends it keeps
// a connection listening for tenant routing changes. tel, if not nil, gets
// its metrics (and pool's, and the job queue's) and traces its requests.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, pool *db.Pool, hasher *password.Hasher, tel *telemetry.Telemetry) http.Handler {
	// Every line logged with a request's context names its request id and
	// tenant.
	log = slog.New(telemetry.LogHandler(log.Handler()))
	s := &Server{
		cfg:          cfg,
		log:          log,
		pool:         pool,
		hasher:       hasher,
		tokens:       token.NewIssuer(cfg.SecretKey, cfg.AccessTokenTTL, cfg.RefreshTokenTTL),
		tenants:      newTenantCache(pool, log, cfg.DatabaseDirectURL, cfg.RoutingCacheHosts, cfg.RoutingCacheUnknownHosts),
		pages:        parseAdminPages(),
		accountPages: parseAccountPages(),
		metrics:      tel.MetricsOf(),
		life:         ctx,
	}
	s.tenants.metrics = s.metrics
	s.metrics.AddPool("requests", pool)
	s.metrics.WatchJobQueue(pool, log)
	// Like tenantctl's, the admin's migrator locks and migrates over the
	// direct URL (a pooler in transaction mode cannot hold session locks).
	directURL := cfg.DatabaseDirectURL
	if directURL == "" {
		directURL = cfg.DatabaseURL
	}
	if m, err := migrate.New(directURL, pool); err != nil {
		log.Error("the admin cannot provision tenants", "err", err)
	} else {
		s.prov = provision.New(pool, m, hasher).WithPublicHosts(cfg.PublicHosts)
	}
	if q, err := jobs.Open(pool, jobs.Options{Logger: log, Telemetry: tel}); err != nil {
		log.Error("the admin cannot show the job queue", "err", err)
	} else {
		s.queue = q
	}
	var anyHost *mux.Router
	s.tenantRoutes, s.publicRoutes, anyHost = s.routes()
	s.anyHostRoutes, s.anyHostPaths = anyHost, map[string]bool{}
	_ = anyHost.Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		if p, err := r.GetPathTemplate(); err == nil {
			s.anyHostPaths[p] = true
		}
		return nil
	})
	go s.tenants.listen(ctx)
	return observeRequests(log, s.metrics, tel.Tracer("github.com/tenantctl/tenantctl/server"),
		cors(cfg.CORSAllowedOrigins, http.HandlerFunc(s.dispatch)))
}

// dispatch checks the Host against ALLOWED_HOSTS and hands the request to
// the tenant routes when the host is a tenant's domain, to the public routes
// when it is one of PUBLIC_HOSTS, and answers 404 otherwise.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	if sentBothLengths(r) {
		w.Header().Set("Connection", "close")
		writeJSON(w, http.StatusBadRequest, detail{Detail: "A request may not have both Transfer-Encoding and Content-Length."})
		return
	}
	host, ok := splitHost(r.Host)
	if !ok || !hostAllowed(host, s.cfg.AllowedHosts) {
		if host == "" {
			host = r.Host
		}
		writeJSON(w, http.StatusBadRequest, detail{Detail: fmt.Sprintf(
			"Invalid HTTP_HOST header: '%s'. You may need to add '%s' to ALLOWED_HOSTS.", r.Host, host)})
		return
	}
	if s.anyHostPaths[r.URL.Path] {
		// Answered alike on every host, without resolving it: liveness
		// must not depend on the database.
		s.anyHostRoutes.ServeHTTP(w, r)
		return
	}
	t, found, err := s.tenants.resolve(r.Context(), host)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !found {
		if !slices.Contains(s.cfg.PublicHosts, host) {
			// An allowed host that is no tenant's and not the public site:
			// the admin and the welcome page are not served there.
			writeJSON(w, errNotFound.status, errNotFound.body)
			return
		}
		s.publicRoutes.ServeHTTP(w, r)
		return
	}
	requestInfoFrom(r.Context()).Tenant = t.Schema.String()
	s.tenantRoutes.ServeHTTP(w, r.WithContext(withTenant(r.Context(), t)))
}

// handlerFunc is a handler that returns its error for writeError to render.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts a handlerFunc to http.Handler.
func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// writeError renders any error as its JSON response. Unexpected errors are
// logged with the request id and answered without internal details.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, db.ErrTenantGone) {
		// The cached answer for this host is stale (its NOTIFY is on the
		// way, or the schema changed behind the product's back): ask again.
		if host, ok := splitHost(r.Host); ok {
			s.tenants.forget(host)
		}
	}
	ae, unexpected := toAPIError(err)
	if unexpected {
		if r.Context().Err() != nil {
			// The client went away; nobody reads this answer.
			ae = errDetail(499, "Client closed request.")
		} else {
			s.log.ErrorContext(r.Context(), "request failed", "status", ae.status, "err", err)
		}
	}
	for k, vs := range ae.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	writeJSON(w, ae.status, ae.body)
}

// response is what a handler that works inside a transaction answers; it is
// written only after the transaction committed.
type response struct {
	status int
	body   any // nil for no body
}

func (s *Server) respond(w http.ResponseWriter, res response) {
	if res.body == nil {
		w.WriteHeader(res.status)
		return
	}
	writeJSON(w, res.status, res.body)
}

// Run serves HTTP on cfg.ListenAddr until ctx ends, then shuts down
// gracefully, letting in-flight requests finish. tel is as in New.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger, pool *db.Pool, tel *telemetry.Telemetry) error {
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return err
	}
	return Serve(ctx, ln, cfg, log, pool, tel)
}

// Serve is Run on a listener the caller opened.
func Serve(ctx context.Context, ln net.Listener, cfg config.Config, log *slog.Logger, pool *db.Pool, tel *telemetry.Telemetry) error {
	hctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	srv := &http.Server{
		Handler:           New(hctx, cfg, log, pool, password.NewHasher(0), tel),
		ConnContext:       withConn,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(framingListener{ln}) }()
	log.Info("serving", "addr", ln.Addr().String(), "env", cfg.Env)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
