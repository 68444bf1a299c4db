package memnet

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"lukechampine.com/blake3"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/transport"
)

// conn is one connection: the two ends of a link under one lock, so that a
// frame's trip from one end's Send into the other's queue is atomic with
// respect to closes, partitions and kills.
type conn struct {
	net    *Network
	master [32]byte // per-connection secret behind SharedSecret
	ends   [2]*link // dialer, acceptor; set before either is shared

	mu sync.Mutex
	// Guarded by mu.
	cut  bool // the path is down: partitioned, or an end is dead
	dead bool // an end was killed; the path never comes back
}

// inflight is a frame on its way to an end, due at a given time.
type inflight struct {
	due     time.Time
	payload []byte
}

// link is one end of a conn. It implements transport.Link.
type link struct {
	c          *conn
	side       int // index in c.ends
	ep         *Endpoint
	peer       id.PeerID
	remoteAddr string
	alpn       string
	maxFrame   int
	ready      chan struct{} // a token when inbox may be non-empty
	done       chan struct{} // closed with st.err

	// Guarded by c.mu.
	st struct {
		err   error    // why the link closed; nil while open
		inbox [][]byte // frames delivered, waiting for Recv
		// wire holds frames sent by the other end that have not arrived:
		// still delayed, or stalled by a cut. Due times never decrease.
		wire      []inflight
		wireTimer *ownedTimer // fires when wire[0] is due
		idleTimer *ownedTimer // armed while the path is cut
		// heldClose is the other end's close, waiting for a cut to heal.
		heldClose *transport.CloseError
		// gotFirst: a frame has been received; until then the first
		// frame's limit applies.
		gotFirst bool
	}
}

var _ transport.Link = (*link)(nil)

func newLink(c *conn, side int, local, remote *Endpoint, alpn string) *link {
	return &link{
		c:          c,
		side:       side,
		ep:         local,
		peer:       remote.peer,
		remoteAddr: remote.addr,
		alpn:       alpn,
		maxFrame:   local.maxFrame,
		ready:      make(chan struct{}, 1),
		done:       make(chan struct{}),
	}
}

func (l *link) other() *link { return l.c.ends[1-l.side] }

// Peer is the identity the other end listens with.
func (l *link) Peer() id.PeerID { return l.peer }

// ALPN is the protocol the link was dialed for.
func (l *link) ALPN() string { return l.alpn }

// RemoteAddr is the other endpoint's "mem:N" address.
func (l *link) RemoteAddr() string { return l.remoteAddr }

// Send encodes msg and queues it for the other end. It never blocks: the
// queue is unbounded.
func (l *link) Send(ctx context.Context, msg proto.Message) error {
	payload, err := transport.Marshal(msg, l.maxFrame)
	if err != nil {
		return fmt.Errorf("memnet: send: %w", err)
	}
	return l.send(ctx, payload)
}

// SendFrame queues a copy of payload for the other end.
func (l *link) SendFrame(ctx context.Context, payload []byte) error {
	if len(payload) > l.maxFrame {
		return fmt.Errorf("memnet: send: %w: %d bytes, limit %d", transport.ErrFrameTooLarge, len(payload), l.maxFrame)
	}
	return l.send(ctx, bytes.Clone(payload))
}

// send hands an encoded frame, which it now owns, to the network.
func (l *link) send(ctx context.Context, payload []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memnet: send: %w", err)
	}
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if l.st.err != nil {
		return l.st.err
	}
	to := l.other()
	if to.st.err != nil {
		// The other end is gone but its close has not reached us (a
		// partition holds it, or it crashed): the frame is lost, as
		// packets to a dead host are.
		return nil
	}
	drop, lag := c.net.fate()
	if drop {
		return nil
	}
	if lag == 0 && !c.cut && len(to.st.wire) == 0 {
		to.st.inbox = append(to.st.inbox, payload)
		to.signal()
		return nil
	}
	now := time.Now()
	due := now.Add(lag)
	if k := len(to.st.wire); k > 0 && due.Before(to.st.wire[k-1].due) {
		due = to.st.wire[k-1].due
	}
	to.st.wire = append(to.st.wire, inflight{due: due, payload: payload})
	to.deliverDueLocked(now)
	return nil
}

