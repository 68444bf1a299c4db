package quicnet

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"math/big"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/transport"
)

func TestConfigValidate(t *testing.T) {
	key := id.NewSecretKey()
	tests := []struct {
		name  string
		cfg   Config
		field string // named in the error; "" means valid
	}{
		{"zero but key", Config{Key: key}, ""},
		{"no key", Config{}, "Key"},
		{"negative frame size", Config{Key: key, MaxFrameSize: -1}, "MaxFrameSize"},
		{"frame size past prefix", Config{Key: key, MaxFrameSize: 1 << 33}, "MaxFrameSize"},
		{"negative handshake", Config{Key: key, HandshakeTimeout: -time.Second}, "HandshakeTimeout"},
		{"negative idle", Config{Key: key, IdleTimeout: -time.Second}, "IdleTimeout"},
		{"keepalive past idle", Config{Key: key, IdleTimeout: time.Second, KeepAlivePeriod: 2 * time.Second}, "KeepAlivePeriod"},
		{"keepalive past default idle", Config{Key: key, KeepAlivePeriod: time.Hour}, "KeepAlivePeriod"},
		{"keepalive off", Config{Key: key, KeepAlivePeriod: -1}, ""},
		{"bad listen addr", Config{Key: key, ListenAddr: "nowhere"}, "ListenAddr"},
		{"negative first frame", Config{Key: key, FirstFrameSize: -1}, "FirstFrameSize"},
		{"first frame past max", Config{Key: key, MaxFrameSize: 1024, FirstFrameSize: 2048}, "FirstFrameSize"},
		{"small max frame", Config{Key: key, MaxFrameSize: 1024}, ""},
		{"negative unauthenticated", Config{Key: key, MaxUnauthenticated: -1}, "MaxUnauthenticated"},
		{"negative per IP", Config{Key: key, MaxUnauthenticatedPerIP: -1}, "MaxUnauthenticatedPerIP"},
		{"per IP past total", Config{Key: key, MaxUnauthenticated: 4, MaxUnauthenticatedPerIP: 8}, "MaxUnauthenticatedPerIP"},
		{"small total", Config{Key: key, MaxUnauthenticated: 4}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("Validate = %v, want ErrBadConfig naming %s", err, tc.field)
			}
		})
	}
}

func TestListenDefaults(t *testing.T) {
	ep := listen(t, Config{})
	ap, err := netip.ParseAddrPort(ep.Addr())
	if err != nil {
		t.Fatalf("Addr %q: %v", ep.Addr(), err)
	}
	if !ap.Addr().IsLoopback() || ap.Port() == 0 {
		t.Fatalf("Addr = %v, want a loopback address with a port", ap)
	}
	if _, err := Listen(Config{}); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("Listen without a key: %v", err)
	}
	if err := ep.Handle("", func(transport.Link) {}); !errors.Is(err, transport.ErrNoHandler) {
		t.Fatalf("Handle with empty ALPN: %v", err)
	}
	if err := ep.Handle(alpnTest, nil); !errors.Is(err, transport.ErrNoHandler) {
		t.Fatalf("Handle with nil handler: %v", err)
	}
}

