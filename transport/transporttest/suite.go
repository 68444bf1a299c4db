package transporttest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/transport"
)

// alpnTest is the protocol the suite registers; the suite never relies on
// mosaik's own protocols being unregistered elsewhere.
const alpnTest = "/mosaik/conformance/1"

// waitLimit bounds every wait in the suite. It is generous because CI
// machines are shared; a passing run never waits this long.
const waitLimit = 20 * time.Second

// Run runs the conformance suite against h.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"EchoInOrder", testEchoInOrder},
		{"ConcurrentSendersDoNotInterleave", testConcurrentSenders},
		{"SharedSecret", testSharedSecret},
		{"PeersAreAuthenticated", testPeersAreAuthenticated},
		{"IdentityMismatchRefused", testIdentityMismatch},
		{"UnknownALPNClosedWithCode", testUnknownALPN},
		{"DuplicateHandlerRefused", testDuplicateHandler},
		{"OversizedFrameIsProtocolViolation", testOversizedFrame},
		{"FirstFrameHasItsOwnLimit", testFirstFrameLimit},
		{"DialerFirstFrameLimited", testDialerFirstFrameLimit},
		{"GarbageFrameIsProtocolViolation", testGarbageFrame},
		{"CloseCodeAndReasonReachPeer", testCloseCode},
		{"ContextCancelUnblocksRecv", testContextCancel},
		{"PartitionStallsAndHealRestores", testPartition},
		{"EndpointCloseEndsAllLinks", testEndpointClose},
		{"DialAfterCloseFails", testDialAfterClose},
		{"DialToClosedEndpointUnreachable", testDialUnreachable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

// pair is two endpoints and one link between them, seen from both sides.
type pair struct {
	a, b           transport.Endpoint
	dialed, served transport.Link
}

// acceptor registers a handler on ep that hands every incoming link over
// on a channel, so the test goroutine owns it.
func acceptor(t testing.TB, ep transport.Endpoint, alpn string) <-chan transport.Link {
	t.Helper()
	ch := make(chan transport.Link, 16)
	if err := ep.Handle(alpn, func(l transport.Link) { ch <- l }); err != nil {
		t.Fatalf("Handle(%q): %v", alpn, err)
	}
	return ch
}

func accept(t testing.TB, ch <-chan transport.Link) transport.Link {
	t.Helper()
	select {
	case l := <-ch:
		return l
	case <-time.After(waitLimit):
		t.Fatal("no incoming link")
		return nil
	}
}

func newEndpoint(t testing.TB, h Harness, opts Options) transport.Endpoint {
	return h.NewEndpoint(t, id.NewSecretKey(), opts)
}

func dial(t testing.TB, from, to transport.Endpoint, alpn string) transport.Link {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	l, err := from.Dial(ctx, to.PeerID(), to.Addr(), alpn)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	return l
}

// newPair makes two endpoints and links them. The dialer speaks first, as
// every mosaik protocol does.
func newPair(t testing.TB, h Harness, bOpts Options) pair {
	t.Helper()
	a := newEndpoint(t, h, Options{})
	b := newEndpoint(t, h, bOpts)
	incoming := acceptor(t, b, alpnTest)
	dialed := dial(t, a, b, alpnTest)
	t.Cleanup(func() { dialed.Close(transport.CodeSuccess, "") })
	return pair{a: a, b: b, dialed: dialed, served: nil}.withServed(t, incoming)
}

func (p pair) withServed(t testing.TB, incoming <-chan transport.Link) pair {
	t.Helper()
	// Some transports reveal the link to the acceptor only once data flows.
	send(t, p.dialed, 0)
	p.served = accept(t, incoming)
	t.Cleanup(func() { p.served.Close(transport.CodeSuccess, "") })
	if got := recv(t, p.served).GetNonce(); got != 0 {
		t.Fatalf("first frame nonce = %d, want 0", got)
	}
	return p
}

func send(t testing.TB, l transport.Link, nonce uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := l.Send(ctx, &messages.Ping{Nonce: nonce}); err != nil {
		t.Fatalf("Send(%d): %v", nonce, err)
	}
}

func recv(t testing.TB, l transport.Link) *messages.Ping {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	var m messages.Ping
	if err := l.Recv(ctx, &m); err != nil {
		t.Fatalf("Recv: %v", err)
	}
	return &m
}

// recvErr waits for Recv to fail and returns the error.
func recvErr(t testing.TB, l transport.Link) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	var m messages.Ping
	for {
		err := l.Recv(ctx, &m)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatal("Recv did not fail before the deadline")
			}
			return err
		}
	}
}

