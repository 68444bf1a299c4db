package memnet_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/transport"
	"github.com/mosaikgo/mosaik/transport/memnet"
)

// survivors sends n numbered frames through a lossy link and returns the
// nonces that arrived, in arrival order. A final frame sent with loss off
// marks the end.
func survivors(t *testing.T, seed int64, rate float64, n uint64) []uint64 {
	t.Helper()
	net := newNet(t, memnet.Config{Seed: seed})
	_, _, dialed, served := pair(t, net)
	net.SetDropRate(rate)
	for i := range n {
		send(t, dialed, &messages.Ping{Nonce: i})
	}
	net.SetDropRate(0)
	send(t, dialed, &messages.Ping{Nonce: n})
	var got []uint64
	for {
		m := recv(t, served)
		if m.Nonce == n {
			return got
		}
		got = append(got, m.Nonce)
	}
}

func TestDropRateSeeded(t *testing.T) {
	const n, rate = 4000, 0.3
	got := survivors(t, 7, rate, n)

	// Binomial: mean 2800 kept, standard deviation 29; allow 6 of them.
	if kept := len(got); kept < 2625 || kept > 2975 {
		t.Errorf("kept %d of %d frames at loss %v, want about %d", kept, n, rate, int(n*(1-rate)))
	}
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Error("the frames that survived are out of order or duplicated")
	}
	if again := survivors(t, 7, rate, n); !slices.Equal(got, again) {
		t.Error("the same seed lost different frames")
	}
	if other := survivors(t, 8, rate, n); slices.Equal(got, other) {
		t.Error("a different seed lost the same frames")
	}
}

func TestDelayDeliversNoEarlier(t *testing.T) {
	const delay, jitter = 40 * time.Millisecond, 30 * time.Millisecond
	net := newNet(t, memnet.Config{Seed: 1})
	_, _, dialed, served := pair(t, net)
	net.SetDelay(delay)
	net.SetJitter(jitter)
	const n = 50
	for i := range uint64(n) {
		send(t, dialed, &messages.Ping{Nonce: i, SentUnixNano: time.Now().UnixNano()})
	}
	var slowest time.Duration
	for i := range uint64(n) {
		m := recv(t, served)
		took := time.Duration(time.Now().UnixNano() - m.SentUnixNano)
		if m.Nonce != i {
			t.Fatalf("frame %d arrived in place %d", m.Nonce, i)
		}
		if took < delay {
			t.Fatalf("frame %d arrived after %v, before the %v delay", i, took, delay)
		}
		slowest = max(slowest, took)
	}
	t.Logf("slowest frame took %v", slowest)
}

// TestDelayChangeKeepsOrder lowers the delay between two frames: the
// second must still wait behind the first.
func TestDelayChangeKeepsOrder(t *testing.T) {
	net := newNet(t, memnet.Config{})
	_, _, dialed, served := pair(t, net)
	net.SetDelay(50 * time.Millisecond)
	send(t, dialed, &messages.Ping{Nonce: 1})
	net.SetDelay(0)
	send(t, dialed, &messages.Ping{Nonce: 2})
	for want := uint64(1); want <= 2; want++ {
		if got := recv(t, served).Nonce; got != want {
			t.Fatalf("got frame %d, want %d", got, want)
		}
	}
}

