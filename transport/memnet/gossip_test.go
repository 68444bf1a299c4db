package memnet_test

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/transport"
	"github.com/mosaikgo/mosaik/transport/memnet"
)

func gossip(t *testing.T, n *memnet.Network) *memnet.GossipTransport {
	t.Helper()
	g, err := n.Gossip(id.NewSecretKey().PeerID())
	if err != nil {
		t.Fatalf("Gossip: %v", err)
	}
	t.Cleanup(func() { g.Shutdown() })
	return g
}

func writeTo(t *testing.T, from, to *memnet.GossipTransport, msg string) {
	t.Helper()
	if _, err := from.WriteTo([]byte(msg), to.Addr()); err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
}

func recvPacket(t *testing.T, g *memnet.GossipTransport) *memberlist.Packet {
	t.Helper()
	select {
	case p := <-g.PacketCh():
		return p
	case <-time.After(waitLimit):
		t.Fatal("no packet")
		return nil
	}
}

// noPacket asserts that g has no packet waiting. Undelayed packets are
// delivered inside WriteTo, so right after it a lost packet is simply
// absent: no window of waiting is needed.
func noPacket(t *testing.T, g *memnet.GossipTransport) {
	t.Helper()
	select {
	case p := <-g.PacketCh():
		t.Fatalf("got packet %q, want none", p.Buf)
	default:
	}
}

// dialStream opens a stream from a to b and returns both ends.
func dialStream(t *testing.T, a, b *memnet.GossipTransport) (dialed, accepted net.Conn) {
	t.Helper()
	got := make(chan net.Conn, 1)
	go func() {
		select {
		case c := <-b.StreamCh():
			got <- c
		case <-time.After(waitLimit):
			got <- nil
		}
	}()
	dialed, err := a.DialTimeout(b.Addr(), waitLimit)
	if err != nil {
		t.Fatalf("DialTimeout: %v", err)
	}
	accepted = <-got
	if accepted == nil {
		t.Fatal("no accepted stream")
	}
	t.Cleanup(func() {
		dialed.Close()
		accepted.Close()
	})
	return dialed, accepted
}

func writeAll(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetWriteDeadline(time.Now().Add(waitLimit))
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func readFull(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitLimit))
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("Read: %v", err)
	}
	return string(buf)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() && errors.Is(err, os.ErrDeadlineExceeded)
}

func TestGossipAddresses(t *testing.T) {
	n := newNet(t, memnet.Config{})
	peer := id.NewSecretKey().PeerID()
	seen := map[string]bool{}
	for i := range 4 {
		g, err := n.Gossip(peer)
		if err != nil {
			t.Fatalf("Gossip #%d: %v", i, err)
		}
		if seen[g.Addr()] {
			t.Fatalf("address %s handed out twice", g.Addr())
		}
		seen[g.Addr()] = true
		ip, port, err := g.FinalAdvertiseAddr("10.0.0.1", 7946)
		if err != nil || net.JoinHostPort(ip.String(), strconv.Itoa(port)) != g.Addr() {
			t.Fatalf("FinalAdvertiseAddr = %v:%d, %v; want %s", ip, port, err, g.Addr())
		}
		if g.PeerID() != peer {
			t.Fatalf("PeerID = %s, want %s", g.PeerID().Short(), peer.Short())
		}
		if _, err := n.Gossip(peer); !errors.Is(err, memnet.ErrGossipInUse) {
			t.Fatalf("second Gossip for a live peer: err = %v, want ErrGossipInUse", err)
		}
		// Alternate the two ways a transport goes away.
		if i%2 == 0 {
			g.Shutdown()
		} else {
			n.Kill(peer)
		}
		if err := g.Shutdown(); err != nil {
			t.Fatalf("Shutdown after Shutdown or Kill: %v", err)
		}
	}
	if _, err := n.Gossip(id.PeerID{}); !errors.Is(err, memnet.ErrBadConfig) {
		t.Fatalf("Gossip for the zero peer: err = %v, want ErrBadConfig", err)
	}
	n.Close()
	if _, err := n.Gossip(peer); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Gossip on a closed network: err = %v, want ErrClosed", err)
	}
}