func wantCloseCode(t testing.TB, err error, code transport.CloseCode, remote bool) *transport.CloseError {
	t.Helper()
	var ce *transport.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *transport.CloseError", err, err)
	}
	if ce.Code != code || ce.Remote != remote {
		t.Fatalf("close = code %d remote %v, want code %d remote %v (%v)", ce.Code, ce.Remote, code, remote, err)
	}
	return ce
}

func waitDone(t testing.TB, l transport.Link) {
	t.Helper()
	select {
	case <-l.Done():
	case <-time.After(waitLimit):
		t.Fatal("link not closed")
	}
}

// testEchoInOrder sends 10,000 frames each way through an echoing peer and
// checks that every one comes back, in order, intact.
func testEchoInOrder(t *testing.T, h Harness) {
	const n = 10_000
	p := newPair(t, h, Options{})
	echoed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		for range n {
			var m messages.Ping
			if err := p.served.Recv(ctx, &m); err != nil {
				echoed <- err
				return
			}
			if err := p.served.Send(ctx, &messages.Pong{Nonce: m.Nonce, Payload: m.Payload}); err != nil {
				echoed <- err
				return
			}
		}
		echoed <- nil
	}()
	sent := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		for i := range uint64(n) {
			payload := bytes.Repeat([]byte{byte(i)}, int(i%97))
			if err := p.dialed.Send(ctx, &messages.Ping{Nonce: i + 1, Payload: payload}); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	for i := range uint64(n) {
		var m messages.Pong
		if err := p.dialed.Recv(ctx, &m); err != nil {
			t.Fatalf("Recv %d: %v", i, err)
		}
		want := bytes.Repeat([]byte{byte(i)}, int(i%97))
		if m.Nonce != i+1 || !bytes.Equal(m.Payload, want) {
			t.Fatalf("frame %d: nonce %d payload %d bytes, want nonce %d payload %d bytes", i, m.Nonce, len(m.Payload), i+1, len(want))
		}
	}
	if err := <-sent; err != nil {
		t.Fatalf("sender: %v", err)
	}
	if err := <-echoed; err != nil {
		t.Fatalf("echo: %v", err)
	}
}