// Recv reads the next frame into msg, which it resets first. A frame that
// does not decode closes the link with CodeProtocolViolation.
func (l *link) Recv(ctx context.Context, msg proto.Message) error {
	proto.Reset(msg)
	payload, err := l.RecvFrame(ctx)
	if err != nil {
		return err
	}
	if err := transport.Unmarshal(payload, msg); err != nil {
		l.Close(transport.CodeProtocolViolation, "malformed frame")
		return fmt.Errorf("memnet: recv: %w", err)
	}
	return nil
}

// RecvFrame returns the next frame's payload, which belongs to the caller.
// A frame over this end's limit closes the link with
// CodeProtocolViolation, as the QUIC transport does on reading its length.
// A queued frame is returned even if ctx has ended.
func (l *link) RecvFrame(ctx context.Context) ([]byte, error) {
	c := l.c
	for {
		c.mu.Lock()
		if err := l.st.err; err != nil {
			c.mu.Unlock()
			return nil, err
		}
		if len(l.st.inbox) > 0 {
			payload := l.st.inbox[0]
			l.st.inbox[0] = nil
			l.st.inbox = l.st.inbox[1:]
			limit, what := l.maxFrame, ""
			if !l.st.gotFirst {
				limit, what = l.ep.first, "first frame, before authentication: "
			}
			if len(payload) > limit {
				l.closeAndNotifyLocked(transport.CodeProtocolViolation, "frame too large")
				c.mu.Unlock()
				return nil, fmt.Errorf("memnet: recv: %s%w: %d bytes, limit %d", what, transport.ErrFrameTooLarge, len(payload), limit)
			}
			l.st.gotFirst = true
			if len(l.st.inbox) > 0 {
				// Pass the token on, for another reader or our next call.
				l.signal()
			}
			c.mu.Unlock()
			return payload, nil
		}
		c.mu.Unlock()
		select {
		case <-l.ready:
		case <-l.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("memnet: recv: %w", ctx.Err())
		}
	}
}

// SharedSecret derives 32 bytes from the connection's secret and label.
// The secret is drawn at dial time and known only to the two ends, so the
// result is equal on both and unrelated across connections and labels.
func (l *link) SharedSecret(label string) ([]byte, error) {
	h := blake3.New(32, l.c.master[:])
	_, _ = h.Write([]byte(label))
	return h.Sum(nil), nil
}

// Close ends the link. The other end reads a remote *CloseError with code
// and reason (once any partition between them heals); this end reads an
// error that is both transport.ErrClosed and a local *CloseError. Unread
// frames are discarded on both ends. Only the first close has an effect.
func (l *link) Close(code transport.CloseCode, reason string) error {
	l.c.mu.Lock()
	defer l.c.mu.Unlock()
	l.closeAndNotifyLocked(code, reason)
	return nil
}

// Done is closed once the link is closed by either end, or times out.
func (l *link) Done() <-chan struct{} { return l.done }

// Err is nil while the link is open, and afterwards what Send and Recv
// return: a remote *CloseError, a local close (transport.ErrClosed and a
// local *CloseError), or a wrapped transport.ErrTimeout.
func (l *link) Err() error {
	l.c.mu.Lock()
	defer l.c.mu.Unlock()
	return l.st.err
}

// closedLocally is the error of a link this side closed. It is both
// transport.ErrClosed, as the contract promises, and the *CloseError with
// the code, for callers that want to know which close it was.
type closedLocally struct{ ce *transport.CloseError }

func (e *closedLocally) Error() string   { return e.ce.Error() }
func (e *closedLocally) Unwrap() []error { return []error{transport.ErrClosed, e.ce} }

// closeAndNotifyLocked closes this end with code and tells the other end,
// at once or, across a cut, once the cut heals.
func (l *link) closeAndNotifyLocked(code transport.CloseCode, reason string) {
	if !l.closeLocked(&closedLocally{&transport.CloseError{Code: code, Reason: reason}}) {
		return
	}
	to := l.other()
	if to.st.err != nil {
		return
	}
	// Our frames still on the way are discarded with the close, which
	// overtakes them.
	to.discardWireLocked()
	ce := &transport.CloseError{Code: code, Reason: reason, Remote: true}
	if l.c.cut {
		to.st.heldClose = ce
		return
	}
	to.closeLocked(ce)
}

// crashLocked closes this end as its endpoint dies: nothing is said to the
// other end, which hears silence from now on and times out.
func (l *link) crashLocked() {
	l.closeLocked(fmt.Errorf("memnet: endpoint %s killed: %w", l.ep.addr, transport.ErrClosed))
	l.c.dead = true
	l.c.setCutLocked(true)
	// Nothing more arrives from a dead host, even what was on its way.
	l.other().discardWireLocked()
}

