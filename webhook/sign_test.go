package webhook_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/webhook"
)

// The Standard Webhooks spec's own example (its libraries' tests): secret,
// message id, timestamp and body, and the signature they must give.
const (
	specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTS     = 1614265330
	specBody   = `{"test": 2432232314}`
	specSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignSpecVector(t *testing.T) {
	key, err := webhook.ParseSecret(specSecret)
	require.NoError(t, err)
	assert.Equal(t, specSig, webhook.Sign(key, specID, time.Unix(specTS, 0), []byte(specBody)))
	assert.Equal(t, specSecret, webhook.FormatSecret(key), "the secret round-trips")
}

func specHeader(sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", specID)
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", sig)
	return h
}

func TestVerify(t *testing.T) {
	at := time.Unix(specTS, 0)
	assert.NoError(t, webhook.VerifyAt(specSecret, specHeader(specSig), []byte(specBody), at))
	assert.NoError(t, webhook.VerifyAt(specSecret, specHeader("v1,bm90IHRoaXMgb25l "+specSig), []byte(specBody), at.Add(4*time.Minute)),
		"one of several signatures")
	assert.ErrorIs(t, webhook.VerifyAt(specSecret, specHeader(specSig), []byte(specBody+" "), at), webhook.ErrSignature, "a changed body")
	assert.ErrorIs(t, webhook.VerifyAt("whsec_"+strings.Repeat("A", 32), specHeader(specSig), []byte(specBody), at), webhook.ErrSignature, "another secret")
	assert.ErrorIs(t, webhook.VerifyAt(specSecret, specHeader(specSig), []byte(specBody), at.Add(6*time.Minute)), webhook.ErrTimestamp, "a replay")
	assert.ErrorIs(t, webhook.VerifyAt(specSecret, specHeader(specSig), []byte(specBody), at.Add(-6*time.Minute)), webhook.ErrTimestamp, "from the future")
	h := specHeader(specSig)
	h.Del("webhook-id")
	assert.ErrorIs(t, webhook.VerifyAt(specSecret, h, []byte(specBody), at), webhook.ErrMissingHeaders)
	h = specHeader(specSig)
	h.Set("webhook-timestamp", "soon")
	assert.ErrorIs(t, webhook.VerifyAt(specSecret, h, []byte(specBody), at), webhook.ErrTimestamp)
	assert.Error(t, webhook.VerifyAt("whsec_!!!", specHeader(specSig), []byte(specBody), at), "a malformed secret")

	// A fresh secret signs and verifies now.
	key := webhook.NewSecret()
	assert.Len(t, key, 32)
	secret := webhook.FormatSecret(key)
	assert.True(t, strings.HasPrefix(secret, "whsec_"))
	now := time.Now()
	h = http.Header{}
	h.Set("webhook-id", "msg_x")
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", webhook.Sign(key, "msg_x", now, []byte(`{}`)))
	assert.NoError(t, webhook.Verify(secret, h, []byte(`{}`)))
}
