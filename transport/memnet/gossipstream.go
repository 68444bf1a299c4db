package memnet

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// stream is one gossip stream: the two ends of an in-memory TCP connection
// under one lock, as conn is for links, so that bytes move atomically with
// respect to closes, partitions and kills.
//
// A Write appends to the other end's inbox at once: there is no flow
// control, no delay and no loss, as TCP would retransmit what the drop
// rate claims, and memberlist's streams are short exchanges of a few
// kilobytes. Blocked calls wait on the changed channel, with a timer for
// their deadline on their own goroutine, so a stream owns no goroutine or
// timer.
type stream struct {
	net  *Network
	ends [2]*streamEnd // dialer, acceptor; set before either is shared

	mu sync.Mutex
	// Guarded by mu.
	cut  bool // the path is down: partitioned, or an end was killed
	dead bool // an end was killed; the path never comes back
	// changed is closed, and replaced, whenever something a blocked Read
	// or Write waits for may have changed: bytes, a close, a cut or a
	// deadline.
	changed chan struct{}
}

// streamEnd is one end of a stream. It implements net.Conn.
type streamEnd struct {
	s             *stream
	side          int // index in s.ends
	owner         *GossipTransport
	local, remote *net.TCPAddr

	// Guarded by s.mu.
	st struct {
		closed bool   // Close was called, or the owner shut down or died
		eof    bool   // the other end's close has arrived
		inbox  []byte // bytes that arrived and were not read yet
		// Deadlines of this end; zero means none.
		readDeadline, writeDeadline time.Time
	}
}

var _ net.Conn = (*streamEnd)(nil)

func newStream(dialer, acceptor *GossipTransport) *stream {
	s := &stream{net: dialer.net, changed: make(chan struct{})}
	s.ends = [2]*streamEnd{
		{s: s, side: 0, owner: dialer, local: dialer.tcpAddr, remote: acceptor.tcpAddr},
		{s: s, side: 1, owner: acceptor, local: acceptor.tcpAddr, remote: dialer.tcpAddr},
	}
	return s
}

func (e *streamEnd) other() *streamEnd { return e.s.ends[1-e.side] }

// LocalAddr is the owner's gossip address.
func (e *streamEnd) LocalAddr() net.Addr { return e.local }

// RemoteAddr is the other end's gossip address. A TCP dialer would show an
// ephemeral port instead; memberlist only logs it.
func (e *streamEnd) RemoteAddr() net.Addr { return e.remote }

// Read returns bytes that arrived, then io.EOF once the other end's close
// has arrived. It blocks while nothing has arrived, which across a cut
// means until the cut heals or the read deadline passes.
func (e *streamEnd) Read(b []byte) (int, error) {
	s := e.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if e.st.closed {
			return 0, e.opErr("read", net.ErrClosed)
		}
		if passed(e.st.readDeadline) {
			return 0, e.opErr("read", os.ErrDeadlineExceeded)
		}
		if len(e.st.inbox) > 0 || len(b) == 0 {
			n := copy(b, e.st.inbox)
			e.st.inbox = e.st.inbox[n:]
			return n, nil
		}
		if e.st.eof {
			return 0, io.EOF
		}
		e.waitLocked(e.st.readDeadline)
	}
}

// Write hands all of b to the other end at once, or fails. Across a cut it
// blocks until the cut heals or the write deadline passes, as TCP would
// keep retransmitting. Once the other end's close has arrived it fails
// with EPIPE.
func (e *streamEnd) Write(b []byte) (int, error) {
	s := e.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if e.st.closed {
			return 0, e.opErr("write", net.ErrClosed)
		}
		if passed(e.st.writeDeadline) {
			return 0, e.opErr("write", os.ErrDeadlineExceeded)
		}
		if !s.cut {
			break
		}
		e.waitLocked(e.st.writeDeadline)
	}
	if e.st.eof {
		return 0, e.opErr("write", syscall.EPIPE)
	}
	if len(b) == 0 {
		return 0, nil
	}
	// The other end is open: had it closed with the path up, eof would
	// be set, and with the path down we would still be waiting.
	to := e.other()
	to.st.inbox = append(to.st.inbox, b...)
	s.wakeLocked()
	return len(b), nil
}

// Close closes this end: its unread bytes are discarded, and the other end
// reads EOF after what it has, at once or, across a cut, once the cut
// heals. It is idempotent and returns nil.
func (e *streamEnd) Close() error {
	// Network.mu guards the owner's set of streams.
	e.s.net.mu.Lock()
	defer e.s.net.mu.Unlock()
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	e.closeLocked()
	return nil
}

// SetDeadline sets the read and write deadlines. Calls already blocked
// follow the new deadline.
func (e *streamEnd) SetDeadline(t time.Time) error { return e.setDeadlines(t, true, true) }

// SetReadDeadline sets the read deadline.
func (e *streamEnd) SetReadDeadline(t time.Time) error { return e.setDeadlines(t, true, false) }

// SetWriteDeadline sets the write deadline.
func (e *streamEnd) SetWriteDeadline(t time.Time) error { return e.setDeadlines(t, false, true) }

func (e *streamEnd) setDeadlines(t time.Time, read, write bool) error {
	s := e.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.st.closed {
		return e.opErr("set deadline", net.ErrClosed)
	}
	if read {
		e.st.readDeadline = t
	}
	if write {
		e.st.writeDeadline = t
	}
	s.wakeLocked()
	return nil
}

// closeLocked closes this end and tells the other end, at once or when
// the cut heals. The caller holds Network.mu and s.mu.
func (e *streamEnd) closeLocked() {
	if e.st.closed {
		return
	}
	e.st.closed = true
	e.st.inbox = nil
	delete(e.owner.netMu.streams, e)
	if !e.s.cut {
		e.other().st.eof = true
	}
	e.s.wakeLocked()
}

// crashLocked closes this end as its owner dies: the other end hears
// nothing more, not even a close, so its reads and writes wait out their
// deadlines. The caller holds Network.mu and s.mu.
func (e *streamEnd) crashLocked() {
	if e.st.closed {
		return
	}
	e.st.closed = true
	e.st.inbox = nil
	delete(e.owner.netMu.streams, e)
	e.s.dead = true
	e.s.cut = true
	e.s.wakeLocked()
}

// setCutLocked moves the stream to a new path state; healing delivers the
// closes the cut held.
func (s *stream) setCutLocked(cut bool) {
	if s.cut == cut {
		return
	}
	s.cut = cut
	if !cut {
		for _, e := range s.ends {
			if e.other().st.closed {
				e.st.eof = true
			}
		}
	}
	s.wakeLocked()
}

func (s *stream) wakeLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitLocked releases s.mu until the stream changes or deadline passes.
func (e *streamEnd) waitLocked(deadline time.Time) {
	s := e.s
	changed := s.changed
	s.mu.Unlock()
	defer s.mu.Lock()
	if deadline.IsZero() {
		<-changed
		return
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-changed:
	case <-timer.C:
	}
}

func (e *streamEnd) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: "memnet", Source: e.local, Addr: e.remote, Err: err}
}

// passed reports whether deadline is set and not in the future.
func passed(deadline time.Time) bool {
	return !deadline.IsZero() && !time.Now().Before(deadline)
}
