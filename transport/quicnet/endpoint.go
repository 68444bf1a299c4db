package quicnet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/transport"
)

// Endpoint is a transport.Endpoint on one UDP socket: a quic.Transport
// that both listens and dials, so peers see one address per node.
type Endpoint struct {
	cfg     Config
	peer    id.PeerID
	cert    tls.Certificate
	quicCfg *quic.Config
	pconn   net.PacketConn
	tr      *quic.Transport
	ln      *quic.Listener
	addr    string
	adm     *admission
	stats   Stats

	// ctx ends when Close starts; it aborts dials and accepts in progress.
	ctx    context.Context
	cancel context.CancelFunc
	// wg counts every goroutine the endpoint starts: the accept loop, one
	// per accepted connection (which runs the handler), and the short
	// one that forgets a connection once it ends.
	wg sync.WaitGroup

	closeOnce sync.Once
	closeErr  error

	mu struct {
		sync.Mutex
		closed   bool
		handlers map[string]transport.Handler
		// conns holds every live connection, dialed or accepted, linked
		// or still setting up, so Close can end them all.
		conns map[*quic.Conn]struct{}
	}
}

var _ transport.Endpoint = (*Endpoint)(nil)

// Listen starts an endpoint: it binds cfg.ListenAddr (or takes
// cfg.PacketConn) and accepts connections until Close.
func Listen(cfg Config) (*Endpoint, error) {
	if err := cfg.Validate(); err != nil {
		if cfg.PacketConn != nil {
			_ = cfg.PacketConn.Close()
		}
		return nil, err
	}
	cfg = cfg.withDefaults()
	pconn := cfg.PacketConn
	if pconn == nil {
		udpAddr, err := net.ResolveUDPAddr("udp", cfg.ListenAddr)
		if err != nil {
			return nil, fmt.Errorf("quicnet: listen %q: %w", cfg.ListenAddr, err)
		}
		udp, err := net.ListenUDP("udp", udpAddr)
		if err != nil {
			return nil, fmt.Errorf("quicnet: listen %q: %w", cfg.ListenAddr, err)
		}
		pconn = udp
	}
	cert, err := selfSignedCert(cfg.Key)
	if err != nil {
		_ = pconn.Close()
		return nil, err
	}
	e := &Endpoint{
		cfg:     cfg,
		peer:    cfg.Key.PeerID(),
		cert:    cert,
		quicCfg: quicConfig(cfg),
		pconn:   pconn,
		addr:    pconn.LocalAddr().String(),
		adm:     newAdmission(cfg.MaxUnauthenticated, cfg.MaxUnauthenticatedPerIP),
	}
	e.tr = &quic.Transport{
		Conn:                pconn,
		ConnContext:         e.admit,
		VerifySourceAddress: func(net.Addr) bool { return e.adm.crowded() },
	}
	e.mu.handlers = make(map[string]transport.Handler)
	e.mu.conns = make(map[*quic.Conn]struct{})
	e.ln, err = e.tr.Listen(serverTLS(cert), e.quicCfg)
	if err != nil {
		_ = e.tr.Close()
		_ = pconn.Close()
		return nil, fmt.Errorf("quicnet: listen on %s: %w", e.addr, err)
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.wg.Go(e.acceptLoop)
	return e, nil
}

func quicConfig(cfg Config) *quic.Config {
	return &quic.Config{
		HandshakeIdleTimeout: cfg.HandshakeTimeout,
		MaxIdleTimeout:       cfg.IdleTimeout,
		KeepAlivePeriod:      max(cfg.KeepAlivePeriod, 0),
		// A link is one bidirectional stream, opened by the dialer; the
		// peer gets no credit for more.
		MaxIncomingStreams:    1,
		MaxIncomingUniStreams: -1,
		// Until the peer is authenticated it may only send its first
		// frame, so it gets flow-control credit for little more than
		// that; quic-go raises the windows (up to its 6 MiB and 15 MiB
		// maxima) as the application reads, so authenticated links that
		// carry bulk traffic are not held back for long.
		InitialStreamReceiveWindow:     uint64(initialWindow(cfg)),
		InitialConnectionReceiveWindow: uint64(initialWindow(cfg)),
	}
}

// initialWindow is the flow-control credit a new connection starts with:
// room for the preamble and the largest first frame, twice over, so that
// a well-behaved peer never waits for credit before it is authenticated.
func initialWindow(cfg Config) int {
	return max(2*(cfg.FirstFrameSize+len(preamble)+transport.FrameHeaderSize), 64<<10)
}

// admit is the transport's ConnContext: it runs at a connection's first
// packet, before any handshake work, and takes the connection's slot among
// the unauthenticated ones or refuses it. The slot is freed when the first
// frame arrives (see serve), or when the connection ends, whichever comes
// first.
func (e *Endpoint) admit(ctx context.Context, info *quic.ClientInfo) (context.Context, error) {
	p, err := e.adm.admit(sourceOf(info.RemoteAddr))
	if err != nil {
		if errors.Is(err, ErrTooManyFromAddress) {
			e.stats.RefusedPerIP.Add(1)
		} else {
			e.stats.RefusedTotal.Add(1)
		}
		return nil, err
	}
	// The context ends when the handshake fails or the connection closes.
	context.AfterFunc(ctx, p.release)
	return context.WithValue(ctx, pendingKey{}, p), nil
}

// Stats returns the endpoint's counters of refused and cut-short
// connections.
func (e *Endpoint) Stats() *Stats { return &e.stats }

// Unauthenticated returns how many accepted connections have not yet
// delivered their first frame: in total, and from the IP address of
// addr (host:port).
func (e *Endpoint) Unauthenticated(addr string) (total, fromAddr int) {
	var src netip.Addr
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		src = ap.Addr().Unmap()
	}
	return e.adm.counts(src)
}