func TestPartitionStallsThenHealsInOrder(t *testing.T) {
	net := newNet(t, memnet.Config{})
	a := listen(t, net, id.NewSecretKey())
	b := listen(t, net, id.NewSecretKey())
	c := listen(t, net, id.NewSecretKey())
	bIn, cIn := serve(t, b), serve(t, c)
	ab, ba := link(t, a, b, bIn)
	ac, ca := link(t, a, c, cIn)
	cb, bc := link(t, c, b, bIn)

	net.Partition([]id.PeerID{a.PeerID()}, []id.PeerID{b.PeerID()})
	const n = 100
	for i := range uint64(n) {
		send(t, ab, &messages.Ping{Nonce: i})
		send(t, ba, &messages.Ping{Nonce: 1000 + i})
	}
	if _, err := a.Dial(ctxFor(t, waitLimit), b.PeerID(), b.Addr(), alpn); !errors.Is(err, transport.ErrUnreachable) {
		t.Fatalf("Dial across the cut: err = %v, want ErrUnreachable", err)
	}
	// c is in no group, so it still reaches both sides.
	if _, err := a.Dial(ctxFor(t, waitLimit), c.PeerID(), c.Addr(), alpn); err != nil {
		t.Fatalf("Dial to an unpartitioned peer: %v", err)
	}
	send(t, ac, &messages.Ping{Nonce: 5})
	send(t, cb, &messages.Ping{Nonce: 6})
	if recv(t, ca).Nonce != 5 || recv(t, bc).Nonce != 6 {
		t.Fatal("traffic with an unpartitioned peer was disturbed")
	}
	quiet(t, ba, 100*time.Millisecond)
	quiet(t, ab, 10*time.Millisecond)

	net.Heal()
	for i := range uint64(n) {
		if got := recv(t, ba).Nonce; got != i {
			t.Fatalf("a to b after heal: frame %d, want %d", got, i)
		}
		if got := recv(t, ab).Nonce; got != 1000+i {
			t.Fatalf("b to a after heal: frame %d, want %d", got, 1000+i)
		}
	}
}

// TestPartitionWithDelayHeals holds delayed frames across a cut that
// comes and goes before they are due, and after.
func TestPartitionWithDelayHeals(t *testing.T) {
	net := newNet(t, memnet.Config{})
	a, b, dialed, served := pair(t, net)
	net.SetDelay(20 * time.Millisecond)
	send(t, dialed, &messages.Ping{Nonce: 1})
	net.Partition([]id.PeerID{a.PeerID()}, []id.PeerID{b.PeerID()})
	send(t, dialed, &messages.Ping{Nonce: 2})
	quiet(t, served, 60*time.Millisecond)
	net.Heal()
	net.SetDelay(0)
	send(t, dialed, &messages.Ping{Nonce: 3})
	for want := uint64(1); want <= 3; want++ {
		if got := recv(t, served).Nonce; got != want {
			t.Fatalf("got frame %d, want %d", got, want)
		}
	}
}

func TestPartitionPastIdleTimeoutClosesBothEnds(t *testing.T) {
	const idle = 100 * time.Millisecond
	net := newNet(t, memnet.Config{IdleTimeout: idle})
	a, b, dialed, served := pair(t, net)
	aIn := serve(t, a) // for the redial below
	cut := time.Now()
	net.Partition([]id.PeerID{a.PeerID()}, []id.PeerID{b.PeerID()})
	for _, l := range []transport.Link{dialed, served} {
		if err := recvErr(t, l); !errors.Is(err, transport.ErrTimeout) {
			t.Fatalf("Recv across a long partition: err = %v, want ErrTimeout", err)
		}
		waitDone(t, l)
	}
	if waited := time.Since(cut); waited < idle {
		t.Fatalf("links timed out after %v, before the %v idle timeout", waited, idle)
	}
	net.Heal()
	if !errors.Is(dialed.Err(), transport.ErrTimeout) {
		t.Fatalf("after heal Err = %v, want the timeout to stand", dialed.Err())
	}
	again, _ := link(t, b, a, aIn)
	if again.Err() != nil {
		t.Fatalf("redial after heal: %v", again.Err())
	}
}

// TestShortPartitionsDoNotAccumulate cuts a link three times, each time
// for half the idle timeout: the link survives, because the silence
// restarts after each heal.
func TestShortPartitionsDoNotAccumulate(t *testing.T) {
	const idle = 400 * time.Millisecond
	net := newNet(t, memnet.Config{IdleTimeout: idle})
	a, b, dialed, served := pair(t, net)
	for i := range uint64(3) {
		net.Partition([]id.PeerID{a.PeerID()}, []id.PeerID{b.PeerID()})
		send(t, dialed, &messages.Ping{Nonce: i})
		quiet(t, served, idle/2)
		net.Heal()
		if got := recv(t, served).Nonce; got != i {
			t.Fatalf("got frame %d, want %d", got, i)
		}
	}
}