func TestGossipPacketDelivery(t *testing.T) {
	n := newNet(t, memnet.Config{})
	a, b := gossip(t, n), gossip(t, n)
	buf := []byte("ping")
	before := time.Now()
	sent, err := a.WriteToAddress(buf, memberlist.Address{Addr: b.Addr(), Name: "ignored"})
	if err != nil {
		t.Fatalf("WriteToAddress: %v", err)
	}
	copy(buf, "XXXX") // the packet must not share the sender's buffer
	p := recvPacket(t, b)
	if string(p.Buf) != "ping" {
		t.Fatalf("Buf = %q, want %q", p.Buf, "ping")
	}
	if p.From.String() != a.Addr() {
		t.Fatalf("From = %v, want %s", p.From, a.Addr())
	}
	if sent.Before(before) || p.Timestamp.Before(before) {
		t.Fatalf("send time %v, arrival %v: want both after %v", sent, p.Timestamp, before)
	}
}

// TestGossipPacketLoss covers every way a packet vanishes without an
// error, as a UDP datagram does.
func TestGossipPacketLoss(t *testing.T) {
	tests := []struct {
		name  string
		fault func(n *memnet.Network, a, b *memnet.GossipTransport)
		to    func(b *memnet.GossipTransport) string
	}{
		{"nobody at the address", nil, func(*memnet.GossipTransport) string { return "127.0.0.1:65000" }},
		{"not an address", nil, func(*memnet.GossipTransport) string { return "mem:1" }},
		{"partition", func(n *memnet.Network, a, b *memnet.GossipTransport) {
			n.Partition([]id.PeerID{a.PeerID()}, []id.PeerID{b.PeerID()})
		}, nil},
		{"receiver killed", func(n *memnet.Network, _, b *memnet.GossipTransport) { n.Kill(b.PeerID()) }, nil},
		{"receiver shut down", func(_ *memnet.Network, _, b *memnet.GossipTransport) { b.Shutdown() }, nil},
		{"drop rate 1", func(n *memnet.Network, _, _ *memnet.GossipTransport) { n.SetDropRate(1) }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := newNet(t, memnet.Config{})
			a, b := gossip(t, n), gossip(t, n)
			if tc.fault != nil {
				tc.fault(n, a, b)
			}
			addr := b.Addr()
			if tc.to != nil {
				addr = tc.to(b)
			}
			if _, err := a.WriteTo([]byte("lost"), addr); err != nil {
				t.Fatalf("WriteTo: err = %v, want silent loss", err)
			}
			noPacket(t, b)
		})
	}
}

func TestGossipPartitionAndHeal(t *testing.T) {
	n := newNet(t, memnet.Config{})
	a, b, c := gossip(t, n), gossip(t, n), gossip(t, n)
	n.Partition([]id.PeerID{a.PeerID()}, []id.PeerID{b.PeerID()})
	writeTo(t, a, b, "cut")
	writeTo(t, a, c, "c is in no group")
	noPacket(t, b)
	if got := string(recvPacket(t, c).Buf); got != "c is in no group" {
		t.Fatalf("c got %q", got)
	}
	n.Heal()
	// Unlike link frames, packets lost to the cut stay lost.
	noPacket(t, b)
	writeTo(t, a, b, "healed")
	if got := string(recvPacket(t, b).Buf); got != "healed" {
		t.Fatalf("b got %q, want the packet sent after Heal", got)
	}
}

func TestGossipKilledSender(t *testing.T) {
	n := newNet(t, memnet.Config{})
	a, b := gossip(t, n), gossip(t, n)
	n.Kill(a.PeerID())
	if _, err := a.WriteTo([]byte("x"), b.Addr()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteTo from a killed transport: err = %v, want net.ErrClosed", err)
	}
	noPacket(t, b)
	// The peer comes back at a new address and is heard again.
	a2, err := n.Gossip(a.PeerID())
	if err != nil {
		t.Fatalf("Gossip after Kill: %v", err)
	}
	defer a2.Shutdown()
	writeTo(t, a2, b, "back")
	if p := recvPacket(t, b); p.From.String() != a2.Addr() || a2.Addr() == a.Addr() {
		t.Fatalf("From = %v, want the new address %s (old %s)", p.From, a2.Addr(), a.Addr())
	}
}