// PeerID is the identity this endpoint proves in every handshake.
func (e *Endpoint) PeerID() id.PeerID { return e.peer }

// Addr is the local UDP address, host:port, as bound.
func (e *Endpoint) Addr() string { return e.addr }

// Handle registers h for incoming links that negotiate alpn. A connection
// is routed by the handlers registered when its handshake completes.
func (e *Endpoint) Handle(alpn string, h transport.Handler) error {
	if h == nil || alpn == "" {
		return fmt.Errorf("quicnet: handle %q: %w: nil handler or empty ALPN", alpn, transport.ErrNoHandler)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.mu.closed {
		return fmt.Errorf("quicnet: handle %q: %w", alpn, transport.ErrClosed)
	}
	if _, dup := e.mu.handlers[alpn]; dup {
		return fmt.Errorf("quicnet: handle %q: %w: already registered", alpn, transport.ErrNoHandler)
	}
	e.mu.handlers[alpn] = h
	return nil
}

func (e *Endpoint) handler(alpn string) transport.Handler {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.mu.handlers[alpn]
}

// Dial connects to addr, checks in the TLS handshake that the other side
// holds peer's key, and opens a link for alpn. The handshake is bounded by
// ctx and by Config.HandshakeTimeout, whichever ends first.
//
// Dial returns once this side's handshake is done, before the peer has
// routed the link: a peer with no handler for alpn closes it with
// transport.CodeInvalidALPN, which the first Send or Recv (or Err, once
// Done is closed) reports, or Dial itself if the close beats it.
func (e *Endpoint) Dial(ctx context.Context, peer id.PeerID, addr string, alpn string) (transport.Link, error) {
	if e.isClosed() {
		return nil, fmt.Errorf("quicnet: dial %s: %w", peer.Short(), transport.ErrClosed)
	}
	if alpn == "" {
		return nil, fmt.Errorf("quicnet: dial %s: empty ALPN", peer.Short())
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("quicnet: dial %s: %w", peer.Short(), err)
	}
	udpAddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("quicnet: dial %s at %q: %w: %w", peer.Short(), addr, transport.ErrUnreachable, err)
	}

	dialCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(e.ctx, cancel)
	defer stop()
	var mismatch atomic.Bool
	conn, err := e.tr.Dial(dialCtx, udpAddr, clientTLS(e.cert, peer, alpn, &mismatch), e.quicCfg)
	if err != nil {
		return nil, e.dialErr(ctx, peer, addr, &mismatch, err)
	}
	if !e.track(conn) {
		return nil, fmt.Errorf("quicnet: dial %s: %w", peer.Short(), transport.ErrClosed)
	}
	str, err := conn.OpenStream()
	if err != nil {
		_ = conn.CloseWithError(quic.ApplicationErrorCode(transport.CodeProtocolViolation), "cannot open stream")
		return nil, fmt.Errorf("quicnet: dial %s: open stream: %w", peer.Short(), translateOr(err))
	}
	l := e.newLink(conn, str, peer, alpn)
	// Queued at once, never blocks: the stream has its full window.
	if _, err := str.Write(preamble[:]); err != nil {
		_ = conn.CloseWithError(quic.ApplicationErrorCode(transport.CodeProtocolViolation), "cannot write preamble")
		return nil, fmt.Errorf("quicnet: dial %s: %w", peer.Short(), l.opErr(err))
	}
	return l, nil
}

