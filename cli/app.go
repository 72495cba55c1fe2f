// Package cli is tenantctl, the command-line tool that migrates the database,
// provisions tenants, domains and users, and runs the HTTP server.
//
// Commands are built by functions that receive their dependencies, return
// errors instead of exiting, and write only to the writers they are given, so
// tests run the whole app in-process against a real database.
package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/riverqueue/river"
	ucli "github.com/urfave/cli/v3"
	"golang.org/x/term"

	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/migrate"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/provision"
	"github.com/tenantctl/tenantctl/server"
	"github.com/tenantctl/tenantctl/telemetry"
)

// ServeFunc runs the HTTP server until ctx ends, with tel's metrics and
// tracing; server.Run is the real one.
type ServeFunc func(ctx context.Context, cfg config.Config, log *slog.Logger, pool *db.Pool, tel *telemetry.Telemetry) error

// Options are the app's dependencies. Run fills them from the process;
// tests fill them with buffers, fakes and their own database.
type Options struct {
	// Getenv reads configuration variables. Variables it leaves empty are
	// taken from the DotEnv file.
	Getenv func(string) string
	// DotEnv is the path of a .env file to read if it exists; "" reads none.
	DotEnv string

	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Terminal is the interactive terminal on stdin, or nil when stdin is
	// not a terminal: then nothing prompts, and commands that would ask
	// refuse instead.
	Terminal Terminal
	// StdoutTerminal reports that stdout is a terminal, which turns
	// migrate's per-tenant lines into one live progress line.
	StdoutTerminal bool

	// TenantMigrations, if not nil, replaces the embedded tenant migrations
	// (files under "tenant/"), so tests can add a migration.
	TenantMigrations fs.FS
	// Serve runs the HTTP server; nil means server.Run.
	Serve ServeFunc
	// Version is what --version prints; "" means the package's Version.
	Version string

	// JobWorkers register background job workers besides the product's
	// own (jobs.Builtin); tests add failing ones.
	JobWorkers []func(ws *river.Workers, pool *db.Pool)
	// JobPollInterval, if not zero, is how often workers look for jobs
	// (River's default: 1s); tests shorten it.
	JobPollInterval time.Duration
	// WebhookSchedule, if not nil, replaces the webhook retry schedule
	// (webhook.DefaultSchedule); tests shorten it.
	WebhookSchedule []time.Duration
	// ProgressInterval, if not zero, is how often migrate reports its
	// progress and rate on stderr when stdout is not a terminal (default
	// 5s); tests shorten it.
	ProgressInterval time.Duration
}

// Run runs tenantctl with args (args[0] is the program name) the way the
// binary does: .env is read from the working directory, and stdin and stdout
// that are terminals enable prompts and the live progress line. Its error,
// if any, is one line for stderr; ExitCode gives the exit status.
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return New(Options{
		Getenv:         getenv,
		DotEnv:         ".env",
		Stdin:          stdin,
		Stdout:         stdout,
		Stderr:         stderr,
		Terminal:       stdinTerminal(stdin),
		StdoutTerminal: isTerminal(stdout),
	}).Run(ctx, args)
}

// App is tenantctl with its dependencies fixed. It holds no state between
// runs, so one App may Run many times, also concurrently.
type App struct {
	opts Options
}

// New returns the app. Nil readers and writers read nothing and discard.
func New(opts Options) *App {
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	if opts.Stdin == nil {
		opts.Stdin = strings.NewReader("")
	}
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	if opts.Serve == nil {
		opts.Serve = server.Run
	}
	if opts.Version == "" {
		opts.Version = Version
	}
	return &App{opts: opts}
}

// Run runs one command line (args[0] is the program name). The error it
// returns has a one-line message; ExitCode tells usage errors apart.
func (a *App) Run(ctx context.Context, args []string) error {
	inv := &invocation{opts: a.opts}
	defer inv.close()
	return describe(rootCommand(inv).Run(ctx, args))
}

// invocation is the state of one run: the configuration and the database
// connections, each made only when a command first needs it, so that help
// and usage errors work without a database.
type invocation struct {
	opts  Options
	cfg   *config.Config
	log   *slog.Logger
	stdin *bufio.Reader
	pool  *db.Pool
	// jobPool is the job workers' own pool, when serve runs workers.
	jobPool  *db.Pool
	migrator *migrate.Migrator
	svc      *provision.Service
}

// config loads and validates the configuration.
func (inv *invocation) config() (config.Config, error) {
	if inv.cfg != nil {
		return *inv.cfg, nil
	}
	getenv := inv.opts.Getenv
	if inv.opts.DotEnv != "" {
		vars, err := config.LoadDotEnv(inv.opts.DotEnv)
		if err != nil {
			return config.Config{}, fmt.Errorf("read %s: %w", inv.opts.DotEnv, err)
		}
		// An empty variable counts as unset, as it does in config.Load.
		getenv = config.Getenv(func(k string) (string, bool) {
			v := inv.opts.Getenv(k)
			return v, v != ""
		}, vars)
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return config.Config{}, fmt.Errorf("invalid configuration: %w", err)
	}
	inv.cfg = &cfg
	inv.log = newLogger(cfg, inv.opts.Stderr)
	return cfg, nil
}

