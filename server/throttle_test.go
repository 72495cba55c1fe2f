package server

import (
	"testing"
	"time"
)

func TestThrottleWindow(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	th := newThrottle(func() time.Time { return now })
	for range 3 {
		if d := th.blocked("k", 3); d != 0 {
			t.Fatalf("blocked before the limit: %v", d)
		}
		th.fail("k")
	}
	if d := th.blocked("k", 3); d != throttleWindow {
		t.Fatalf("blocked = %v, want %v", d, throttleWindow)
	}
	if d := th.blocked("other", 3); d != 0 {
		t.Fatalf("another key is blocked: %v", d)
	}
	now = now.Add(throttleWindow)
	if d := th.blocked("k", 3); d != 0 {
		t.Fatalf("still blocked after the window: %v", d)
	}
	th.fail("k")
	if len(th.buckets) != 1 || th.buckets["k"].failures != 1 {
		t.Fatalf("a new window starts from one failure: %+v", th.buckets["k"])
	}
}
