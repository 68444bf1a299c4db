package quicnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Errors with which the endpoint refuses an incoming connection before its
// handshake; the dialer sees QUIC's CONNECTION_REFUSED.
var (
	// ErrTooManyUnauthenticated: the endpoint already holds
	// Config.MaxUnauthenticated connections that have not sent their first
	// frame.
	ErrTooManyUnauthenticated = errors.New("quicnet: too many unauthenticated connections")
	// ErrTooManyFromAddress: the dialer's IP address already holds
	// Config.MaxUnauthenticatedPerIP of them.
	ErrTooManyFromAddress = errors.New("quicnet: too many unauthenticated connections from one address")
)

// Stats counts what the endpoint refused or cut short before a peer was
// authenticated. Every field only grows. Refusals count first packets: a
// dialer whose first flight spans two packets, or who retransmits it, is
// counted for each.
type Stats struct {
	// RefusedTotal: connections refused because MaxUnauthenticated were
	// waiting for their first frame.
	RefusedTotal atomic.Uint64
	// RefusedPerIP: connections refused because their source address held
	// MaxUnauthenticatedPerIP.
	RefusedPerIP atomic.Uint64
	// TimedOut: accepted connections closed because their first frame did
	// not arrive within HandshakeTimeout.
	TimedOut atomic.Uint64
	// Oversized: links closed because their first frame announced more
	// than FirstFrameSize (dialed and accepted links alike).
	Oversized atomic.Uint64
}

// admission counts the accepted connections that have not yet delivered
// their first frame (pending), in total and per source address, and
// refuses new ones beyond the limits. The first frame is where every
// mosaik protocol authenticates its peer, so pending connections are the
// ones an outsider can open for free; bounding them bounds what an
// outsider can make the endpoint hold.
type admission struct {
	maxTotal, maxPerSource int

	mu struct {
		sync.Mutex
		total     int
		perSource map[netip.Addr]int
	}
}

func newAdmission(maxTotal, maxPerSource int) *admission {
	a := &admission{maxTotal: maxTotal, maxPerSource: maxPerSource}
	a.mu.perSource = map[netip.Addr]int{}
	return a
}

// admit takes a slot for a connection from src, or says which limit
// refuses it. The slot must be released exactly once (pending.release
// makes that safe).
func (a *admission) admit(src netip.Addr) (*pending, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.mu.total >= a.maxTotal {
		return nil, fmt.Errorf("%w (%d)", ErrTooManyUnauthenticated, a.maxTotal)
	}
	if a.mu.perSource[src] >= a.maxPerSource {
		return nil, fmt.Errorf("%w (%s holds %d)", ErrTooManyFromAddress, src, a.maxPerSource)
	}
	a.mu.total++
	a.mu.perSource[src]++
	return &pending{a: a, src: src}, nil
}

func (a *admission) releaseSlot(src netip.Addr) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.mu.total--
	if n := a.mu.perSource[src] - 1; n > 0 {
		a.mu.perSource[src] = n
	} else {
		delete(a.mu.perSource, src)
	}
}

// crowded reports whether so many connections are pending that new ones
// should first prove their source address (QUIC's Retry): above a quarter
// of the limit. A flood from spoofed addresses then cannot take slots,
// and the per-source count is counting real addresses.
func (a *admission) crowded() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mu.total >= max(a.maxTotal/4, 1)
}

// counts returns the pending connections in total and from src.
func (a *admission) counts(src netip.Addr) (total, fromSource int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mu.total, a.mu.perSource[src]
}

// pending is one connection's slot.
type pending struct {
	a    *admission
	src  netip.Addr
	once sync.Once
}

// release gives the slot back; later calls do nothing.
func (p *pending) release() {
	p.once.Do(func() { p.a.releaseSlot(p.src) })
}

// sourceOf is the IP address a connection comes from, unmapped so that
// an IPv4 peer counts once whether it arrives over IPv4 or IPv6.
func sourceOf(addr net.Addr) netip.Addr {
	if u, ok := addr.(*net.UDPAddr); ok {
		if ip, ok := netip.AddrFromSlice(u.IP); ok {
			return ip.Unmap()
		}
	}
	if ap, err := netip.ParseAddrPort(addr.String()); err == nil {
		return ap.Addr().Unmap()
	}
	// Not an IP network (a test's fake address): one bucket for all.
	return netip.Addr{}
}

// pendingKey keys a connection's *pending in its context.
type pendingKey struct{}
