package memnet

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/transport"
)

// Endpoint is one node's attachment to a [Network]. It implements
// [transport.Endpoint] and is safe for concurrent use.
type Endpoint struct {
	net      *Network
	peer     id.PeerID
	addr     string
	maxFrame int
	first    int // the first frame's limit (EndpointConfig.FirstFrameSize)

	// wg counts the goroutines this endpoint owns: running handlers and
	// timer callbacks (delayed delivery, idle timeouts) of its links.
	// Every Add happens under Network.mu with netMu.closed false, or under
	// conn.mu on an open link of this endpoint, so none can follow the Wait
	// in shutdown.
	wg sync.WaitGroup

	// Guarded by Network.mu.
	netMu struct {
		closed   bool
		handlers map[string]transport.Handler
	}

	// links holds this endpoint's open links. It is a leaf lock because
	// links leave it when they close, which happens under conn.mu.
	links struct {
		sync.Mutex
		m map[*link]struct{}
	}
}

var _ transport.Endpoint = (*Endpoint)(nil)

// PeerID is the identity of the key the endpoint listens with.
func (e *Endpoint) PeerID() id.PeerID { return e.peer }

// Addr is the endpoint's "mem:N" address, unique within its network.
func (e *Endpoint) Addr() string { return e.addr }

// Handle registers h for incoming links that speak alpn. It fails with
// transport.ErrNoHandler if alpn has a handler already, and with
// transport.ErrClosed once the endpoint is closed.
func (e *Endpoint) Handle(alpn string, h transport.Handler) error {
	if h == nil {
		return fmt.Errorf("memnet: handle %q: nil handler", alpn)
	}
	e.net.mu.Lock()
	defer e.net.mu.Unlock()
	if e.netMu.closed {
		return fmt.Errorf("memnet: handle %q: %w", alpn, transport.ErrClosed)
	}
	if _, ok := e.netMu.handlers[alpn]; ok {
		return fmt.Errorf("memnet: handle %q: %w: already registered", alpn, transport.ErrNoHandler)
	}
	e.netMu.handlers[alpn] = h
	return nil
}

// Dial connects to the endpoint at addr, checks that it belongs to peer,
// and opens a link speaking alpn. Dialing never waits: it fails at once
// with transport.ErrUnreachable if no live endpoint is at addr or a
// partition cuts it off, with transport.ErrPeerMismatch if the endpoint
// there is another peer, and with a remote *transport.CloseError carrying
// transport.CodeInvalidALPN if the other side serves no handler for alpn.
// On success the acceptor's handler starts on its own goroutine.
func (e *Endpoint) Dial(ctx context.Context, peer id.PeerID, addr string, alpn string) (transport.Link, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memnet: dial %s: %w", addr, err)
	}
	n := e.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if e.netMu.closed {
		return nil, fmt.Errorf("memnet: dial %s: %w", addr, transport.ErrClosed)
	}
	to, ok := n.mu.endpoints[addr]
	if !ok {
		return nil, fmt.Errorf("memnet: dial %s: %w: no endpoint at that address", addr, transport.ErrUnreachable)
	}
	if !n.reachableLocked(e.peer, to.peer) {
		return nil, fmt.Errorf("memnet: dial %s: %w: partitioned away", addr, transport.ErrUnreachable)
	}
	if to.peer != peer {
		return nil, fmt.Errorf("memnet: dial %s: %w: expected %s, found %s", addr, transport.ErrPeerMismatch, peer.Short(), to.peer.Short())
	}
	h, ok := to.netMu.handlers[alpn]
	if !ok {
		return nil, fmt.Errorf("memnet: dial %s: %w", addr, &transport.CloseError{
			Code:   transport.CodeInvalidALPN,
			Reason: "no handler for " + alpn,
			Remote: true,
		})
	}

	c := &conn{net: n}
	// crypto/rand.Read never fails on supported platforms.
	_, _ = rand.Read(c.master[:])
	dialed := newLink(c, 0, e, to, alpn)
	served := newLink(c, 1, to, e, alpn)
	c.ends = [2]*link{dialed, served}
	e.track(dialed)
	to.track(served)
	to.wg.Go(func() { h(served) })
	return dialed, nil
}

// Close closes every link with transport.CodeGracefulShutdown, which the
// peers read as a remote close (held like any frame if a partition is in
// the way), stops accepting, and waits for the endpoint's handlers and
// timers. It must not be called from one of the endpoint's own handlers.
// It is idempotent and returns nil.
func (e *Endpoint) Close() error {
	e.net.mu.Lock()
	e.shutdownLocked(false)
	e.net.mu.Unlock()
	e.wg.Wait()
	return nil
}

// shutdownLocked closes the endpoint, gracefully or as a crash, without
// waiting; the caller waits on e.wg after releasing Network.mu, because
// handlers and timer callbacks may need that lock or conn.mu to finish.
func (e *Endpoint) shutdownLocked(crash bool) {
	if e.netMu.closed {
		return
	}
	e.netMu.closed = true
	e.netMu.handlers = nil
	delete(e.net.mu.endpoints, e.addr)
	for _, l := range e.openLinks() {
		l.c.mu.Lock()
		if crash {
			l.crashLocked()
		} else {
			l.closeAndNotifyLocked(transport.CodeGracefulShutdown, "endpoint closed")
		}
		l.c.mu.Unlock()
	}
}

func (e *Endpoint) track(l *link) {
	e.links.Lock()
	e.links.m[l] = struct{}{}
	e.links.Unlock()
}

func (e *Endpoint) forget(l *link) {
	e.links.Lock()
	delete(e.links.m, l)
	e.links.Unlock()
}

// openLinks snapshots the open links, so callers can lock each link's
// conn.mu without holding the leaf lock.
func (e *Endpoint) openLinks() []*link {
	e.links.Lock()
	defer e.links.Unlock()
	ls := make([]*link, 0, len(e.links.m))
	for l := range e.links.m {
		ls = append(ls, l)
	}
	return ls
}
