package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrInvalidURL is a URL that is not an absolute http or https URL with a host.
var ErrInvalidURL = errors.New("not an absolute http or https URL")

// NotAllowedError is an address a webhook may not reach, and why.
type NotAllowedError struct {
	Host   string // as the URL has it, or "" when the dialled address was refused
	Addr   netip.Addr
	Reason string // "loopback", "private", ...
}

func (e *NotAllowedError) Error() string {
	if e.Host != "" && e.Host != e.Addr.String() {
		return fmt.Sprintf("%s resolves to %s, a %s address, which webhooks may not reach", e.Host, e.Addr, e.Reason)
	}
	return fmt.Sprintf("%s is a %s address, which webhooks may not reach", e.Addr, e.Reason)
}

// Resolver looks up a host's addresses; *net.Resolver is one, tests stub it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// lookupTimeout bounds the lookup of a URL's host at creation: a slow or failing
// DNS does not hold the request (the dial-time check still guards deliveries).
const lookupTimeout = 2 * time.Second

// Guard decides which addresses webhooks may reach: none that is loopback,
// private, link-local, multicast or unspecified (and a few more ranges that lead
// inside a network: see reserved), unless AllowPrivate, for development and
// tests. It checks a URL when an endpoint is created (CheckURL) and every address
// actually dialled (DialContext), so a name that resolves elsewhere later (DNS
// rebinding) is refused too.
type Guard struct {
	AllowPrivate bool
	// Resolver resolves hosts, at creation and at dial time; nil means
	// net.DefaultResolver.
	Resolver Resolver
}

func (g *Guard) resolver() Resolver {
	if g.Resolver == nil {
		return net.DefaultResolver
	}
	return g.Resolver
}

// ParseURL parses an endpoint URL: absolute, http or https, with a host.
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, ErrInvalidURL
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
		return nil, ErrInvalidURL
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, ErrInvalidURL
		}
	}
	return u, nil
}

// CheckURL refuses, with a *NotAllowedError, a URL whose host is or resolves
// to an address webhooks may not reach. A host that does not resolve now is
// accepted: it may later, and every dial is checked again.
func (g *Guard) CheckURL(ctx context.Context, u *url.URL) error {
	if g.AllowPrivate {
		return nil
	}
	host := u.Hostname()
	if addr, err := netip.ParseAddr(host); err == nil {
		return checkAddr(host, addr)
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		// RFC 6761: localhost names are loopback, whatever a resolver says.
		return &NotAllowedError{Host: host, Addr: netip.IPv6Loopback(), Reason: "loopback"}
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	addrs, err := g.resolver().LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, addr := range addrs {
		if err := checkAddr(host, addr); err != nil {
			return err
		}
	}
	return nil
}

// DialContext dials address (host:port) for the HTTP transport: it resolves the
// host with the guard's resolver and dials the addresses in turn with a dialer
// whose Control hook refuses any the guard does not allow, at the last moment
// before connect(2).
func (g *Guard) DialContext(dialer *net.Dialer) func(ctx context.Context, network, address string) (net.Conn, error) {
	d := *dialer
	d.Control = g.control
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		var addrs []netip.Addr
		if addr, err := netip.ParseAddr(host); err == nil {
			addrs = []netip.Addr{addr}
		} else if addrs, err = g.resolver().LookupNetIP(ctx, "ip", host); err != nil {
			return nil, err
		}
		var first error
		for _, addr := range addrs {
			conn, err := d.DialContext(ctx, network, net.JoinHostPort(addr.String(), port))
			if err == nil {
				return conn, nil
			}
			var refused *NotAllowedError
			if errors.As(err, &refused) {
				refused.Host = host
			}
			if first == nil {
				first = err
			}
		}
		if first == nil {
			first = fmt.Errorf("%s has no address", host)
		}
		return nil, first
	}
}

// control is the dialer's Control hook: address is the IP and port about to be
// connected to.
func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	if g.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, err)
	}
	return checkAddr("", ap.Addr())
}

func checkAddr(host string, addr netip.Addr) error {
	if reason := Disallowed(addr); reason != "" {
		return &NotAllowedError{Host: host, Addr: addr.WithZone(""), Reason: reason}
	}
	return nil
}

// reserved are ranges that lead inside a network without being loopback,
// private, link-local or multicast in netip's terms.
var reserved = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"}, // "this network"; Linux connects it locally
	{netip.MustParsePrefix("100.64.0.0/10"), "private"}, // carrier-grade NAT (RFC 6598)
	{netip.MustParsePrefix("192.0.0.0/24"), "private"},  // IETF protocol assignments
	{netip.MustParsePrefix("198.18.0.0/15"), "private"}, // benchmarking (RFC 2544)
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},  // and 255.255.255.255, broadcast
	{netip.MustParsePrefix("fec0::/10"), "private"},     // site-local (deprecated, still routed by some)
}

// embedded are IPv6 ranges that carry an IPv4 address, which is checked too.
var embedded = []netip.Prefix{
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64 (RFC 6052): the low 32 bits
	netip.MustParsePrefix("2002::/16"),    // 6to4 (RFC 3056): bits 16-47
}

// Disallowed returns why webhooks may not reach addr, or "" when they may.
func Disallowed(addr netip.Addr) string {
	addr = addr.Unmap()
	switch {
	case !addr.IsValid():
		return "invalid"
	case addr.IsUnspecified():
		return "unspecified"
	case addr.IsLoopback():
		return "loopback"
	case addr.IsPrivate():
		return "private"
	case addr.IsLinkLocalUnicast():
		return "link-local"
	case addr.IsMulticast(), addr.IsLinkLocalMulticast(), addr.IsInterfaceLocalMulticast():
		return "multicast"
	}
	for _, r := range reserved {
		if r.prefix.Contains(addr) {
			return r.reason
		}
	}
	if addr.Is6() {
		b := addr.As16()
		for i, p := range embedded {
			if !p.Contains(addr) {
				continue
			}
			var v4 [4]byte
			if i == 0 {
				copy(v4[:], b[12:16])
			} else {
				copy(v4[:], b[2:6])
			}
			return Disallowed(netip.AddrFrom4(v4))
		}
	}
	return ""
}
