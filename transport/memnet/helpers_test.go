package memnet_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/transport"
	"github.com/mosaikgo/mosaik/transport/memnet"
)

const alpn = "/mosaik/memnet-test/1"

// waitLimit bounds every wait for something that should happen; a passing
// run never comes close to it.
const waitLimit = 10 * time.Second

func newNet(t *testing.T, cfg memnet.Config) *memnet.Network {
	t.Helper()
	n := memnet.New(cfg)
	t.Cleanup(func() { n.Close() })
	return n
}

func listen(t *testing.T, n *memnet.Network, key id.SecretKey) *memnet.Endpoint {
	t.Helper()
	ep, err := n.Listen(key, memnet.EndpointConfig{})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	return ep
}

// serve registers a handler on ep that hands incoming links to the test.
func serve(t *testing.T, ep *memnet.Endpoint) <-chan transport.Link {
	t.Helper()
	ch := make(chan transport.Link, 16)
	if err := ep.Handle(alpn, func(l transport.Link) { ch <- l }); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	return ch
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// link dials b from a and returns both ends; b must be served.
func link(t *testing.T, a, b *memnet.Endpoint, incoming <-chan transport.Link) (dialed, served transport.Link) {
	t.Helper()
	dialed, err := a.Dial(ctxFor(t, waitLimit), b.PeerID(), b.Addr(), alpn)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	select {
	case served = <-incoming:
	case <-time.After(waitLimit):
		t.Fatal("no incoming link")
	}
	return dialed, served
}

// pair is two fresh endpoints on n and a link between them.
func pair(t *testing.T, n *memnet.Network) (a, b *memnet.Endpoint, dialed, served transport.Link) {
	t.Helper()
	a = listen(t, n, id.NewSecretKey())
	b = listen(t, n, id.NewSecretKey())
	dialed, served = link(t, a, b, serve(t, b))
	return a, b, dialed, served
}

func send(t *testing.T, l transport.Link, m *messages.Ping) {
	t.Helper()
	if err := l.Send(ctxFor(t, waitLimit), m); err != nil {
		t.Fatalf("Send(%d): %v", m.Nonce, err)
	}
}

func recv(t *testing.T, l transport.Link) *messages.Ping {
	t.Helper()
	var m messages.Ping
	if err := l.Recv(ctxFor(t, waitLimit), &m); err != nil {
		t.Fatalf("Recv: %v", err)
	}
	return &m
}

// recvErr reads until Recv fails and returns the failure.
func recvErr(t *testing.T, l transport.Link) error {
	t.Helper()
	ctx := ctxFor(t, waitLimit)
	for {
		var m messages.Ping
		if err := l.Recv(ctx, &m); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatal("Recv did not fail in time")
			}
			return err
		}
	}
}

// quiet asserts that nothing arrives on l for d. A negative can only be
// shown over a window; d only needs to exceed an in-memory delivery.
func quiet(t *testing.T, l transport.Link, d time.Duration) {
	t.Helper()
	var m messages.Ping
	if err := l.Recv(ctxFor(t, d), &m); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv = %v (nonce %d), want nothing for %v", err, m.Nonce, d)
	}
}

func wantRemoteClose(t *testing.T, err error, code transport.CloseCode) *transport.CloseError {
	t.Helper()
	var ce *transport.CloseError
	if !errors.As(err, &ce) || ce.Code != code || !ce.Remote {
		t.Fatalf("err = %v, want a remote close with code %d", err, code)
	}
	return ce
}

func waitDone(t *testing.T, l transport.Link) {
	t.Helper()
	select {
	case <-l.Done():
	case <-time.After(waitLimit):
		t.Fatal("link not closed")
	}
}

// drain reads l until it fails, for handlers: they run off the test
// goroutine, so they may not call t.Fatal, and they end with the link.
func drain(l transport.Link) error {
	for {
		if _, err := l.RecvFrame(context.Background()); err != nil {
			return err
		}
	}
}