func (e *Endpoint) dialErr(ctx context.Context, peer id.PeerID, addr string, mismatch *atomic.Bool, err error) error {
	switch {
	case mismatch.Load():
		return fmt.Errorf("quicnet: dial %s at %s: %w (%w)", peer.Short(), addr, transport.ErrPeerMismatch, err)
	case e.isClosed():
		return fmt.Errorf("quicnet: dial %s: %w", peer.Short(), transport.ErrClosed)
	case ctx.Err() != nil:
		return fmt.Errorf("quicnet: dial %s at %s: %w: %w", peer.Short(), addr, transport.ErrUnreachable, ctx.Err())
	}
	// quic-go reports a handshake that heard nothing back as either kind
	// of timeout.
	_, idle := errors.AsType[*quic.IdleTimeoutError](err)
	_, handshake := errors.AsType[*quic.HandshakeTimeoutError](err)
	if idle || handshake {
		return fmt.Errorf("quicnet: dial %s at %s: %w: %w", peer.Short(), addr, transport.ErrUnreachable, err)
	}
	if t := translate(err); t != nil {
		return fmt.Errorf("quicnet: dial %s at %s: %w", peer.Short(), addr, t)
	}
	return fmt.Errorf("quicnet: dial %s at %s: %w", peer.Short(), addr, err)
}

// track records conn so Close can end it, and forgets it when it ends. It
// refuses (closing conn) once the endpoint is closing.
func (e *Endpoint) track(conn *quic.Conn) bool {
	e.mu.Lock()
	if e.mu.closed {
		e.mu.Unlock()
		_ = conn.CloseWithError(quic.ApplicationErrorCode(transport.CodeGracefulShutdown), "endpoint closed")
		return false
	}
	e.mu.conns[conn] = struct{}{}
	// Added under mu while not closed, so before Close's Wait.
	e.wg.Add(1)
	e.mu.Unlock()
	context.AfterFunc(conn.Context(), func() {
		defer e.wg.Done()
		e.mu.Lock()
		delete(e.mu.conns, conn)
		e.mu.Unlock()
	})
	return true
}

func (e *Endpoint) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.mu.closed
}

func (e *Endpoint) acceptLoop() {
	for {
		conn, err := e.ln.Accept(e.ctx)
		if err != nil {
			// Only Close ends the listener or e.ctx.
			return
		}
		e.wg.Go(func() { e.serve(conn) })
	}
}

// serve routes one accepted connection and runs its handler. The peer
// has until the handshake timeout, from now, to open its stream, send the
// preamble and deliver its first frame; until then its slot among the
// unauthenticated connections stays taken.
func (e *Endpoint) serve(conn *quic.Conn) {
	if !e.track(conn) {
		return
	}
	deadline := time.Now().Add(e.cfg.HandshakeTimeout)
	slot, _ := conn.Context().Value(pendingKey{}).(*pending)
	endWatch := e.watchFirstFrame(conn, slot)
	cs := conn.ConnectionState().TLS
	peer, err := peerOf(cs)
	if err != nil {
		// The handshake's VerifyConnection already insisted on this.
		_ = conn.CloseWithError(quic.ApplicationErrorCode(transport.CodeProtocolViolation), err.Error())
		return
	}
	alpn := cs.NegotiatedProtocol
	h := e.handler(alpn)
	if h == nil {
		_ = conn.CloseWithError(quic.ApplicationErrorCode(transport.CodeInvalidALPN), trimReason("no handler for "+alpn))
		return
	}
	l, err := e.acceptLink(conn, peer, alpn, deadline)
	if err != nil {
		endWatch() // the close below ends the connection; the watch has nothing left to do
		if conn.Context().Err() != nil {
			return // closed already, by the watch or the peer
		}
		code := transport.CodeProtocolViolation
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
			code = transport.CodeTimeout
			e.stats.TimedOut.Add(1)
		}
		_ = conn.CloseWithError(quic.ApplicationErrorCode(code), trimReason(err.Error()))
		return
	}
	l.onFirst = endWatch
	h(l)
}

