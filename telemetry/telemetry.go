// Package telemetry is the product's metrics and traces: the Prometheus
// metrics and their registry, the METRICS_ADDR listener serving /metrics,
// the OpenTelemetry tracer provider exporting spans over OTLP/HTTP, and the
// Scope that puts a request's or job's tenant and request id on every log
// line.
//
// Both are off unless configured (METRICS_ADDR, OTEL_EXPORTER_OTLP_ENDPOINT),
// and off costs next to nothing: a nil *Metrics and a nil tracer, checked
// once per request.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tenantctl/tenantctl/config"
)

// Telemetry is one process's metrics and tracing. The zero of each is off;
// a nil *Telemetry is entirely off.
type Telemetry struct {
	// Metrics is nil unless METRICS_ADDR is set.
	Metrics *Metrics
	tp      *sdktrace.TracerProvider // nil unless tracing is on
	srv     *http.Server
	ln      net.Listener
	done    chan struct{}
}

// Propagator carries a trace's context across processes: W3C traceparent
// and tracestate, in HTTP headers and in job metadata.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// Start turns on what cfg configures: the metrics listener on
// cfg.MetricsAddr and the span exporter to cfg.Tracing.Endpoint. It returns
// the listener's error (an address in use, a bad address). Shutdown stops
// both.
func Start(ctx context.Context, cfg config.Config, log *slog.Logger, version string) (*Telemetry, error) {
	t := &Telemetry{}
	if cfg.Tracing.Endpoint != "" {
		tp, err := newTracerProvider(ctx, cfg.Tracing, version)
		if err != nil {
			return nil, err
		}
		t.tp = tp
		log.Info("tracing on", "endpoint", cfg.Tracing.Endpoint, "sampler", cfg.Tracing.Sampler)
	}
	if cfg.MetricsAddr != "" {
		t.Metrics = NewMetrics(cfg.MetricsTopTenants)
		ln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			_ = t.Shutdown(ctx)
			return nil, fmt.Errorf("METRICS_ADDR: cannot listen on %q: %w", cfg.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(t.Metrics.reg, promhttp.HandlerOpts{
			// A collector that fails (the job queue's, with the database
			// down) leaves its series out rather than failing the scrape.
			ErrorHandling: promhttp.ContinueOnError,
			ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelError),
		}))
		t.ln, t.done = ln, make(chan struct{})
		t.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		go func() {
			defer close(t.done)
			if err := t.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics listener stopped", "err", err)
			}
		}()
		log.Info("serving metrics", "addr", ln.Addr().String(), "path", "/metrics")
	}
	return t, nil
}

// MetricsAddr is the metrics listener's address (its port when
// METRICS_ADDR asked for port 0), or nil when metrics are off.
func (t *Telemetry) MetricsAddr() net.Addr {
	if t == nil || t.ln == nil {
		return nil
	}
	return t.ln.Addr()
}

// MetricsOf returns t's metrics; nil (off) for a nil t.
func (t *Telemetry) MetricsOf() *Metrics {
	if t == nil {
		return nil
	}
	return t.Metrics
}

// Tracer returns the tracer named name, or nil when tracing is off.
func (t *Telemetry) Tracer(name string) trace.Tracer {
	if t == nil || t.tp == nil {
		return nil
	}
	return t.tp.Tracer(name)
}

// Shutdown stops the metrics listener and exports the spans not yet sent,
// giving up when ctx ends.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	var errs []error
	if t.srv != nil {
		errs = append(errs, t.srv.Shutdown(ctx))
		<-t.done
	}
	if t.tp != nil {
		if err := t.tp.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("export the last spans: %w", err))
		}
	}
	return errors.Join(errs...)
}

// newTracerProvider exports spans in batches to c.Endpoint over OTLP/HTTP.
func newTracerProvider(ctx context.Context, c config.Tracing, version string) (*sdktrace.TracerProvider, error) {
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(c.Endpoint), otlptracehttp.WithHeaders(c.Headers))
	if err != nil {
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: %w", err)
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", c.ServiceName), attribute.String("service.version", version)}
	for k, v := range c.ResourceAttributes {
		if k != "service.name" {
			attrs = append(attrs, attribute.String(k, v))
		}
	}
	return sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attrs...)),
		sdktrace.WithSampler(sampler(c)),
	), nil
}

// sampler is c's OTEL_TRACES_SAMPLER (config checked its name).
func sampler(c config.Tracing) sdktrace.Sampler {
	switch c.Sampler {
	case "always_on":
		return sdktrace.AlwaysSample()
	case "always_off":
		return sdktrace.NeverSample()
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(c.SamplerArg)
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample())
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(c.SamplerArg))
	}
	return sdktrace.ParentBased(sdktrace.AlwaysSample())
}