// TestLocalCloseError pins what this side reports after closing: a local
// *CloseError that also matches ErrClosed, while the peer sees the code.
func TestLocalCloseError(t *testing.T) {
	a, b := listen(t, Config{}), listen(t, Config{})
	dialed, served := linked(t, a, b)
	if err := dialed.Close(transport.CodeSuccess, "bye"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := dialed.Close(transport.CodeInvalidProof, "again"); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for name, err := range map[string]error{
		"Send": dialed.Send(testCtx(t), &messages.Ping{}),
		"Recv": dialed.Recv(testCtx(t), &messages.Ping{}),
		"Err":  dialed.Err(),
	} {
		var ce *transport.CloseError
		if !errors.As(err, &ce) || ce.Code != transport.CodeSuccess || ce.Remote || ce.Reason != "bye" {
			t.Errorf("%s after local Close = %v, want local CloseError 200 bye", name, err)
		}
		if !errors.Is(err, transport.ErrClosed) {
			t.Errorf("%s after local Close = %v, does not match ErrClosed", name, err)
		}
	}
	err := served.Recv(testCtx(t), &messages.Ping{})
	var ce *transport.CloseError
	if !errors.As(err, &ce) || ce.Code != transport.CodeSuccess || !ce.Remote || ce.Reason != "bye" {
		t.Fatalf("peer Recv = %v, want remote CloseError 200 bye", err)
	}
	if errors.Is(err, transport.ErrClosed) {
		t.Fatalf("peer's error %v matches ErrClosed, which is for local closes", err)
	}
}

func TestLongCloseReasonIsTrimmed(t *testing.T) {
	a, b := listen(t, Config{}), listen(t, Config{})
	dialed, served := linked(t, a, b)
	served.Close(transport.CodeNotAllowed, strings.Repeat("é", 4000))
	var ce *transport.CloseError
	if err := dialed.Recv(testCtx(t), &messages.Ping{}); !errors.As(err, &ce) || ce.Code != transport.CodeNotAllowed {
		t.Fatalf("Recv = %v, want CloseError %d", err, transport.CodeNotAllowed)
	}
	if len(ce.Reason) == 0 || len(ce.Reason) > maxReasonLen || !strings.HasPrefix(ce.Reason, "éé") {
		t.Fatalf("reason is %d bytes: %q...", len(ce.Reason), ce.Reason[:min(len(ce.Reason), 10)])
	}
}

func TestUnknownALPNReason(t *testing.T) {
	noLeaks(t)
	a, b := listen(t, Config{}), listen(t, Config{})
	handOver(t, b, alpnTest)
	l, err := a.Dial(testCtx(t), b.PeerID(), b.Addr(), "/nobody/1")
	if err == nil {
		// Usually the refusal comes after Dial returns; on a slow machine
		// it can beat the stream's opening and fail Dial itself.
		select {
		case <-l.Done():
		case <-time.After(waitLimit):
			t.Fatal("link to an unknown ALPN stays open")
		}
		err = l.Err()
	}
	var ce *transport.CloseError
	if !errors.As(err, &ce) || ce.Code != transport.CodeInvalidALPN || !ce.Remote || !strings.Contains(ce.Reason, "/nobody/1") {
		t.Fatalf("err = %v, want remote CloseError 100 naming the ALPN", err)
	}
}

// TestServerRefusesForeignCertificates connects with certificates that do
// not name a mosaik peer: the handshake fails and no handler runs.
func TestServerRefusesForeignCertificates(t *testing.T) {
	noLeaks(t)
	var calls atomic.Int32
	b := listen(t, Config{})
	if err := b.Handle(alpnTest, func(transport.Link) { calls.Add(1) }); err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "not a peer"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ecKey.PublicKey, ecKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, conf := range map[string]*tls.Config{
		"ecdsa key": rawTLS(tls.Certificate{Certificate: [][]byte{der}, PrivateKey: ecKey}, alpnTest),
		"no cert":   rawTLS(tls.Certificate{}, alpnTest),
	} {
		t.Run(name, func(t *testing.T) {
			if name == "no cert" {
				conf.Certificates = nil
			}
			conn, err := rawDial(t, b, conf)
			if err == nil {
				// TLS 1.3 clients finish before the server has judged their
				// certificate; the refusal then arrives as a close.
				err = closeCause(t, conn)
			}
			var te *quic.TransportError
			if !errors.As(err, &te) || !te.Remote {
				t.Fatalf("dial with %s: %v, want the server's handshake refusal", name, err)
			}
		})
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("handler ran %d times for refused peers", n)
	}
}

// TestDialerChecksServerKey dials a peer that proves a key other than the
// expected one, and one whose certificate is not ed25519 at all.
func TestDialerChecksServerKey(t *testing.T) {
	noLeaks(t)
	a, b := listen(t, Config{}), listen(t, Config{})
	var calls atomic.Int32
	if err := b.Handle(alpnTest, func(transport.Link) { calls.Add(1) }); err != nil {
		t.Fatal(err)
	}
	_, err := a.Dial(testCtx(t), a.PeerID(), b.Addr(), alpnTest)
	if !errors.Is(err, transport.ErrPeerMismatch) {
		t.Fatalf("Dial expecting the wrong peer: %v", err)
	}
	if !strings.Contains(err.Error(), b.PeerID().Short()) {
		t.Fatalf("error %q does not name the peer that answered", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("handler ran %d times after a refused dial", n)
	}
}

func TestBadPreambleClosed(t *testing.T) {
	noLeaks(t)
	var calls atomic.Int32
	b := listen(t, Config{})
	if err := b.Handle(alpnTest, func(transport.Link) { calls.Add(1) }); err != nil {
		t.Fatal(err)
	}
	conn, err := rawDial(t, b, rawTLS(mustCert(t), alpnTest))
	if err != nil {
		t.Fatalf("raw dial: %v", err)
	}
	str, err := conn.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := str.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	wantAppClose(t, closeCause(t, conn), transport.CodeProtocolViolation)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("handler ran %d times for a bad preamble", n)
	}
}

func TestSilentDialerClosed(t *testing.T) {
	noLeaks(t)
	b := listen(t, Config{HandshakeTimeout: 500 * time.Millisecond})
	handOver(t, b, alpnTest)
	conn, err := rawDial(t, b, rawTLS(mustCert(t), alpnTest))
	if err != nil {
		t.Fatalf("raw dial: %v", err)
	}
	// No stream, no preamble: the server gives up after its handshake
	// timeout, and says so.
	wantAppClose(t, closeCause(t, conn), transport.CodeTimeout)
}

// TestStreamEndIsProtocolViolation has a foreign peer finish its side of
// the stream, which mosaik peers never do.
func TestStreamEndIsProtocolViolation(t *testing.T) {
	noLeaks(t)
	b := listen(t, Config{})
	in := handOver(t, b, alpnTest)
	conn, err := rawDial(t, b, rawTLS(mustCert(t), alpnTest))
	if err != nil {
		t.Fatalf("raw dial: %v", err)
	}
	str, err := conn.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte{0x08, 0x07} // Ping{Nonce: 7}
	wire := append(preamble[:], transport.AppendFrame(nil, msg)...)
	wire = binary.BigEndian.AppendUint32(wire, 100) // a header whose payload never comes
	if _, err := str.Write(wire); err != nil {
		t.Fatal(err)
	}
	str.Close()
	l := receive(t, in)
	var m messages.Ping
	if err := l.Recv(testCtx(t), &m); err != nil || m.Nonce != 7 {
		t.Fatalf("first Recv = %v nonce %d", err, m.Nonce)
	}
	if err := l.Recv(testCtx(t), &m); !errors.Is(err, transport.ErrBadFrame) {
		t.Fatalf("Recv of a truncated frame = %v, want ErrBadFrame", err)
	}
	wantAppClose(t, closeCause(t, conn), transport.CodeProtocolViolation)
}

func wantAppClose(t testing.TB, err error, code transport.CloseCode) {
	t.Helper()
	var ae *quic.ApplicationError
	if !errors.As(err, &ae) || ae.ErrorCode != quic.ApplicationErrorCode(code) || !ae.Remote {
		t.Fatalf("connection ended with %v, want the peer's application close %d", err, code)
	}
}

func TestIdleTimeout(t *testing.T) {
	noLeaks(t)
	cfg := Config{IdleTimeout: 400 * time.Millisecond, KeepAlivePeriod: 100 * time.Millisecond}
	cfg.Key = id.NewSecretKey()
	a, fa := listenFaulty(t, cfg)
	cfg.Key = id.NewSecretKey()
	b, fb := listenFaulty(t, cfg)
	dialed, served := linked(t, a, b)
	fa.Block(netip.MustParseAddrPort(b.Addr()))
	fb.Block(netip.MustParseAddrPort(a.Addr()))

	if err := served.Recv(testCtx(t), &messages.Ping{}); !errors.Is(err, transport.ErrTimeout) {
		t.Fatalf("Recv across a lasting cut = %v, want ErrTimeout", err)
	}
	select {
	case <-dialed.Done():
	case <-time.After(waitLimit):
		t.Fatal("dialer's link outlived the idle timeout")
	}
	if err := dialed.Err(); !errors.Is(err, transport.ErrTimeout) {
		t.Fatalf("Err = %v, want ErrTimeout", err)
	}
	if err := dialed.Send(testCtx(t), &messages.Ping{}); !errors.Is(err, transport.ErrTimeout) {
		t.Fatalf("Send = %v, want ErrTimeout", err)
	}
}

// TestKeepAliveHoldsIdleLink leaves a link idle for several idle timeouts:
// keep-alives must hold it open.
func TestKeepAliveHoldsIdleLink(t *testing.T) {
	cfg := Config{IdleTimeout: 500 * time.Millisecond, KeepAlivePeriod: 50 * time.Millisecond}
	a, b := listen(t, cfg), listen(t, cfg)
	dialed, served := linked(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 3*cfg.IdleTimeout)
	defer cancel()
	if err := served.Recv(ctx, &messages.Ping{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("idle Recv = %v, want our own deadline", err)
	}
	if err := dialed.Err(); err != nil {
		t.Fatalf("idle link died: %v", err)
	}
	if err := dialed.Send(testCtx(t), &messages.Ping{Nonce: 9}); err != nil {
		t.Fatal(err)
	}
	var m messages.Ping
	if err := served.Recv(testCtx(t), &m); err != nil || m.Nonce != 9 {
		t.Fatalf("Recv after idling = %v nonce %d", err, m.Nonce)
	}
}

// TestSendAbandonedMidFrame blocks a Send on flow control (the peer does
// not read) until its context ends: part of the frame is out, so the link
// must close with CodeCancelled rather than go on misframed.
func TestSendAbandonedMidFrame(t *testing.T) {
	noLeaks(t)
	a, b := listen(t, Config{}), listen(t, Config{})
	dialed, served := linked(t, a, b)
	// The deadline must leave quic-go's send loop time to put the first
	// flow-control window of the frame out even on a loaded machine (a
	// Send that sent nothing rightly keeps the link): 300 ms once did not.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := dialed.SendFrame(ctx, make([]byte, 12<<20)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SendFrame past the window = %v, want DeadlineExceeded", err)
	}
	if code, _ := transport.CodeOf(dialed.Err()); code != transport.CodeCancelled {
		t.Fatalf("Err = %v, want the local CodeCancelled close", dialed.Err())
	}
	var ce *transport.CloseError
	if _, err := served.RecvFrame(testCtx(t)); !errors.As(err, &ce) || ce.Code != transport.CodeCancelled || !ce.Remote {
		t.Fatalf("peer RecvFrame = %v, want remote CloseError %d", err, transport.CodeCancelled)
	}
}

func TestCancelledSendLeavesLinkIntact(t *testing.T) {
	a, b := listen(t, Config{}), listen(t, Config{})
	dialed, served := linked(t, a, b)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := dialed.Send(ctx, &messages.Ping{Nonce: 5}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send with a done context = %v", err)
	}
	if err := dialed.Send(testCtx(t), &messages.Ping{Nonce: 6}); err != nil {
		t.Fatal(err)
	}
	var m messages.Ping
	if err := served.Recv(testCtx(t), &m); err != nil || m.Nonce != 6 {
		t.Fatalf("Recv = %v nonce %d, want 6 (5 was never sent)", err, m.Nonce)
	}
}

// TestWaitForWriteLockHonoursContext holds the write lock as a blocked
// Send would and checks another Send gives up on its context, and on
// Close.
func TestWaitForWriteLockHonoursContext(t *testing.T) {
	a, b := listen(t, Config{}), listen(t, Config{})
	dialed, _ := linked(t, a, b)
	l := dialed.(*link)
	l.wsem <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := l.Send(ctx, &messages.Ping{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send waiting for the lock = %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- l.Send(testCtx(t), &messages.Ping{}) }()
	l.Close(transport.CodeSuccess, "")
	if err := receive(t, done); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Send waiting for the lock of a closed link = %v", err)
	}
	<-l.wsem
}

// TestRecvRetriesResumeFrames reads large frames with Recv calls that keep
// timing out part-way: every frame must still arrive whole and in order.
func TestRecvRetriesResumeFrames(t *testing.T) {
	a, b := listen(t, Config{}), listen(t, Config{})
	dialed, served := linked(t, a, b)
	const frames, size = 4, 3 << 20
	sent := make(chan error, 1)
	go func() {
		for i := range frames {
			if err := dialed.SendFrame(testCtx(t), bytes.Repeat([]byte{byte(i + 1)}, size)); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	ctx := testCtx(t)
	for i := range frames {
		var got []byte
		for got == nil {
			short, cancel := context.WithTimeout(ctx, time.Millisecond)
			var err error
			got, err = served.RecvFrame(short)
			cancel()
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("RecvFrame: %v", err)
			}
			if ctx.Err() != nil {
				t.Fatal("frames did not arrive")
			}
		}
		if len(got) != size || got[0] != byte(i+1) || got[size-1] != byte(i+1) {
			t.Fatalf("frame %d: %d bytes starting %d", i, len(got), got[0])
		}
	}
	if err := receive(t, sent); err != nil {
		t.Fatalf("SendFrame: %v", err)
	}
}

// TestRecvFrameOwnership keeps an earlier RecvFrame result while later
// frames arrive, including through Recv, which reuses a buffer.
func TestRecvFrameOwnership(t *testing.T) {
	a, b := listen(t, Config{}), listen(t, Config{})
	dialed, served := linked(t, a, b)
	ctx := testCtx(t)
	first := []byte{0x08, 0x2a} // Ping{Nonce: 42}
	for _, f := range [][]byte{first, {0x08, 0x01}, {0x08, 0x02}} {
		if err := dialed.SendFrame(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	kept, err := served.RecvFrame(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var m messages.Ping
	for range 2 {
		if err := served.Recv(ctx, &m); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(kept, first) {
		t.Fatalf("kept frame changed to %x", kept)
	}
}

func TestEndpointCloseWaitsForHandlers(t *testing.T) {
	noLeaks(t)
	a, b := listen(t, Config{}), listen(t, Config{})
	var returned atomic.Bool
	entered := make(chan struct{})
	err := b.Handle(alpnTest, func(l transport.Link) {
		close(entered)
		<-l.Done()
		returned.Store(true)
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := a.Dial(testCtx(t), b.PeerID(), b.Addr(), alpnTest)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(transport.CodeSuccess, "")
	receive(t, entered)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if !returned.Load() {
		t.Fatal("Close returned before the handler")
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestCloseAbortsDial(t *testing.T) {
	noLeaks(t)
	a, fa := listenFaulty(t, Config{Key: id.NewSecretKey()})
	b := listen(t, Config{})
	fa.Block(netip.MustParseAddrPort(b.Addr()))
	done := make(chan error, 1)
	go func() {
		_, err := a.Dial(testCtx(t), b.PeerID(), b.Addr(), alpnTest)
		done <- err
	}()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := receive(t, done); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Dial cut off by Close = %v, want ErrClosed", err)
	}
}

func TestDialBadAddress(t *testing.T) {
	a := listen(t, Config{})
	if _, err := a.Dial(testCtx(t), id.NewSecretKey().PeerID(), "no such host:port", alpnTest); !errors.Is(err, transport.ErrUnreachable) {
		t.Fatalf("Dial to a malformed address = %v, want ErrUnreachable", err)
	}
}

// TestDialHandshakeTimeout dials a silent address with a context longer
// than the handshake timeout: the latter bounds the dial.
func TestDialHandshakeTimeout(t *testing.T) {
	a, fa := listenFaulty(t, Config{Key: id.NewSecretKey(), HandshakeTimeout: 200 * time.Millisecond})
	b := listen(t, Config{})
	fa.Block(netip.MustParseAddrPort(b.Addr()))
	if _, err := a.Dial(testCtx(t), b.PeerID(), b.Addr(), alpnTest); !errors.Is(err, transport.ErrUnreachable) {
		t.Fatalf("Dial past the handshake timeout = %v, want ErrUnreachable", err)
	}
}

// TestCloseDiscardsBufferedFrames has frames waiting in the receiver's
// buffer when it closes: they are not handed out afterwards.
func TestCloseDiscardsBufferedFrames(t *testing.T) {
	a, b := listen(t, Config{}), listen(t, Config{})
	dialed, served := linked(t, a, b)
	for i := range uint64(3) {
		if err := dialed.Send(testCtx(t), &messages.Ping{Nonce: 10 + i}); err != nil {
			t.Fatal(err)
		}
	}
	var m messages.Ping
	if err := served.Recv(testCtx(t), &m); err != nil || m.Nonce != 10 {
		t.Fatalf("Recv = %v nonce %d", err, m.Nonce)
	}
	served.Close(transport.CodeSuccess, "")
	if err := served.Recv(testCtx(t), &m); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Recv after Close = %v (nonce %d), want ErrClosed", err, m.Nonce)
	}
}
