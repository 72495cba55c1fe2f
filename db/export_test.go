package db

// Waiting is how many tenant transactions wait for a connection, for tests
// that must line up waiters before a release.
func (p *Pool) Waiting() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.waiters)
}
