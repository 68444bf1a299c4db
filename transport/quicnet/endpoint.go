package quicnet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
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
		tr:      &quic.Transport{Conn: pconn},
		addr:    pconn.LocalAddr().String(),
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
	}
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
	l := newLink(conn, str, peer, alpn, e.cfg.MaxFrameSize)
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

// serve routes one accepted connection and runs its handler.
func (e *Endpoint) serve(conn *quic.Conn) {
	if !e.track(conn) {
		return
	}
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
	l, err := e.acceptLink(conn, peer, alpn)
	if err != nil {
		_ = conn.CloseWithError(quic.ApplicationErrorCode(transport.CodeProtocolViolation), trimReason(err.Error()))
		return
	}
	h(l)
}

// acceptLink waits for the dialer's stream and checks its preamble, each
// within the handshake timeout so a silent peer cannot hold a goroutine.
func (e *Endpoint) acceptLink(conn *quic.Conn, peer id.PeerID, alpn string) (*link, error) {
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.HandshakeTimeout)
	defer cancel()
	str, err := conn.AcceptStream(ctx)
	if err != nil {
		return nil, fmt.Errorf("no stream opened: %w", err)
	}
	l := newLink(conn, str, peer, alpn, e.cfg.MaxFrameSize)
	_ = str.SetReadDeadline(time.Now().Add(e.cfg.HandshakeTimeout))
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