// closeLocked records err as the reason this end closed, discards its
// frames and stops its timers. It reports false if the end was closed
// already.
func (l *link) closeLocked(err error) bool {
	if l.st.err != nil {
		return false
	}
	l.st.err = err
	l.st.inbox = nil
	l.st.heldClose = nil
	l.discardWireLocked()
	l.st.idleTimer.stop()
	l.st.idleTimer = nil
	close(l.done)
	l.ep.forget(l)
	return true
}

func (l *link) discardWireLocked() {
	l.st.wire = nil
	l.st.wireTimer.stop()
	l.st.wireTimer = nil
}

// setCutLocked moves the connection to a new path state. Cutting starts
// each open end's idle clock and parks its in-flight frames; healing stops
// the clocks, then delivers what a held close or the wire has waiting.
func (c *conn) setCutLocked(cut bool) {
	if c.cut == cut {
		return
	}
	c.cut = cut
	now := time.Now()
	for _, l := range c.ends {
		if l.st.err != nil {
			continue
		}
		if cut {
			l.st.wireTimer.stop()
			l.st.wireTimer = nil
			l.armIdleLocked()
			continue
		}
		l.st.idleTimer.stop()
		l.st.idleTimer = nil
		if ce := l.st.heldClose; ce != nil {
			l.closeLocked(ce)
			continue
		}
		l.deliverDueLocked(now)
	}
}

// deliverDueLocked moves the frames due by now from the wire to the inbox,
// unless the path is cut, and sets the wire timer for the next one.
func (l *link) deliverDueLocked(now time.Time) {
	if l.st.err != nil || l.c.cut {
		return
	}
	n := 0
	for n < len(l.st.wire) && !l.st.wire[n].due.After(now) {
		l.st.inbox = append(l.st.inbox, l.st.wire[n].payload)
		n++
	}
	if n > 0 {
		clear(l.st.wire[:n])
		l.st.wire = l.st.wire[n:]
		l.signal()
	}
	if len(l.st.wire) == 0 || l.st.wireTimer != nil {
		return
	}
	l.st.wireTimer = startOwnedTimer(&l.ep.wg, l.st.wire[0].due.Sub(now), func(t *ownedTimer) {
		l.c.mu.Lock()
		defer l.c.mu.Unlock()
		if l.st.wireTimer != t {
			return // stopped or replaced while this callback waited
		}
		l.st.wireTimer = nil
		l.deliverDueLocked(time.Now())
	})
}

// armIdleLocked starts the idle clock of an open end whose path went down.
func (l *link) armIdleLocked() {
	if l.st.idleTimer != nil {
		return
	}
	timeout := l.c.net.cfg.IdleTimeout
	l.st.idleTimer = startOwnedTimer(&l.ep.wg, timeout, func(t *ownedTimer) {
		l.c.mu.Lock()
		defer l.c.mu.Unlock()
		if l.st.idleTimer != t {
			return // the path healed, or the link closed, meanwhile
		}
		l.st.idleTimer = nil
		l.closeLocked(fmt.Errorf("memnet: nothing from %s (%s) for %v: %w", l.peer.Short(), l.remoteAddr, timeout, transport.ErrTimeout))
	})
}

// signal leaves a token for a reader blocked in RecvFrame.
func (l *link) signal() {
	select {
	case l.ready <- struct{}{}:
	default:
	}
}

// ownedTimer is a time.AfterFunc whose callback counts in its endpoint's
// WaitGroup from the moment it is armed, so Endpoint.Close can wait for
// callbacks that are already running and stop the rest.
type ownedTimer struct {
	t  *time.Timer
	wg *sync.WaitGroup
}

func startOwnedTimer(wg *sync.WaitGroup, d time.Duration, f func(*ownedTimer)) *ownedTimer {
	ot := &ownedTimer{wg: wg}
	wg.Add(1)
	ot.t = time.AfterFunc(d, func() {
		defer wg.Done()
		f(ot)
	})
	return ot
}

// stop cancels the callback if it has not started; a started callback
// finds itself replaced and returns. A nil timer is a no-op.
func (ot *ownedTimer) stop() {
	if ot != nil && ot.t.Stop() {
		ot.wg.Done()
	}
}
