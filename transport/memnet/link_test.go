package memnet_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/transport"
	"github.com/mosaikgo/mosaik/transport/memnet"
)

func TestDialFailures(t *testing.T) {
	net := newNet(t, memnet.Config{})
	a := listen(t, net, id.NewSecretKey())
	b := listen(t, net, id.NewSecretKey())
	serve(t, b)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name string
		dial func() error
		want func(error) bool
	}{
		{"no endpoint at the address", func() error {
			_, err := a.Dial(ctxFor(t, waitLimit), b.PeerID(), "mem:999", alpn)
			return err
		}, func(err error) bool { return errors.Is(err, transport.ErrUnreachable) }},
		{"another peer at the address", func() error {
			_, err := a.Dial(ctxFor(t, waitLimit), id.NewSecretKey().PeerID(), b.Addr(), alpn)
			return err
		}, func(err error) bool { return errors.Is(err, transport.ErrPeerMismatch) }},
		{"no handler for the ALPN", func() error {
			_, err := a.Dial(ctxFor(t, waitLimit), b.PeerID(), b.Addr(), "/nobody/1")
			return err
		}, func(err error) bool {
			var ce *transport.CloseError
			return errors.As(err, &ce) && ce.Code == transport.CodeInvalidALPN && ce.Remote
		}},
		{"context already ended", func() error {
			_, err := a.Dial(canceled, b.PeerID(), b.Addr(), alpn)
			return err
		}, func(err error) bool { return errors.Is(err, context.Canceled) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.dial(); !tc.want(err) {
				t.Fatalf("Dial: err = %v", err)
			}
		})
	}
}