func TestGossipDropRate(t *testing.T) {
	const sent = 1000
	count := func(seed int64) int {
		n := newNet(t, memnet.Config{Seed: seed})
		a, b := gossip(t, n), gossip(t, n)
		n.SetDropRate(0.3)
		for range sent {
			writeTo(t, a, b, "p")
		}
		return len(b.PacketCh())
	}
	got := count(7)
	if got < sent*6/10 || got > sent*8/10 {
		t.Fatalf("%d of %d packets arrived at drop rate 0.3", got, sent)
	}
	if again := count(7); again != got {
		t.Fatalf("same seed: %d then %d packets arrived", got, again)
	}
}

// TestGossipFullBuffer checks that a receiver that does not drain its
// PacketCh loses packets instead of blocking senders.
func TestGossipFullBuffer(t *testing.T) {
	n := newNet(t, memnet.Config{})
	a, b := gossip(t, n), gossip(t, n)
	for range memnet.GossipPacketBuffer + 10 {
		writeTo(t, a, b, "p")
	}
	if got := len(b.PacketCh()); got != memnet.GossipPacketBuffer {
		t.Fatalf("%d packets queued, want the buffer's %d", got, memnet.GossipPacketBuffer)
	}
}

// TestGossipDelay runs on synctest's clock: delays are exact, and a
// packet still in the air when its path is cut or its sender dies is lost.
func TestGossipDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t, memnet.Config{})
		a, b := gossip(t, n), gossip(t, n)
		n.SetDelay(300 * time.Millisecond)
		start := time.Now()
		writeTo(t, a, b, "late")
		p := recvPacket(t, b)
		if took := time.Since(start); took != 300*time.Millisecond || string(p.Buf) != "late" {
			t.Fatalf("got %q after %v, want %q after 300ms", p.Buf, took, "late")
		}
		if !p.Timestamp.Equal(time.Now()) {
			t.Fatalf("Timestamp %v, want the arrival time %v", p.Timestamp, time.Now())
		}

		writeTo(t, a, b, "cut in flight")
		n.Partition([]id.PeerID{a.PeerID()}, []id.PeerID{b.PeerID()})
		time.Sleep(time.Second) // virtual: past the packet's due time
		n.Heal()
		noPacket(t, b)

		writeTo(t, a, b, "sender killed in flight")
		n.Kill(a.PeerID())
		time.Sleep(time.Second)
		noPacket(t, b)

		// A packet due after its receiver shut down is stopped with it.
		c := gossip(t, n)
		writeTo(t, c, b, "receiver gone")
		b.Shutdown()
		synctest.Wait()
	})
}

func TestGossipStream(t *testing.T) {
	n := newNet(t, memnet.Config{})
	a, b := gossip(t, n), gossip(t, n)
	dialed, accepted := dialStream(t, a, b)
	if dialed.LocalAddr().String() != a.Addr() || dialed.RemoteAddr().String() != b.Addr() ||
		accepted.LocalAddr().String() != b.Addr() || accepted.RemoteAddr().String() != a.Addr() {
		t.Fatalf("addresses: dialed %v->%v, accepted %v->%v", dialed.LocalAddr(), dialed.RemoteAddr(), accepted.LocalAddr(), accepted.RemoteAddr())
	}
	writeAll(t, dialed, "push")
	if got := readFull(t, accepted, 4); got != "push" {
		t.Fatalf("accepted read %q", got)
	}
	writeAll(t, accepted, "pull")
	writeAll(t, accepted, "!")
	if got := readFull(t, dialed, 5); got != "pull!" {
		t.Fatalf("dialed read %q", got)
	}

	// An idle read times out at its deadline.
	dialed.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := dialed.Read(make([]byte, 1)); !isTimeout(err) {
		t.Fatalf("Read past the deadline: err = %v, want a timeout", err)
	}

	// Closing delivers what was written, then EOF.
	writeAll(t, accepted, "bye")
	accepted.Close()
	if got := readFull(t, dialed, 3); got != "bye" {
		t.Fatalf("read %q before EOF", got)
	}
	if _, err := dialed.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("Read after the other end closed: err = %v, want io.EOF", err)
	}
	if _, err := dialed.Write([]byte("x")); err == nil {
		t.Fatal("Write to a closed stream succeeded")
	}
	if _, err := accepted.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read on a closed end: err = %v, want net.ErrClosed", err)
	}
}