// open connects to the database and builds the migrator and the
// provisioning service.
func (inv *invocation) open(ctx context.Context) error {
	if inv.pool != nil {
		return nil
	}
	cfg, err := inv.config()
	if err != nil {
		return err
	}
	pool, err := db.Open(ctx, cfg.DatabaseURL, cfg.DBLimits())
	if err != nil {
		return err
	}
	m, err := migrate.New(cfg.DatabaseDirectURL, pool)
	if err != nil {
		pool.Close()
		return err
	}
	if inv.opts.TenantMigrations != nil {
		m.Tenant = inv.opts.TenantMigrations
	}
	m.SchemasPerConn = cfg.MaxSchemasPerConn
	inv.pool, inv.migrator = pool, m
	inv.svc = provision.New(pool, m, password.NewHasher(0)).WithPublicHosts(cfg.PublicHosts)
	return nil
}

func (inv *invocation) close() {
	if inv.jobPool != nil {
		inv.jobPool.Close()
	}
	if inv.pool != nil {
		inv.pool.Close()
	}
}

// out and errOut are where commands print results and prompts.
func (inv *invocation) out() io.Writer    { return inv.opts.Stdout }
func (inv *invocation) errOut() io.Writer { return inv.opts.Stderr }

// readLine reads one line from stdin without its line ending. It gives up
// when ctx ends (Ctrl-C at a prompt), leaving the read behind: the process
// is about to exit.
func (inv *invocation) readLine(ctx context.Context) (string, error) {
	if inv.stdin == nil {
		inv.stdin = bufio.NewReader(inv.opts.Stdin)
	}
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		line, err := inv.stdin.ReadString('\n')
		if errors.Is(err, io.EOF) && line != "" {
			err = nil
		}
		done <- result{strings.TrimRight(line, "\r\n"), err}
	}()
	select {
	case r := <-done:
		if errors.Is(r.err, io.EOF) {
			return "", errors.New("stdin ended before a line was read")
		}
		return r.line, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// stdinTerminal returns the terminal on r, or nil if r is not one.
func stdinTerminal(r io.Reader) Terminal {
	if f, ok := r.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return fdTerminal{fd: int(f.Fd()), prompt: os.Stderr}
	}
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// rootCommand builds the command tree of one invocation.
func rootCommand(inv *invocation) *ucli.Command {
	root := &ucli.Command{
		Name:  "tenantctl",
		Usage: "run and administer the schema-per-tenant SaaS backend",
		Description: "Configuration comes from the environment and from a .env file in the working\n" +
			"directory (DATABASE_URL, SECRET_KEY, APP_ENV, LISTEN_ADDR, LOG_LEVEL, LOG_FORMAT, ...).",
		Version: versionText(inv.opts.Version),
		// tenantctl completion bash|zsh|fish prints a completion script.
		EnableShellCompletion: true,
		ConfigureShellCompletionCommand: func(c *ucli.Command) {
			c.Hidden = false
			c.Usage = "print a shell completion script: tenantctl completion bash|zsh|fish"
			c.Action = func(_ context.Context, cmd *ucli.Command) error {
				if cmd.Args().Present() {
					return usageErrorf("completion: unknown shell %q; use bash, zsh or fish", cmd.Args().First())
				}
				return usageErrorf("completion: missing shell: bash, zsh or fish")
			}
		},
		Reader:    inv.opts.Stdin,
		Writer:    inv.opts.Stdout,
		ErrWriter: inv.opts.Stderr,
		// The library's default handler calls os.Exit; errors go back to
		// the caller instead.
		ExitErrHandler: func(context.Context, *ucli.Command, error) {},
		Action:         groupAction,
		Commands: []*ucli.Command{
			migrateCommand(inv),
			statusCommand(inv),
			tenantCommand(inv),
			domainCommand(inv),
			userCommand(inv),
			superuserCommand(inv),
			apikeyCommand(inv),
			demoCommand(inv),
			serveCommand(inv),
			jobsCommand(inv),
			auditCommand(inv),
			clusterCommand(inv),
		},
	}
	// OnUsageError is not inherited, so every command gets it: it marks the
	// error as a usage error (exit 2) and keeps the library from printing
	// the whole help text on top of the one error line.
	var setUsage func(c *ucli.Command)
	setUsage = func(c *ucli.Command) {
		c.OnUsageError = func(_ context.Context, cmd *ucli.Command, err error, _ bool) error {
			return usageError{flagError(cmd, err)}
		}
		for _, sub := range c.Commands {
			setUsage(sub)
		}
	}
	setUsage(root)
	return root
}

// groupAction runs for a command that only holds subcommands: it shows the
// help when none was named and rejects an unknown one.
func groupAction(_ context.Context, cmd *ucli.Command) error {
	if cmd.Args().Present() {
		return usageErrorf("unknown command %q; run %s --help", cmd.Args().First(), cmd.FullName())
	}
	if cmd.Root() == cmd {
		_ = ucli.ShowRootCommandHelp(cmd)
		return usageErrorf("missing command")
	}
	_ = ucli.ShowSubcommandHelp(cmd)
	return usageErrorf("%s: missing command", cmd.Name)
}

// action wraps a leaf command's work: leaf commands take flags only, so a
// stray argument (often a forgotten flag name) is a usage error.
func action(fn func(ctx context.Context, cmd *ucli.Command) error) ucli.ActionFunc {
	return func(ctx context.Context, cmd *ucli.Command) error {
		if cmd.Args().Present() {
			return usageErrorf("unexpected argument %q; run %s --help", cmd.Args().First(), cmd.FullName())
		}
		return fn(ctx, cmd)
	}
}

// schemaFlag is the --schema flag of the commands that name one tenant.
func schemaFlag() *ucli.StringFlag {
	return &ucli.StringFlag{Name: "schema", Usage: "the tenant's schema name", Required: true}
}
