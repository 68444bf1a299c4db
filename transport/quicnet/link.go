package quicnet

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"
	"unicode/utf8"

	"github.com/quic-go/quic-go"
	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/transport"
)

// preamble opens every link's stream: "msk" and the framing version. The
// dialer sends it at once so that the acceptor's AcceptStream returns
// before the first frame (QUIC announces a stream only with its first
// byte), and so that a peer speaking something else is refused early.
var preamble = [4]byte{'m', 's', 'k', 1}

const (
	// readBufferSize is the bufio buffer in front of the stream: large
	// enough that a burst of small frames costs one stream Read, small
	// enough not to matter per link.
	readBufferSize = 16 << 10
	// maxKeptBuffer bounds the frame buffers a link keeps for reuse (one
	// for sending, one for Recv), so that one huge frame does not pin its
	// memory for the life of the link.
	maxKeptBuffer = 256 << 10
	// maxReasonLen keeps close reasons well inside one packet; QUIC cannot
	// split a CONNECTION_CLOSE frame.
	maxReasonLen = 512
)

// link is a transport.Link over one QUIC connection and its one
// bidirectional stream.
type link struct {
	conn     *quic.Conn
	str      *quic.Stream
	peer     id.PeerID
	alpn     string
	remote   string
	maxFrame int
	// firstFrame bounds the first frame received (see
	// Config.FirstFrameSize); stats counts links closed for exceeding it.
	firstFrame int
	stats      *Stats

	// wsem is the write lock. It is a channel, not a mutex, so that a
	// Send queued behind another can still give up when its context ends.
	// wbuf, which it guards, is reused to build each outgoing frame.
	wsem chan struct{}
	wbuf []byte

	// rsem serialises readers like wsem does writers, and guards br and
	// rd: a frame cut short by a cancelled Recv stays in rd and the next
	// Recv completes it, so cancelling never desynchronises the stream.
	rsem chan struct{}
	br   *bufio.Reader
	rd   frameReader
	// gotFirst says the first frame has been received; onFirst, if set,
	// runs once when it is (an accepted link's end of its pre-auth
	// watch). Both are guarded by rsem; onFirst is set before the link is
	// shared.
	gotFirst bool
	onFirst  func()
}

var _ transport.Link = (*link)(nil)

func (e *Endpoint) newLink(conn *quic.Conn, str *quic.Stream, peer id.PeerID, alpn string) *link {
	return &link{
		conn:       conn,
		str:        str,
		peer:       peer,
		alpn:       alpn,
		remote:     conn.RemoteAddr().String(),
		maxFrame:   e.cfg.MaxFrameSize,
		firstFrame: e.cfg.FirstFrameSize,
		stats:      &e.stats,
		wsem:       make(chan struct{}, 1),
		rsem:       make(chan struct{}, 1),
		br:         bufio.NewReaderSize(str, readBufferSize),
	}
}

func (l *link) Peer() id.PeerID       { return l.peer }
func (l *link) ALPN() string          { return l.alpn }
func (l *link) RemoteAddr() string    { return l.remote }
func (l *link) Done() <-chan struct{} { return l.conn.Context().Done() }
func (l *link) String() string        { return "quicnet link " + l.alpn + " to " + l.peer.Short() }
func (l *link) closedErr() error      { return translateOr(context.Cause(l.conn.Context())) }
func (l *link) isClosed() bool        { return l.conn.Context().Err() != nil }

// Err reports why the link closed, or nil while it is open. After a local
// Close (or the endpoint's) it is a *transport.CloseError with Remote false
// that also matches transport.ErrClosed; after the peer's, a
// *transport.CloseError with Remote true; after silence past the idle
// timeout, transport.ErrTimeout.
func (l *link) Err() error {
	if !l.isClosed() {
		return nil
	}
	return l.closedErr()
}

// Close sends code and reason to the peer in QUIC's CONNECTION_CLOSE and
// returns once the connection is gone locally. Later calls do nothing.
func (l *link) Close(code transport.CloseCode, reason string) error {
	return l.conn.CloseWithError(quic.ApplicationErrorCode(code), trimReason(reason))
}

// SharedSecret is the TLS 1.3 exporter (RFC 8446 section 7.5) of the
// connection, which both ends derive from the same handshake secret.
func (l *link) SharedSecret(label string) ([]byte, error) {
	cs := l.conn.ConnectionState().TLS
	secret, err := cs.ExportKeyingMaterial(label, nil, 32)
	if err != nil {
		return nil, fmt.Errorf("quicnet: shared secret %q: %w", label, err)
	}
	return secret, nil
}