func TestGossipDialFailures(t *testing.T) {
	n := newNet(t, memnet.Config{})
	a, b := gossip(t, n), gossip(t, n)
	gone := gossip(t, n)
	gone.Shutdown()

	t.Run("at once", func(t *testing.T) {
		tests := []struct {
			name  string
			setup func()
			addr  string
		}{
			{"nobody at the address", nil, "127.0.0.1:65000"},
			{"shut-down transport", nil, gone.Addr()},
			{"partition", func() { n.Partition([]id.PeerID{a.PeerID()}, []id.PeerID{b.PeerID()}) }, b.Addr()},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if tc.setup != nil {
					tc.setup()
					defer n.Heal()
				}
				// Waiting out the timeout would fail with a timeout
				// error instead.
				c, err := a.DialTimeout(tc.addr, waitLimit)
				if !errors.Is(err, transport.ErrUnreachable) {
					t.Fatalf("DialTimeout = %v, %v; want ErrUnreachable at once", c, err)
				}
			})
		}
	})

	t.Run("not accepted", func(t *testing.T) {
		// Nobody reads b's StreamCh.
		const timeout = 50 * time.Millisecond
		start := time.Now()
		_, err := a.DialTimeout(b.Addr(), timeout)
		if took := time.Since(start); !isTimeout(err) || took < timeout || took > waitLimit {
			t.Fatalf("DialTimeout = %v after %v, want a timeout after %v", err, took, timeout)
		}
	})

	t.Run("acceptor killed while dialing", func(t *testing.T) {
		c := gossip(t, n)
		errc := make(chan error, 1)
		go func() {
			_, err := a.DialTimeout(c.Addr(), waitLimit)
			errc <- err
		}()
		n.Kill(c.PeerID())
		select {
		case err := <-errc:
			if !errors.Is(err, transport.ErrUnreachable) {
				t.Fatalf("DialTimeout = %v, want ErrUnreachable", err)
			}
		case <-time.After(2 * waitLimit):
			t.Fatal("dial to a killed transport still waiting")
		}
	})
}

// TestGossipStreamPartition checks that a partition stalls an established
// stream until its deadlines, and that healing resumes it.
func TestGossipStreamPartition(t *testing.T) {
	n := newNet(t, memnet.Config{})
	a, b := gossip(t, n), gossip(t, n)
	dialed, accepted := dialStream(t, a, b)
	writeAll(t, dialed, "before")
	n.Partition([]id.PeerID{a.PeerID()}, []id.PeerID{b.PeerID()})

	// What arrived before the cut can still be read.
	if got := readFull(t, accepted, 6); got != "before" {
		t.Fatalf("read %q", got)
	}
	dialed.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := dialed.Write([]byte("x")); !isTimeout(err) {
		t.Fatalf("Write across the cut: err = %v, want a timeout", err)
	}
	accepted.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := accepted.Read(make([]byte, 1)); !isTimeout(err) {
		t.Fatalf("Read across the cut: err = %v, want a timeout", err)
	}

	// A write stalled by the cut goes through when it heals.
	dialed.SetWriteDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, err := dialed.Write([]byte("after"))
		done <- err
	}()
	n.Heal()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Write after Heal: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Write still stalled after Heal")
	}
	if got := readFull(t, accepted, 5); got != "after" {
		t.Fatalf("read %q after Heal", got)
	}

	// A close across a cut arrives when it heals.
	n.Partition([]id.PeerID{a.PeerID()}, []id.PeerID{b.PeerID()})
	dialed.Close()
	accepted.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := accepted.Read(make([]byte, 1)); !isTimeout(err) {
		t.Fatalf("Read across the cut after the other end closed: err = %v, want a timeout", err)
	}
	n.Heal()
	accepted.SetReadDeadline(time.Now().Add(waitLimit))
	if _, err := accepted.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("Read after Heal: err = %v, want io.EOF", err)
	}
}

