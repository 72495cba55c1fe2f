package webhook_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/webhook"
)

func TestRefused(t *testing.T) {
	for _, a := range []string{
		"127.0.0.1", "127.1.2.3", "::1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "fc00::1", "fd12::1",
		"169.254.169.254", "fe80::1", "0.0.0.0", "::", "224.0.0.1", "ff02::1", "100.64.0.1",
		"::ffff:127.0.0.1", "::ffff:10.1.1.1", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "2002:7f00:1::",
		"255.255.255.255", "198.18.0.1",
	} {
		assert.NotEmpty(t, webhook.Refused(netip.MustParseAddr(a)), a)
	}
	for _, a := range []string{"93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "100.128.0.1", "172.32.0.1"} {
		assert.Empty(t, webhook.Refused(netip.MustParseAddr(a)), a)
	}
	for _, h := range []string{"localhost", "LOCALHOST.", "api.localhost", "127.0.0.1", "::1", "10.2.3.4"} {
		assert.NotEmpty(t, webhook.RefusedHost(h), h)
	}
	for _, h := range []string{"example.com", "8.8.8.8", "localhost.example.com"} {
		assert.Empty(t, webhook.RefusedHost(h), h)
	}
}

// TestClientGuard: the guard checks the address connected to, so a
// receiver on 127.0.0.1 is refused whatever name leads there, unless
// private addresses are allowed.
func TestClientGuard(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.WriteHeader(204)
	}))
	defer srv.Close()
	get := func(c *http.Client, url string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(context.Background(), "POST", url, nil)
		require.NoError(t, err)
		res, err := c.Do(req)
		if err == nil {
			_ = res.Body.Close()
		}
		return res, err
	}

	guarded := webhook.NewClient(webhook.ClientOptions{})
	_, err := get(guarded, srv.URL)
	require.Error(t, err)
	assert.ErrorIs(t, err, webhook.ErrRefusedAddress)
	// localhost resolves to 127.0.0.1 (or ::1): the name does not help.
	_, err = get(guarded, "http://localhost:"+srv.URL[len("http://127.0.0.1:"):])
	assert.ErrorIs(t, err, webhook.ErrRefusedAddress)
	assert.Zero(t, hits, "nothing reached the receiver")

	open := webhook.NewClient(webhook.ClientOptions{AllowPrivate: true})
	res, err := get(open, srv.URL)
	require.NoError(t, err)
	assert.Equal(t, 204, res.StatusCode)
	assert.Equal(t, 1, hits)
}

// TestClientNoRedirect: a redirect is the answer, never followed (it
// could point anywhere, private addresses included).
func TestClientNoRedirect(t *testing.T) {
	followed := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			followed = true
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	c := webhook.NewClient(webhook.ClientOptions{AllowPrivate: true})
	req, err := http.NewRequestWithContext(context.Background(), "POST", srv.URL, nil)
	require.NoError(t, err)
	res, err := c.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	assert.Equal(t, http.StatusTemporaryRedirect, res.StatusCode)
	assert.False(t, followed)
}