func (l *link) Send(ctx context.Context, msg proto.Message) error {
	if err := l.acquire(ctx, l.wsem); err != nil {
		return err
	}
	defer l.unlockWrite()
	// Encode straight after a blank length prefix, then fill it in: one
	// buffer, one stream Write, no copy of the payload. Encoding under the
	// lock costs concurrent senders little, since their frames go out one
	// after another anyway, and saves a buffer pool round trip per frame.
	buf, err := proto.MarshalOptions{}.MarshalAppend(append(l.wbuf[:0], 0, 0, 0, 0), msg)
	if err != nil {
		return fmt.Errorf("quicnet: encode %T: %w", msg, err)
	}
	l.wbuf = buf
	n := len(buf) - transport.FrameHeaderSize
	if uint64(n) > math.MaxUint32 {
		return fmt.Errorf("%w: %d bytes does not fit the length prefix", transport.ErrFrameTooLarge, n)
	}
	binary.BigEndian.PutUint32(buf, uint32(n))
	return l.writeLocked(ctx, buf)
}

func (l *link) SendFrame(ctx context.Context, payload []byte) error {
	if uint64(len(payload)) > math.MaxUint32 {
		return fmt.Errorf("%w: %d bytes does not fit the length prefix", transport.ErrFrameTooLarge, len(payload))
	}
	if err := l.acquire(ctx, l.wsem); err != nil {
		return err
	}
	defer l.unlockWrite()
	l.wbuf = transport.AppendFrame(l.wbuf[:0], payload)
	return l.writeLocked(ctx, l.wbuf)
}

// unlockWrite releases the write lock, first dropping a frame buffer grown
// so large that keeping it would pin memory for the life of the link.
func (l *link) unlockWrite() {
	if cap(l.wbuf) > maxKeptBuffer {
		l.wbuf = nil
	}
	<-l.wsem
}

// writeLocked sends one whole frame; the caller holds the write lock.
func (l *link) writeLocked(ctx context.Context, frame []byte) error {
	restore := l.interrupt(ctx, true)
	n, err := l.str.Write(frame)
	restore()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		if n > 0 {
			// The peer holds the start of a frame this side will never
			// finish, and every later frame would be read as its rest.
			_ = l.Close(transport.CodeCancelled, "send abandoned mid-frame")
		}
		return ctx.Err()
	}
	return l.opErr(err)
}

func (l *link) Recv(ctx context.Context, msg proto.Message) error {
	payload, err := l.read(ctx, false)
	if err != nil {
		return err
	}
	if err := transport.Unmarshal(payload, msg); err != nil {
		return l.violation(err)
	}
	return nil
}

func (l *link) RecvFrame(ctx context.Context) ([]byte, error) {
	return l.read(ctx, true)
}

// read returns the next frame's payload. own says the caller keeps it;
// otherwise it may be the link's scratch buffer, valid until the next read.
func (l *link) read(ctx context.Context, own bool) ([]byte, error) {
	if err := l.acquire(ctx, l.rsem); err != nil {
		return nil, err
	}
	defer func() { <-l.rsem }()

	limit := l.maxFrame
	if !l.gotFirst {
		limit = l.firstFrame
	}
	restore := l.interrupt(ctx, false)
	payload, err := l.rd.next(l.br, limit, own)
	restore()
	switch {
	case err == nil:
		if !l.gotFirst {
			l.gotFirst = true
			if l.onFirst != nil {
				l.onFirst()
			}
		}
		return payload, nil
	case ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded):
		return nil, ctx.Err()
	case !l.gotFirst && errors.Is(err, transport.ErrFrameTooLarge):
		l.stats.Oversized.Add(1)
		return nil, l.violation(fmt.Errorf("first frame, before authentication: %w", err))
	case transport.IsProtocolViolation(err):
		return nil, l.violation(err)
	case errors.Is(err, io.EOF):
		// Mosaik peers never finish their side of the stream; one that
		// does has left the protocol.
		return nil, l.violation(fmt.Errorf("%w: stream ended by peer", transport.ErrBadFrame))
	}
	return nil, l.opErr(err)
}

// violation closes the link for a frame the peer should not have sent and
// returns err, wrapped with the link it happened on.
func (l *link) violation(err error) error {
	_ = l.Close(transport.CodeProtocolViolation, err.Error())
	return fmt.Errorf("quicnet: %s: %w", l.peer.Short(), err)
}