// TestGossipStreamKill checks that a killed side's streams fail on its own
// side and fall silent on the other, as a crashed host's TCP connections
// do.
func TestGossipStreamKill(t *testing.T) {
	n := newNet(t, memnet.Config{})
	a, b := gossip(t, n), gossip(t, n)
	dialed, accepted := dialStream(t, a, b)

	// A read blocked without deadline on the killed side returns.
	done := make(chan error, 1)
	go func() {
		_, err := accepted.Read(make([]byte, 1))
		done <- err
	}()
	n.Kill(b.PeerID())
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read on the killed side: err = %v, want net.ErrClosed", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Read on the killed side still blocked")
	}
	dialed.SetDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := dialed.Read(make([]byte, 1)); !isTimeout(err) {
		t.Fatalf("Read from a killed peer: err = %v, want a timeout", err)
	}
	if _, err := dialed.Write([]byte("x")); !isTimeout(err) {
		t.Fatalf("Write to a killed peer: err = %v, want a timeout", err)
	}
	// Healing does not revive a dead host.
	n.Heal()
	dialed.SetDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := dialed.Read(make([]byte, 1)); !isTimeout(err) {
		t.Fatalf("Read from a killed peer after Heal: err = %v, want a timeout", err)
	}
}

// TestGossipShutdown checks that Shutdown closes streams on both sides and
// leaves the channels open for memberlist's listeners.
func TestGossipShutdown(t *testing.T) {
	n := newNet(t, memnet.Config{})
	a, b := gossip(t, n), gossip(t, n)
	dialed, accepted := dialStream(t, a, b)
	writeTo(t, a, b, "unread")
	if err := b.Shutdown(); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := accepted.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read on the shut-down side: err = %v, want net.ErrClosed", err)
	}
	dialed.SetReadDeadline(time.Now().Add(waitLimit))
	if _, err := dialed.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("Read from a shut-down peer: err = %v, want io.EOF", err)
	}
	// The packet that arrived before is still there; the channel is open.
	select {
	case p, ok := <-b.PacketCh():
		if !ok || string(p.Buf) != "unread" {
			t.Fatalf("PacketCh gave %v, %v", p, ok)
		}
	default:
		t.Fatal("packet queued before Shutdown is gone")
	}
	select {
	case c, ok := <-b.StreamCh():
		t.Fatalf("StreamCh gave %v, %v; want it open and silent", c, ok)
	default:
	}
	if _, err := b.DialTimeout(a.Addr(), time.Second); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Dial from a shut-down transport: err = %v, want net.ErrClosed", err)
	}
}

// TestGossipNetworkClose checks that closing the network shuts down its
// gossip transports, with their delayed packets and streams.
func TestGossipNetworkClose(t *testing.T) {
	n := memnet.New(memnet.Config{})
	a, err := n.Gossip(id.NewSecretKey().PeerID())
	if err != nil {
		t.Fatalf("Gossip: %v", err)
	}
	b, err := n.Gossip(id.NewSecretKey().PeerID())
	if err != nil {
		t.Fatalf("Gossip: %v", err)
	}
	dialed, _ := dialStream(t, a, b)
	n.SetDelay(time.Hour)
	writeTo(t, a, b, "delayed")
	n.Close()
	if _, err := dialed.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after Network.Close: err = %v, want net.ErrClosed", err)
	}
	if _, err := a.WriteTo([]byte("x"), b.Addr()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteTo after Network.Close: err = %v, want net.ErrClosed", err)
	}
}