// testConcurrentSenders checks that concurrent Send calls never tear frames
// and that each sender's frames keep their order.
func testConcurrentSenders(t *testing.T, h Harness) {
	const senders, each = 8, 500
	p := newPair(t, h, Options{})
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for s := range uint64(senders) {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()
			for i := range uint64(each) {
				if err := p.dialed.Send(ctx, &messages.Ping{Nonce: s<<32 | i, Payload: make([]byte, 200)}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	next := make([]uint64, senders)
	for range senders * each {
		m := recv(t, p.served)
		s, i := m.Nonce>>32, m.Nonce&0xffffffff
		if s >= senders || i != next[s] || len(m.Payload) != 200 {
			t.Fatalf("sender %d frame %d (payload %d), want frame %d", s, i, len(m.Payload), next[s%senders])
		}
		next[s]++
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Send: %v", err)
	}
}

// testSharedSecret checks the secret is equal on both ends, differs per
// label, and differs on another connection between the same two peers.
func testSharedSecret(t *testing.T, h Harness) {
	a := newEndpoint(t, h, Options{})
	b := newEndpoint(t, h, Options{})
	incoming := acceptor(t, b, alpnTest)
	first := pair{a: a, b: b, dialed: dial(t, a, b, alpnTest)}.withServed(t, incoming)
	second := pair{a: a, b: b, dialed: dial(t, a, b, alpnTest)}.withServed(t, incoming)

	secret := func(l transport.Link, label string) []byte {
		t.Helper()
		s, err := l.SharedSecret(label)
		if err != nil {
			t.Fatalf("SharedSecret(%q): %v", label, err)
		}
		if len(s) != 32 {
			t.Fatalf("SharedSecret is %d bytes, want 32", len(s))
		}
		return s
	}
	s1 := secret(first.dialed, "group")
	if !bytes.Equal(s1, secret(first.served, "group")) {
		t.Fatal("the two ends of one link derive different secrets")
	}
	if bytes.Equal(s1, secret(first.dialed, "other")) {
		t.Fatal("different labels derive the same secret")
	}
	s2 := secret(second.dialed, "group")
	if !bytes.Equal(s2, secret(second.served, "group")) {
		t.Fatal("the two ends of the second link derive different secrets")
	}
	if bytes.Equal(s1, s2) {
		t.Fatal("two connections share a secret")
	}
}

func testPeersAreAuthenticated(t *testing.T, h Harness) {
	p := newPair(t, h, Options{})
	if p.dialed.Peer() != p.b.PeerID() {
		t.Fatalf("dialer sees peer %s, want %s", p.dialed.Peer().Short(), p.b.PeerID().Short())
	}
	if p.served.Peer() != p.a.PeerID() {
		t.Fatalf("acceptor sees peer %s, want %s", p.served.Peer().Short(), p.a.PeerID().Short())
	}
	if p.dialed.ALPN() != alpnTest || p.served.ALPN() != alpnTest {
		t.Fatalf("ALPN = %q / %q, want %q", p.dialed.ALPN(), p.served.ALPN(), alpnTest)
	}
}

// testIdentityMismatch dials b's address while expecting another peer.
func testIdentityMismatch(t *testing.T, h Harness) {
	a := newEndpoint(t, h, Options{})
	b := newEndpoint(t, h, Options{})
	incoming := acceptor(t, b, alpnTest)
	impostor := id.NewSecretKey().PeerID()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	l, err := a.Dial(ctx, impostor, b.Addr(), alpnTest)
	if !errors.Is(err, transport.ErrPeerMismatch) {
		if l != nil {
			l.Close(transport.CodeSuccess, "")
		}
		t.Fatalf("Dial with the wrong expected peer: err = %v, want ErrPeerMismatch", err)
	}
	select {
	case l := <-incoming:
		t.Fatalf("acceptor was handed a link from a refused dial (peer %s)", l.Peer().Short())
	default:
	}
}

func testUnknownALPN(t *testing.T, h Harness) {
	a := newEndpoint(t, h, Options{})
	b := newEndpoint(t, h, Options{})
	acceptor(t, b, alpnTest)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	l, err := a.Dial(ctx, b.PeerID(), b.Addr(), "/mosaik/nobody-serves-this/1")
	if err == nil {
		err = recvErr(t, l)
	}
	wantCloseCode(t, err, transport.CodeInvalidALPN, true)
}

func testDuplicateHandler(t *testing.T, h Harness) {
	a := newEndpoint(t, h, Options{})
	acceptor(t, a, alpnTest)
	if err := a.Handle(alpnTest, func(transport.Link) {}); !errors.Is(err, transport.ErrNoHandler) {
		t.Fatalf("second Handle for one ALPN: err = %v, want ErrNoHandler", err)
	}
}

// testOversizedFrame sends a frame larger than the receiver accepts: the
// receiver reports it and closes with the protocol-violation code, which
// the sender then reads.
func testOversizedFrame(t *testing.T, h Harness) {
	const limit = 1024
	p := newPair(t, h, Options{MaxFrameSize: limit})
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := p.dialed.Send(ctx, &messages.Ping{Payload: make([]byte, 4*limit)}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	var m messages.Ping
	if err := p.served.Recv(ctx, &m); !errors.Is(err, transport.ErrFrameTooLarge) {
		t.Fatalf("Recv of an oversized frame: err = %v, want ErrFrameTooLarge", err)
	}
	wantCloseCode(t, recvErr(t, p.dialed), transport.CodeProtocolViolation, true)
	waitDone(t, p.served)
}

// testFirstFrameLimit: the first frame an accepted link receives is held
// to the first-frame limit (it comes before any protocol authenticated the
// peer); once one frame is through, frames up to the maximum pass.
func testFirstFrameLimit(t *testing.T, h Harness) {
	const first = 1024
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()

	a := newEndpoint(t, h, Options{})
	b := newEndpoint(t, h, Options{FirstFrameSize: first})
	incoming := acceptor(t, b, alpnTest)
	dialed := dial(t, a, b, alpnTest)
	t.Cleanup(func() { dialed.Close(transport.CodeSuccess, "") })
	if err := dialed.Send(ctx, &messages.Ping{Payload: make([]byte, 4*first)}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	served := accept(t, incoming)
	var m messages.Ping
	if err := served.Recv(ctx, &m); !errors.Is(err, transport.ErrFrameTooLarge) {
		t.Fatalf("Recv of an oversized first frame: err = %v, want ErrFrameTooLarge", err)
	}
	wantCloseCode(t, recvErr(t, dialed), transport.CodeProtocolViolation, true)

	// Within the limit first, then larger: both arrive.
	p := newPair(t, h, Options{FirstFrameSize: first})
	if err := p.dialed.Send(ctx, &messages.Ping{Nonce: 7, Payload: make([]byte, 4*first)}); err != nil {
		t.Fatalf("Send after the first frame: %v", err)
	}
	if got := recv(t, p.served); got.GetNonce() != 7 || len(got.GetPayload()) != 4*first {
		t.Fatalf("second frame: nonce %d, %d bytes", got.GetNonce(), len(got.GetPayload()))
	}
}

// testDialerFirstFrameLimit: the dialer holds the first frame it receives
// to its own first-frame limit too; the side it dialed is no more
// authenticated than one that dialed it.
func testDialerFirstFrameLimit(t *testing.T, h Harness) {
	const first = 1024
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	a := newEndpoint(t, h, Options{FirstFrameSize: first})
	b := newEndpoint(t, h, Options{})
	incoming := acceptor(t, b, alpnTest)
	p := pair{a: a, b: b, dialed: dial(t, a, b, alpnTest)}
	t.Cleanup(func() { p.dialed.Close(transport.CodeSuccess, "") })
	p = p.withServed(t, incoming)
	if err := p.served.Send(ctx, &messages.Ping{Payload: make([]byte, 4*first)}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	var m messages.Ping
	if err := p.dialed.Recv(ctx, &m); !errors.Is(err, transport.ErrFrameTooLarge) {
		t.Fatalf("dialer's Recv of an oversized first frame: err = %v, want ErrFrameTooLarge", err)
	}
	wantCloseCode(t, recvErr(t, p.served), transport.CodeProtocolViolation, true)
}

func testGarbageFrame(t *testing.T, h Harness) {
	p := newPair(t, h, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	// 0xff is field 31 with the reserved wire type 7: never valid protobuf.
	if err := p.dialed.SendFrame(ctx, []byte{0xff, 0xff, 0xff}); err != nil {
		t.Fatalf("SendFrame: %v", err)
	}
	var m messages.Ping
	if err := p.served.Recv(ctx, &m); !errors.Is(err, transport.ErrBadFrame) {
		t.Fatalf("Recv of garbage: err = %v, want ErrBadFrame", err)
	}
	wantCloseCode(t, recvErr(t, p.dialed), transport.CodeProtocolViolation, true)
}

func testCloseCode(t *testing.T, h Harness) {
	p := newPair(t, h, Options{})
	if err := p.served.Close(transport.CodeInvalidProof, "proof does not verify"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ce := wantCloseCode(t, recvErr(t, p.dialed), transport.CodeInvalidProof, true)
	if ce.Reason != "proof does not verify" {
		t.Fatalf("reason = %q", ce.Reason)
	}
	waitDone(t, p.dialed)
	if code, ok := transport.CodeOf(p.dialed.Err()); !ok || code != transport.CodeInvalidProof {
		t.Fatalf("Err() = %v, want close code %d", p.dialed.Err(), transport.CodeInvalidProof)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := p.served.Send(ctx, &messages.Ping{}); err == nil {
		t.Fatal("Send on a closed link succeeded")
	}
}

func testContextCancel(t *testing.T, h Harness) {
	p := newPair(t, h, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		var m messages.Ping
		done <- p.served.Recv(ctx, &m)
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Recv after cancel: err = %v, want context.Canceled", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Recv ignored its context")
	}
	// The link survives an abandoned Recv.
	send(t, p.dialed, 7)
	if got := recv(t, p.served).Nonce; got != 7 {
		t.Fatalf("after cancel: nonce %d, want 7", got)
	}
}

// testPartition cuts two linked endpoints apart: a frame sent across the
// cut does not arrive while it lasts, and arrives once it heals.
func testPartition(t *testing.T, h Harness) {
	p := newPair(t, h, Options{})
	h.Partition([]transport.Endpoint{p.a}, []transport.Endpoint{p.b})
	healed := false
	defer func() {
		if !healed {
			h.Heal()
		}
	}()
	send(t, p.dialed, 42)
	// A negative can only be shown over a window; 300 ms is far longer than
	// a loopback or in-memory delivery takes.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	var m messages.Ping
	err := p.served.Recv(ctx, &m)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv across a partition: err = %v, nonce %d; want nothing delivered", err, m.Nonce)
	}
	h.Heal()
	healed = true
	if got := recv(t, p.served).Nonce; got != 42 {
		t.Fatalf("after heal: nonce %d, want 42", got)
	}
	send(t, p.served, 43)
	if got := recv(t, p.dialed).Nonce; got != 43 {
		t.Fatalf("reply after heal: nonce %d, want 43", got)
	}
}

// testEndpointClose closes an endpoint holding one dialed and one accepted
// link: both of its peers see a graceful-shutdown close.
func testEndpointClose(t *testing.T, h Harness) {
	a := newEndpoint(t, h, Options{})
	b := newEndpoint(t, h, Options{})
	c := newEndpoint(t, h, Options{})
	bIn := acceptor(t, b, alpnTest)
	aIn := acceptor(t, a, alpnTest)
	ab := pair{a: a, b: b, dialed: dial(t, a, b, alpnTest)}.withServed(t, bIn)
	ca := pair{a: c, b: a, dialed: dial(t, c, a, alpnTest)}.withServed(t, aIn)

	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for name, l := range map[string]transport.Link{"accepted by b": ab.served, "dialed by c": ca.dialed} {
		t.Run(name, func(t *testing.T) {
			wantCloseCode(t, recvErr(t, l), transport.CodeGracefulShutdown, true)
			waitDone(t, l)
		})
	}
	for _, l := range []transport.Link{ab.dialed, ca.served} {
		waitDone(t, l)
		if l.Err() == nil {
			t.Fatal("a closed endpoint's link reports no error")
		}
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func testDialAfterClose(t *testing.T, h Harness) {
	a := newEndpoint(t, h, Options{})
	b := newEndpoint(t, h, Options{})
	acceptor(t, b, alpnTest)
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if _, err := a.Dial(ctx, b.PeerID(), b.Addr(), alpnTest); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Dial from a closed endpoint: err = %v, want ErrClosed", err)
	}
	if err := a.Handle("/mosaik/late/1", func(transport.Link) {}); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Handle on a closed endpoint: err = %v, want ErrClosed", err)
	}
}

// testDialUnreachable dials an endpoint that has gone: the dial fails with
// ErrUnreachable once its context ends, if not sooner.
func testDialUnreachable(t *testing.T, h Harness) {
	a := newEndpoint(t, h, Options{})
	b := newEndpoint(t, h, Options{})
	acceptor(t, b, alpnTest)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	l, err := a.Dial(ctx, b.PeerID(), b.Addr(), alpnTest)
	if !errors.Is(err, transport.ErrUnreachable) {
		if l != nil {
			l.Close(transport.CodeSuccess, "")
		}
		t.Fatalf("Dial to a closed endpoint: err = %v, want ErrUnreachable", err)
	}
}