// acquire takes sem unless ctx ends or the link closes first. A closed
// link refuses even when sem is free: frames already buffered locally are
// discarded with the link, as the contract says, not handed out late.
func (l *link) acquire(ctx context.Context, sem chan struct{}) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case sem <- struct{}{}:
	default:
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		case <-l.Done():
			return l.closedErr()
		}
	}
	if l.isClosed() {
		<-sem
		return l.closedErr()
	}
	return nil
}

// opErr reports a failed stream operation. A stream fails because its
// connection ended, and it may say so before the connection's context
// does, so the error itself is translated first.
func (l *link) opErr(err error) error {
	if t := translate(err); t != nil {
		return t
	}
	if l.isClosed() {
		return l.closedErr()
	}
	return fmt.Errorf("quicnet: link to %s: %w", l.peer.Short(), err)
}

// translateOr is translate with a fallback for causes it does not know.
func translateOr(cause error) error {
	if t := translate(cause); t != nil {
		return t
	}
	return fmt.Errorf("quicnet: connection ended: %w", cause)
}

// interrupt makes the stream operation about to run fail with a deadline
// error once ctx ends (the read side's deadline, or the write side's); the
// function it returns undoes that. It waits for a firing that raced with
// the operation's end, so a stale deadline never leaks into the next call.
// A context that cannot end costs nothing, which keeps the common
// context.Background() path free of allocations.
func (l *link) interrupt(ctx context.Context, write bool) (restore func()) {
	if ctx.Done() == nil {
		return noop
	}
	set := l.str.SetReadDeadline
	if write {
		set = l.str.SetWriteDeadline
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = set(time.Now())
		close(fired)
	})
	return func() {
		if !stop() {
			<-fired
			_ = set(time.Time{})
		}
	}
}

func noop() {}

func trimReason(s string) string {
	if len(s) <= maxReasonLen {
		return s
	}
	s = s[:maxReasonLen]
	// Do not leave half a character at the cut.
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// frameReader reads length-prefixed frames and can stop anywhere inside
// one: a read interrupted by a deadline keeps what it got, and the next
// call carries on. transport.ReadFrame cannot, which is why it is not used
// here.
//
// A payload's buffer grows as its bytes arrive (transport.GrowPayload),
// never from the announced length alone: a peer that announces a large
// frame and sends little of it costs little memory.
type frameReader struct {
	hdr  [transport.FrameHeaderSize]byte
	hdrN int
	// body holds the payload read so far once the header is complete
	// (sized); size is the announced length. fromScratch says body is the
	// reusable buffer.
	body        []byte
	size        int
	sized       bool
	fromScratch bool
	scratch     []byte
}

func (r *frameReader) next(src io.Reader, maxFrame int, own bool) ([]byte, error) {
	for r.hdrN < len(r.hdr) {
		n, err := src.Read(r.hdr[r.hdrN:])
		r.hdrN += n
		if err != nil {
			if errors.Is(err, io.EOF) && r.hdrN > 0 {
				return nil, fmt.Errorf("%w: truncated length prefix", transport.ErrBadFrame)
			}
			return nil, err
		}
	}
	if !r.sized {
		size := binary.BigEndian.Uint32(r.hdr[:])
		if uint64(size) > uint64(maxFrame) {
			return nil, fmt.Errorf("%w: %d bytes, limit %d", transport.ErrFrameTooLarge, size, maxFrame)
		}
		r.sized = true
		r.size = int(size)
		r.fromScratch = !own && r.size <= maxKeptBuffer
		if r.fromScratch {
			r.body = r.scratch[:0]
		} else {
			r.body = nil
		}
	}
	for len(r.body) < r.size {
		r.body = transport.GrowPayload(r.body, r.size)
		n, err := src.Read(r.body[len(r.body):min(cap(r.body), r.size)])
		r.body = r.body[:len(r.body)+n]
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%w: truncated payload (%d of %d bytes)", transport.ErrBadFrame, len(r.body), r.size)
			}
			return nil, err
		}
	}
	body := r.body
	if r.fromScratch {
		r.scratch = body[:0] // keep what the buffer grew to
		if own {
			// Started by a cancelled Recv, finished for RecvFrame, whose
			// caller keeps the slice: the scratch buffer cannot be handed
			// out.
			body = append([]byte(nil), body...)
		}
	}
	if body == nil {
		body = []byte{}
	}
	r.hdrN, r.sized, r.body, r.size = 0, false, nil, 0
	return body, nil
}