func TestCloseAcrossPartitionArrivesOnHeal(t *testing.T) {
	net := newNet(t, memnet.Config{})
	a, b, dialed, served := pair(t, net)
	send(t, dialed, &messages.Ping{Nonce: 1})
	net.Partition([]id.PeerID{a.PeerID()}, []id.PeerID{b.PeerID()})
	if err := dialed.Close(transport.CodeNotAllowed, "go away"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Delivered before the cut, so still readable; the close is not.
	if got := recv(t, served).Nonce; got != 1 {
		t.Fatalf("got frame %d, want 1", got)
	}
	quiet(t, served, 50*time.Millisecond)
	if err := served.Err(); err != nil {
		t.Fatalf("close crossed the cut: Err = %v", err)
	}
	net.Heal()
	ce := wantRemoteClose(t, recvErr(t, served), transport.CodeNotAllowed)
	if ce.Reason != "go away" {
		t.Fatalf("reason = %q", ce.Reason)
	}
}

func TestKill(t *testing.T) {
	const idle = 150 * time.Millisecond
	net := newNet(t, memnet.Config{IdleTimeout: idle})
	a := listen(t, net, id.NewSecretKey())
	bKey := id.NewSecretKey()
	b := listen(t, net, bKey)
	// b's handler reads until its link dies, as a protocol actor would.
	handlerErr := make(chan error, 1)
	if err := b.Handle(alpn, func(l transport.Link) { handlerErr <- drain(l) }); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	dialed, err := a.Dial(ctxFor(t, waitLimit), b.PeerID(), b.Addr(), alpn)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}

	killed := time.Now()
	net.Kill(b.PeerID())
	// Kill waited for the handler, so its verdict is in.
	select {
	case err := <-handlerErr:
		if !errors.Is(err, transport.ErrClosed) {
			t.Fatalf("killed side's link: err = %v, want ErrClosed", err)
		}
	default:
		t.Fatal("Kill returned before the killed endpoint's handler")
	}
	if _, err := a.Dial(ctxFor(t, waitLimit), b.PeerID(), b.Addr(), alpn); !errors.Is(err, transport.ErrUnreachable) {
		t.Fatalf("Dial to a killed peer: err = %v, want ErrUnreachable", err)
	}
	// The survivor can still send into the void until it gives up.
	send(t, dialed, &messages.Ping{Nonce: 1})
	if err := recvErr(t, dialed); !errors.Is(err, transport.ErrTimeout) {
		t.Fatalf("survivor's link: err = %v, want ErrTimeout", err)
	}
	if waited := time.Since(killed); waited < idle {
		t.Fatalf("survivor timed out after %v, before the %v idle timeout", waited, idle)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close after Kill: %v", err)
	}

	// The peer restarts with the same key at a new address.
	b2 := listen(t, net, bKey)
	if b2.Addr() == b.Addr() {
		t.Fatalf("restarted endpoint reuses address %s", b.Addr())
	}
	dialed2, served2 := link(t, a, b2, serve(t, b2))
	send(t, dialed2, &messages.Ping{Nonce: 2})
	if got := recv(t, served2).Nonce; got != 2 {
		t.Fatalf("after restart: frame %d, want 2", got)
	}
}

// TestKillDuringPartitionStaysDead checks that healing a partition does
// not bring a killed peer's links back.
func TestKillDuringPartitionStaysDead(t *testing.T) {
	const idle = 200 * time.Millisecond
	net := newNet(t, memnet.Config{IdleTimeout: idle})
	a, b, dialed, _ := pair(t, net)
	net.Partition([]id.PeerID{a.PeerID()}, []id.PeerID{b.PeerID()})
	net.Kill(b.PeerID())
	net.Heal()
	if err := recvErr(t, dialed); !errors.Is(err, transport.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
}

func TestFaultKnobsRejectNonsense(t *testing.T) {
	net := newNet(t, memnet.Config{})
	for name, f := range map[string]func(){
		"drop rate above 1": func() { net.SetDropRate(1.5) },
		"negative drop":     func() { net.SetDropRate(-0.1) },
		"negative delay":    func() { net.SetDelay(-time.Second) },
		"negative jitter":   func() { net.SetJitter(-time.Second) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f()
		})
	}
}