// watchFirstFrame closes conn with transport.CodeTimeout unless its first
// frame arrives within the handshake timeout. It returns the function the
// link calls when that frame arrives, which stops the watch and frees the
// connection's slot; the connection's end does both too. The timer's
// callback is counted in e.wg, so Close waits for it.
func (e *Endpoint) watchFirstFrame(conn *quic.Conn, slot *pending) (arrived func()) {
	release := func() {
		if slot != nil {
			slot.release() // idempotent
		}
	}
	e.wg.Add(1) // serve's own count keeps Close's Wait from having returned
	timer := time.AfterFunc(e.cfg.HandshakeTimeout, func() {
		defer e.wg.Done()
		// Freed before the close goes out, so that the peer never sees its
		// close while the slot still counts.
		release()
		if conn.Context().Err() == nil {
			e.stats.TimedOut.Add(1)
			_ = conn.CloseWithError(quic.ApplicationErrorCode(transport.CodeTimeout), "no first frame within the handshake timeout")
		}
	})
	stop := sync.OnceFunc(func() {
		if timer.Stop() {
			e.wg.Done()
		}
		release()
	})
	context.AfterFunc(conn.Context(), stop)
	return stop
}

// acceptLink waits for the dialer's stream and checks its preamble, both
// before deadline so a silent peer cannot hold a goroutine.
func (e *Endpoint) acceptLink(conn *quic.Conn, peer id.PeerID, alpn string, deadline time.Time) (*link, error) {
	ctx, cancel := context.WithDeadline(e.ctx, deadline)
	defer cancel()
	str, err := conn.AcceptStream(ctx)
	if err != nil {
		return nil, fmt.Errorf("no stream opened: %w", err)
	}
	l := e.newLink(conn, str, peer, alpn)
	_ = str.SetReadDeadline(deadline)
	var got [len(preamble)]byte
	_, err = io.ReadFull(l.br, got[:])
	_ = str.SetReadDeadline(time.Time{})
	if err != nil {
		return nil, fmt.Errorf("no preamble: %w", err)
	}
	if got != preamble {
		return nil, fmt.Errorf("bad preamble %x, want %x", got, preamble)
	}
	return l, nil
}

// Close closes every link with transport.CodeGracefulShutdown, stops
// accepting, waits for the handlers and every other goroutine the endpoint
// started, then releases the socket. Handlers must return once their link
// is closed, or Close waits for them. Later calls return nil.
func (e *Endpoint) Close() error {
	first := false
	e.closeOnce.Do(func() {
		first = true
		e.closeErr = e.close()
	})
	if !first {
		return nil
	}
	return e.closeErr
}

func (e *Endpoint) close() error {
	e.mu.Lock()
	e.mu.closed = true
	conns := make([]*quic.Conn, 0, len(e.mu.conns))
	for c := range e.mu.conns {
		conns = append(conns, c)
	}
	e.mu.Unlock()

	e.cancel()
	// CONNECTION_CLOSE goes out before the socket closes, so peers learn
	// the code now rather than at their idle timeout.
	for _, c := range conns {
		_ = c.CloseWithError(quic.ApplicationErrorCode(transport.CodeGracefulShutdown), "endpoint closed")
	}
	lnErr := e.ln.Close()
	e.wg.Wait()
	trErr := e.tr.Close()
	// The transport does not close a socket it was handed.
	pcErr := e.pconn.Close()
	if err := errors.Join(lnErr, trErr, pcErr); err != nil {
		return fmt.Errorf("quicnet: close %s: %w", e.addr, err)
	}
	return nil
}
