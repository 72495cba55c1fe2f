package config

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// DefaultMetricsTopTenants is METRICS_TOP_TENANTS when unset.
const DefaultMetricsTopTenants = 20

// maxMetricsTopTenants bounds METRICS_TOP_TENANTS: each is a series of its
// own, and a scrape of thousands of them would be the unbounded case the
// setting exists to prevent.
const maxMetricsTopTenants = 1000

// Tracing is the OpenTelemetry trace export, read from the standard OTEL_*
// variables. Endpoint "" turns tracing off.
type Tracing struct {
	// Endpoint is the OTLP/HTTP URL spans are POSTed to: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
	// as given, or OTEL_EXPORTER_OTLP_ENDPOINT with /v1/traces appended.
	Endpoint string
	// Headers are sent with every export (OTEL_EXPORTER_OTLP_HEADERS, then
	// OTEL_EXPORTER_OTLP_TRACES_HEADERS on top).
	Headers map[string]string
	// ServiceName is OTEL_SERVICE_NAME, default tenantctl.
	ServiceName string
	// ResourceAttributes are OTEL_RESOURCE_ATTRIBUTES.
	ResourceAttributes map[string]string
	// Sampler is OTEL_TRACES_SAMPLER (default parentbased_always_on) and
	// SamplerArg its OTEL_TRACES_SAMPLER_ARG ratio for the traceidratio ones.
	Sampler    string
	SamplerArg float64
}

var samplers = []string{"always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"}

// loadTelemetry reads METRICS_ADDR, METRICS_TOP_TENANTS and the OTEL_*
// variables into c.
func (c *Config) loadTelemetry(get func(k, def string) string) []error {
	var errs []error
	c.MetricsAddr = get("METRICS_ADDR", "")
	var err error
	if c.MetricsTopTenants, err = count("METRICS_TOP_TENANTS", get("METRICS_TOP_TENANTS", strconv.Itoa(DefaultMetricsTopTenants)), 0); err != nil {
		errs = append(errs, err)
	} else if c.MetricsTopTenants > maxMetricsTopTenants {
		errs = append(errs, fmt.Errorf("METRICS_TOP_TENANTS: %d is more than %d: every one is a series of its own", c.MetricsTopTenants, maxMetricsTopTenants))
	}

	if disabled, err := boolean("OTEL_SDK_DISABLED", get("OTEL_SDK_DISABLED", "false")); err != nil {
		errs = append(errs, err)
	} else if disabled {
		return errs
	}
	t := Tracing{ServiceName: get("OTEL_SERVICE_NAME", "tenantctl"), Sampler: get("OTEL_TRACES_SAMPLER", "parentbased_always_on")}
	if e := get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""); e != "" {
		t.Endpoint = e
	} else if e := get("OTEL_EXPORTER_OTLP_ENDPOINT", ""); e != "" {
		t.Endpoint = strings.TrimSuffix(e, "/") + "/v1/traces"
	}
	if t.Endpoint == "" {
		return errs
	}
	if u, err := url.Parse(t.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: %q is not an http(s) URL such as http://localhost:4318", t.Endpoint))
	}
	if p := get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")); p != "http/protobuf" {
		errs = append(errs, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL: %q is not supported; tenantctl exports http/protobuf only", p))
	}
	t.Headers = map[string]string{}
	for _, k := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		if err := keyValues(k, get(k, ""), t.Headers); err != nil {
			errs = append(errs, err)
		}
	}
	t.ResourceAttributes = map[string]string{}
	if err := keyValues("OTEL_RESOURCE_ATTRIBUTES", get("OTEL_RESOURCE_ATTRIBUTES", ""), t.ResourceAttributes); err != nil {
		errs = append(errs, err)
	}
	switch {
	case !slices.Contains(samplers, t.Sampler):
		errs = append(errs, fmt.Errorf("OTEL_TRACES_SAMPLER: %q is not one of %s", t.Sampler, strings.Join(samplers, ", ")))
	case strings.HasSuffix(t.Sampler, "traceidratio"):
		arg := get("OTEL_TRACES_SAMPLER_ARG", "1")
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			errs = append(errs, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG: %q is not a ratio between 0 and 1", arg))
		}
		t.SamplerArg = r
	}
	c.Tracing = t
	return errs
}

// keyValues parses the W3C baggage-like list the OTEL_* variables use,
// k1=v1,k2=v2 with URL-encoded values, into into.
func keyValues(name, v string, into map[string]string) error {
	for _, p := range splitList(v) {
		k, val, ok := strings.Cut(p, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return fmt.Errorf("%s: %q is not a list of key=value", name, v)
		}
		dec, err := url.PathUnescape(strings.TrimSpace(val))
		if err != nil {
			return fmt.Errorf("%s: the value of %q is not URL-encoded", name, k)
		}
		into[k] = dec
	}
	return nil
}
