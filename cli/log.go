package cli

import (
	"io"
	"log/slog"

	"github.com/tenantctl/tenantctl/config"
)

// newLogger is the one place the logger is made: JSON (for log collectors)
// or text (for people) per LOG_FORMAT, at LOG_LEVEL, to w.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
