package mail_test

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/mail"
)

func TestParseURL(t *testing.T) {
	good := []struct {
		name, url string
		want      mail.Settings
	}{
		{"Mailpit", "smtp://mailpit:1025", mail.Settings{Host: "mailpit", Port: 1025, TLS: mail.STARTTLS}},
		{"DefaultPort", "smtp://mx.example.com", mail.Settings{Host: "mx.example.com", Port: 587, TLS: mail.STARTTLS}},
		{"Auth", "smtp://u%40x:p%2Fw@mx.example.com:587", mail.Settings{Host: "mx.example.com", Port: 587, Username: "u@x", Password: "p/w", TLS: mail.STARTTLS}},
		{"Required", "smtp://mx.example.com:587?tls=required", mail.Settings{Host: "mx.example.com", Port: 587, TLS: mail.STARTTLSRequired}},
		{"Implicit", "smtps://u:p@mx.example.com", mail.Settings{Host: "mx.example.com", Port: 465, Username: "u", Password: "p", TLS: mail.Implicit}},
		{"IPv6", "smtp://[::1]:25", mail.Settings{Host: "::1", Port: 25, TLS: mail.STARTTLS}},
	}
	for _, c := range good {
		t.Run(c.name, func(t *testing.T) {
			got, err := mail.ParseURL(c.url)
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
	bad := []struct{ name, url, msg string }{
		{"ErrScheme", "http://mx.example.com", "not smtp or smtps"},
		{"ErrNoScheme", "mx.example.com:25", "not smtp or smtps"},
		{"ErrNoHost", "smtp://", "no host"},
		{"ErrNoHostPort", "smtp://:25", "no host"},
		{"ErrPort", "smtp://mx:0", "port"},
		{"ErrPortText", "smtp://mx:abc", ""},
		{"ErrPath", "smtp://mx:25/x", "path"},
		{"ErrParam", "smtp://mx:25?starttls=1", "unknown parameter"},
		{"ErrTLSValue", "smtp://mx:25?tls=yes", "only value is required"},
		{"ErrTLSOnSMTPS", "smtps://mx?tls=required", "smtps"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := mail.ParseURL(c.url)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.msg)
		})
	}
}

func TestParseURLHidesPassword(t *testing.T) {
	_, err := mail.ParseURL("smtp://u:s3cret@mx:99999")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret")
}

func TestLogSender(t *testing.T) {
	var buf bytes.Buffer
	s := mail.NewLog(slog.New(slog.NewTextHandler(&buf, nil)), "tenantctl <noreply@localhost>")
	require.NoError(t, s.Send(t.Context(), mail.Message{To: "ann@example.com", Subject: "Welcome", Text: "Hello Ann.", HTML: "<p>Hello</p>"}))
	for _, want := range []string{"not sent: no SMTP_URL", "to=ann@example.com", "subject=Welcome", `text="Hello Ann."`} {
		assert.Contains(t, buf.String(), want)
	}
}