func TestLocalCloseError(t *testing.T) {
	net := newNet(t, memnet.Config{})
	_, _, dialed, served := pair(t, net)
	send(t, served, &messages.Ping{Nonce: 1}) // unread, so discarded
	if err := dialed.Close(transport.CodeSuccess, "done"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := dialed.Close(transport.CodeProtocolViolation, "again"); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	waitDone(t, dialed)
	for name, err := range map[string]error{
		"Err":  dialed.Err(),
		"Send": dialed.Send(ctxFor(t, waitLimit), &messages.Ping{}),
		"Recv": dialed.Recv(ctxFor(t, waitLimit), &messages.Ping{}),
	} {
		var ce *transport.CloseError
		if !errors.Is(err, transport.ErrClosed) || !errors.As(err, &ce) || ce.Remote || ce.Code != transport.CodeSuccess {
			t.Errorf("%s after local Close = %v, want ErrClosed and a local close with code %d", name, err, transport.CodeSuccess)
		}
	}
	wantRemoteClose(t, recvErr(t, served), transport.CodeSuccess)
}

// TestCloseDiscardsUnreadFrames checks that the reader hears the close
// instead of frames sent before it but not yet read.
func TestCloseDiscardsUnreadFrames(t *testing.T) {
	net := newNet(t, memnet.Config{})
	_, _, dialed, served := pair(t, net)
	for i := range uint64(3) {
		send(t, dialed, &messages.Ping{Nonce: i})
	}
	dialed.Close(transport.CodeSuccess, "")
	var m messages.Ping
	wantRemoteClose(t, served.Recv(ctxFor(t, waitLimit), &m), transport.CodeSuccess)
}

func TestSenderEnforcesItsOwnLimit(t *testing.T) {
	net := newNet(t, memnet.Config{})
	a, err := net.Listen(id.NewSecretKey(), memnet.EndpointConfig{MaxFrameSize: 100})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	b := listen(t, net, id.NewSecretKey())
	dialed, served := link(t, a, b, serve(t, b))
	if err := dialed.SendFrame(ctxFor(t, waitLimit), make([]byte, 101)); !errors.Is(err, transport.ErrFrameTooLarge) {
		t.Fatalf("SendFrame over the limit: err = %v, want ErrFrameTooLarge", err)
	}
	if err := dialed.Send(ctxFor(t, waitLimit), &messages.Ping{Payload: make([]byte, 200)}); !errors.Is(err, transport.ErrFrameTooLarge) {
		t.Fatalf("Send over the limit: err = %v, want ErrFrameTooLarge", err)
	}
	// Refusing to send is not a protocol violation: the link stays up.
	send(t, dialed, &messages.Ping{Nonce: 3})
	if got := recv(t, served).Nonce; got != 3 {
		t.Fatalf("got frame %d, want 3", got)
	}
}

func TestGarbageFrame(t *testing.T) {
	net := newNet(t, memnet.Config{})
	_, _, dialed, served := pair(t, net)
	// The payload field (tag 0x1a) announces 5 bytes, and one follows.
	if err := dialed.SendFrame(ctxFor(t, waitLimit), []byte{0x1a, 0x05, 0x01}); err != nil {
		t.Fatalf("SendFrame: %v", err)
	}
	var m messages.Ping
	if err := served.Recv(ctxFor(t, waitLimit), &m); !errors.Is(err, transport.ErrBadFrame) {
		t.Fatalf("Recv of a truncated message: err = %v, want ErrBadFrame", err)
	}
	if code, _ := transport.CodeOf(served.Err()); code != transport.CodeProtocolViolation || !errors.Is(served.Err(), transport.ErrClosed) {
		t.Fatalf("reader's Err = %v, want a local protocol-violation close", served.Err())
	}
	wantRemoteClose(t, recvErr(t, dialed), transport.CodeProtocolViolation)
}

func TestSendFrameCopiesPayload(t *testing.T) {
	net := newNet(t, memnet.Config{})
	_, _, dialed, served := pair(t, net)
	buf := []byte("hello")
	if err := dialed.SendFrame(ctxFor(t, waitLimit), buf); err != nil {
		t.Fatalf("SendFrame: %v", err)
	}
	copy(buf, "XXXXX")
	got, err := served.RecvFrame(ctxFor(t, waitLimit))
	if err != nil || string(got) != "hello" {
		t.Fatalf("RecvFrame = %q, %v; want the bytes as sent", got, err)
	}
}

func TestAddressesNeverReused(t *testing.T) {
	net := newNet(t, memnet.Config{})
	key := id.NewSecretKey()
	seen := map[string]bool{}
	for range 5 {
		ep := listen(t, net, key)
		if seen[ep.Addr()] {
			t.Fatalf("address %s handed out twice", ep.Addr())
		}
		seen[ep.Addr()] = true
		ep.Close()
	}
}

func TestEndpointCloseWaitsForHandlers(t *testing.T) {
	net := newNet(t, memnet.Config{})
	a := listen(t, net, id.NewSecretKey())
	b := listen(t, net, id.NewSecretKey())
	var returned atomic.Bool
	started := make(chan struct{})
	if err := b.Handle(alpn, func(l transport.Link) {
		close(started)
		<-l.Done()
		returned.Store(true)
	}); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	dialed, err := a.Dial(ctxFor(t, waitLimit), b.PeerID(), b.Addr(), alpn)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	<-started
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !returned.Load() {
		t.Fatal("Close returned before the handler")
	}
	wantRemoteClose(t, recvErr(t, dialed), transport.CodeGracefulShutdown)
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestNetworkCloseLeavesNoGoroutine closes a network in the middle of
// everything that starts goroutines or timers: handlers blocked in Recv,
// delayed frames in flight, idle clocks running under a partition.
func TestNetworkCloseLeavesNoGoroutine(t *testing.T) {
	net := memnet.New(memnet.Config{IdleTimeout: time.Hour})
	var eps []*memnet.Endpoint
	for range 4 {
		ep, err := net.Listen(id.NewSecretKey(), memnet.EndpointConfig{})
		if err != nil {
			t.Fatalf("Listen: %v", err)
		}
		if err := ep.Handle(alpn, func(l transport.Link) { drain(l) }); err != nil {
			t.Fatalf("Handle: %v", err)
		}
		eps = append(eps, ep)
	}
	net.SetDelay(time.Hour)
	var links []transport.Link
	for i, from := range eps {
		to := eps[(i+1)%len(eps)]
		l, err := from.Dial(ctxFor(t, waitLimit), to.PeerID(), to.Addr(), alpn)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		send(t, l, &messages.Ping{Nonce: uint64(i)})
		links = append(links, l)
	}
	net.Partition([]id.PeerID{eps[0].PeerID(), eps[1].PeerID()}, []id.PeerID{eps[2].PeerID()})

	if err := net.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, l := range links {
		select {
		case <-l.Done():
		default:
			t.Fatal("a link outlived the network")
		}
	}
	goleak.VerifyNone(t)
	if _, err := net.Listen(id.NewSecretKey(), memnet.EndpointConfig{}); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Listen on a closed network: err = %v, want ErrClosed", err)
	}
	if err := net.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  memnet.Config
		ok   bool
	}{
		{"zero value", memnet.Config{}, true},
		{"defaults", memnet.DefaultConfig(), true},
		{"negative frame size", memnet.Config{MaxFrameSize: -1}, false},
		{"negative idle timeout", memnet.Config{IdleTimeout: -time.Second}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, memnet.ErrBadConfig)) {
				t.Fatalf("Validate = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	if got := memnet.New(memnet.Config{}).Config(); got != memnet.DefaultConfig() {
		t.Fatalf("zero Config became %+v, want %+v", got, memnet.DefaultConfig())
	}
	if _, err := memnet.New(memnet.Config{}).Listen(id.NewSecretKey(), memnet.EndpointConfig{MaxFrameSize: -1}); !errors.Is(err, memnet.ErrBadConfig) {
		t.Fatalf("Listen with a bad config: err = %v", err)
	}
}
