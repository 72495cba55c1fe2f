package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadTelemetry(t *testing.T) {
	t.Run("OKOffByDefault", func(t *testing.T) {
		c, err := Load(env(nil))
		require.NoError(t, err)
		assert.Empty(t, c.MetricsAddr)
		assert.Equal(t, DefaultMetricsTopTenants, c.MetricsTopTenants)
		assert.Empty(t, c.Tracing.Endpoint, "tracing off")
	})
	t.Run("OKEndpoint", func(t *testing.T) {
		c, err := Load(env(map[string]string{
			"METRICS_ADDR": ":9090", "METRICS_TOP_TENANTS": "5",
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/", "OTEL_EXPORTER_OTLP_HEADERS": "api-key=a%20b,x=1",
			"OTEL_SERVICE_NAME": "api", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25",
		}))
		require.NoError(t, err)
		assert.Equal(t, ":9090", c.MetricsAddr)
		assert.Equal(t, 5, c.MetricsTopTenants)
		assert.Equal(t, Tracing{
			Endpoint: "http://collector:4318/v1/traces", Headers: map[string]string{"api-key": "a b", "x": "1"},
			ServiceName: "api", ResourceAttributes: map[string]string{}, Sampler: "parentbased_traceidratio", SamplerArg: 0.25,
		}, c.Tracing)
	})
	t.Run("OKTracesEndpointAsGiven", func(t *testing.T) {
		c, err := Load(env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://b/traces"}))
		require.NoError(t, err)
		assert.Equal(t, "https://b/traces", c.Tracing.Endpoint)
	})
	t.Run("OKSDKDisabled", func(t *testing.T) {
		c, err := Load(env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_SDK_DISABLED": "true"}))
		require.NoError(t, err)
		assert.Empty(t, c.Tracing.Endpoint)
	})
	for name, c := range map[string]struct {
		env  map[string]string
		want string
	}{
		"ErrTopTenants":    {map[string]string{"METRICS_TOP_TENANTS": "-1"}, `METRICS_TOP_TENANTS: "-1" is not a whole number of at least 0`},
		"ErrTopTenantsMax": {map[string]string{"METRICS_TOP_TENANTS": "5000"}, "METRICS_TOP_TENANTS: 5000 is more than 1000"},
		"ErrEndpoint":      {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, `OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318/v1/traces" is not an http(s) URL`},
		"ErrProtocol":      {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, `"grpc" is not supported`},
		"ErrHeaders":       {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a", "OTEL_EXPORTER_OTLP_HEADERS": "novalue"}, "OTEL_EXPORTER_OTLP_HEADERS: \"novalue\" is not a list of key=value"},
		"ErrSampler":       {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a", "OTEL_TRACES_SAMPLER": "sometimes"}, `OTEL_TRACES_SAMPLER: "sometimes" is not one of`},
		"ErrSamplerArg":    {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a", "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}, `OTEL_TRACES_SAMPLER_ARG: "2" is not a ratio`},
		"ErrDisabled":      {map[string]string{"OTEL_SDK_DISABLED": "maybe"}, `OTEL_SDK_DISABLED: "maybe" is not true or false`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(env(c.env))
			assert.ErrorContains(t, err, c.want)
		})
	}
}
