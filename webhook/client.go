package webhook

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// DefaultTimeout bounds one delivery attempt: connecting, sending, and
// the response's headers and (limited) body.
const DefaultTimeout = 10 * time.Second

// ErrRefusedAddress is the error of a connection refused by the SSRF
// guard: the endpoint resolved to an address a delivery must not reach.
var ErrRefusedAddress = errors.New("refused address")

// ClientOptions configure NewClient.
type ClientOptions struct {
	// AllowPrivate lets deliveries reach loopback, private and link-local
	// addresses (WEBHOOK_ALLOW_PRIVATE: development and tests).
	AllowPrivate bool
	// Timeout bounds each request; 0 means DefaultTimeout.
	Timeout time.Duration
}

// NewClient returns the HTTP client of deliveries. Unless AllowPrivate, it
// refuses to connect to an address that Refused reports, checked on the
// address each connection actually dials, after DNS resolution: a hostname
// that resolves (or is re-bound between a check and the connection) to
// 127.0.0.1, 10.x, 169.254.169.254 and the like is refused. It follows no
// redirect (a 3xx is the answer, and a failure) and uses no proxy (which
// would dial on the caller's behalf, unchecked).
func NewClient(o ClientOptions) *http.Client {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !o.AllowPrivate {
		dialer.Control = guard
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// guard is the dialer's Control: it runs after resolution, on the very
// address about to be connected, so DNS cannot smuggle a private address
// past it.
func guard(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q is not an IP address", ErrRefusedAddress, address)
	}
	if why := Refused(ap.Addr()); why != "" {
		return fmt.Errorf("%w: %s is %s", ErrRefusedAddress, ap.Addr().Unmap(), why)
	}
	return nil
}

// refusedPrefixes are the special-purpose ranges that netip's predicates
// do not name: IPv4 "this network", carrier-grade NAT (often internal to a
// cloud), IETF protocol assignments, benchmarking, reserved and broadcast,
// and NAT64's and 6to4's embeddings (which Refused checks inside, too).
var refusedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
}

var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4 = netip.MustParsePrefix("2002::/16")
)

// Refused says why a delivery must not connect to ip ("" if it may): a
// loopback, private (RFC 1918, fc00::/7), link-local (169.254.0.0/16,
// fe80::/10), unspecified, multicast or other special-purpose address, in
// its IPv4 or IPv4-mapped IPv6 form.
func Refused(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return "not an address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "a link-local address"
	case ip.IsUnspecified():
		return "the unspecified address"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "a multicast address"
	}
	for _, p := range refusedPrefixes {
		if p.Contains(ip) {
			return "a special-purpose address"
		}
	}
	if ip.Is6() {
		b := ip.As16()
		var embedded netip.Addr
		switch {
		case nat64.Contains(ip):
			embedded = netip.AddrFrom4([4]byte(b[12:16]))
		case sixTo4.Contains(ip):
			embedded = netip.AddrFrom4([4]byte(b[2:6]))
		}
		if embedded.IsValid() {
			if why := Refused(embedded); why != "" {
				return why + " (embedded)"
			}
		}
	}
	return ""
}

// RefusedHost says why an endpoint URL's host must be refused when it is
// registered ("" if it may be): a literal address that Refused refuses, or
// a name of the local machine (localhost and its subdomains). Other names
// are checked when a delivery connects (NewClient), since DNS may change.
func RefusedHost(host string) string {
	if ip, err := netip.ParseAddr(host); err == nil {
		return Refused(ip)
	}
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return "a name of the local machine"
	}
	return ""
}
