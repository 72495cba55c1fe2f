// Package password hashes and checks passwords with argon2id, bounding how
// many hashes run at once: each costs Memory KiB, so a burst of sign-ins
// must not exhaust the machine.
package password

import (
	"context"
	"runtime"
	"sync"

	"github.com/alexedwards/argon2id"
)

// Params are the argon2id costs: OWASP's first recommendation
// (19 MiB, 2 passes, 1 lane).
var Params = argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Hasher hashes and verifies passwords, at most a fixed number at a time.
type Hasher struct {
	params argon2id.Params
	slots  chan struct{}
	// dummy is a real hash verified when the user does not exist, so a
	// failed sign-in costs the same either way and does not reveal usernames.
	// It is made by the first Verify, whatever its user: a process that
	// never verifies (most tenantctl commands) never pays its 19 MiB and
	// its time.
	dummy     string
	dummyOnce sync.Once
}

// NewHasher returns a Hasher running at most max hashes at once (0 means one
// per CPU).
func NewHasher(max int) *Hasher {
	if max <= 0 {
		max = runtime.GOMAXPROCS(0)
	}
	return &Hasher{params: Params, slots: make(chan struct{}, max)}
}

// dummyHash returns h.dummy, making it on the first call.
func (h *Hasher) dummyHash() string {
	h.dummyOnce.Do(func() {
		dummy, err := argon2id.CreateHash("dummy password for absent users", &h.params)
		if err != nil {
			panic(err) // only fails if the system's random source does
		}
		h.dummy = dummy
	})
	return h.dummy
}

// Hash returns the argon2id hash of plain, in the PHC string format. It
// returns ctx's error if ctx ends while waiting for a slot.
func (h *Hasher) Hash(ctx context.Context, plain string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return argon2id.CreateHash(plain, &h.params)
}

// Verify reports whether plain matches hash. An empty hash (no such user)
// still spends the work of a real check and reports false.
func (h *Hasher) Verify(ctx context.Context, plain, hash string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	dummy := h.dummyHash() // before looking at hash: the first call costs the same either way
	if hash == "" {
		_, _ = argon2id.ComparePasswordAndHash(plain, dummy)
		return false, nil
	}
	ok, err := argon2id.ComparePasswordAndHash(plain, hash)
	if err != nil {
		return false, err
	}
	return ok, nil
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }
