package quicnet

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"go.uber.org/goleak"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/transport"
)

// waitLimit bounds every wait; a passing run never gets near it.
const waitLimit = 20 * time.Second

const alpnTest = "/mosaik/quicnet-test/1"

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

// listen starts an endpoint on a plain loopback socket, closed at cleanup.
// eventually polls cond every few milliseconds until it holds (true) or
// limit passes (false).
func eventually(limit time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			return cond()
		}
	}
	return true
}

func listen(t testing.TB, cfg Config) *Endpoint {
	t.Helper()
	if cfg.Key.IsZero() {
		cfg.Key = id.NewSecretKey()
	}
	ep, err := Listen(cfg)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() {
		if err := ep.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return ep
}

// handOver registers a handler on ep that passes links to the test.
func handOver(t testing.TB, ep *Endpoint, alpn string) <-chan transport.Link {
	t.Helper()
	ch := make(chan transport.Link, 16)
	if err := ep.Handle(alpn, func(l transport.Link) { ch <- l }); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	return ch
}

func receive[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatal("nothing arrived")
		panic("unreachable")
	}
}

// linked dials b from a and returns both ends of the link, with one frame
// through to prove it works.
func linked(t testing.TB, a, b *Endpoint) (dialed, served transport.Link) {
	t.Helper()
	in := handOver(t, b, alpnTest)
	dialed, err := a.Dial(testCtx(t), b.PeerID(), b.Addr(), alpnTest)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { dialed.Close(transport.CodeSuccess, "") })
	served = receive(t, in)
	t.Cleanup(func() { served.Close(transport.CodeSuccess, "") })
	if err := dialed.Send(testCtx(t), &messages.Ping{Nonce: 1}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	var m messages.Ping
	if err := served.Recv(testCtx(t), &m); err != nil || m.Nonce != 1 {
		t.Fatalf("Recv = %v, nonce %d", err, m.Nonce)
	}
	return dialed, served
}

// rawDial connects to ep with plain quic-go and the given TLS config, the
// way a buggy or foreign peer would.
func rawDial(t testing.TB, ep *Endpoint, conf *tls.Config) (*quic.Conn, error) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen udp: %v", err)
	}
	tr := &quic.Transport{Conn: pc}
	t.Cleanup(func() {
		tr.Close()
		pc.Close()
	})
	addr, err := net.ResolveUDPAddr("udp", ep.Addr())
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	return tr.Dial(testCtx(t), addr, conf, &quic.Config{})
}

// rawTLS is a client config that presents cert and trusts anything.
func rawTLS(cert tls.Certificate, alpn string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{cert},
		InsecureSkipVerify: true,
		NextProtos:         []string{alpn},
	}
}

func mustCert(t testing.TB) tls.Certificate {
	t.Helper()
	cert, err := selfSignedCert(id.NewSecretKey())
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// closeCause waits for conn to end and returns why, as quic-go reports it.
func closeCause(t testing.TB, conn *quic.Conn) error {
	t.Helper()
	select {
	case <-conn.Context().Done():
		return context.Cause(conn.Context())
	case <-time.After(waitLimit):
		t.Fatal("connection not closed")
		return nil
	}
}

// noLeaks checks, after every other cleanup of t has run (endpoints
// closed, raw clients gone), that no goroutine outlives the test.
func noLeaks(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
}
