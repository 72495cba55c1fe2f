package cli

import (
	"io"
	"log/slog"

	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/telemetry"
)

// newLogger is the one place the logger is made: JSON (for log collectors)
// or text (for people) per LOG_FORMAT, at LOG_LEVEL, to w. A line logged
// with a request's or job's context names its request id and tenant
// (telemetry.Scope), whichever package logs it.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(telemetry.LogHandler(h))
}
