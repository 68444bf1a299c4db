package quicnet

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

// udpPair is two loopback sockets, the first behind a FaultConn.
func udpPair(t *testing.T) (*FaultConn, net.PacketConn) {
	t.Helper()
	a, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fc := NewFaultConn(a)
	t.Cleanup(func() {
		fc.Close()
		b.Close()
	})
	return fc, b
}

// lossWindow is how long a packet has to arrive before it counts as lost.
// A loss can only be shown over a window; this is far longer than
// loopback delivery takes.
const lossWindow = 100 * time.Millisecond

// arrives sends one packet from -> to and reports whether it is read
// within window.
func arrives(t *testing.T, from, to net.PacketConn, payload string, window time.Duration) bool {
	t.Helper()
	if _, err := from.WriteTo([]byte(payload), to.LocalAddr()); err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	to.SetReadDeadline(time.Now().Add(window))
	defer to.SetReadDeadline(time.Time{})
	buf := make([]byte, 64)
	for {
		n, _, err := to.ReadFrom(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return false
		}
		if err != nil {
			t.Fatalf("ReadFrom: %v", err)
		}
		// Ignore stragglers from earlier, dropped-then-delivered checks.
		if string(buf[:n]) == payload {
			return true
		}
	}
}

func TestFaultConnBlocksBothWays(t *testing.T) {
	fc, b := udpPair(t)
	bAddr := netip.MustParseAddrPort(b.LocalAddr().String())
	if !arrives(t, fc, b, "open out", waitLimit) || !arrives(t, b, fc, "open in", waitLimit) {
		t.Fatal("traffic lost before any fault")
	}
	fc.Block(bAddr)
	if arrives(t, fc, b, "blocked out", lossWindow) {
		t.Fatal("packet to a blocked address delivered")
	}
	if arrives(t, b, fc, "blocked in", lossWindow) {
		t.Fatal("packet from a blocked address delivered")
	}
	fc.Unblock(bAddr)
	if !arrives(t, fc, b, "unblocked out", waitLimit) || !arrives(t, b, fc, "unblocked in", waitLimit) {
		t.Fatal("traffic lost after Unblock")
	}
	fc.Block(bAddr)
	fc.Heal()
	if !arrives(t, fc, b, "healed", waitLimit) {
		t.Fatal("traffic lost after Heal")
	}
}

func TestFaultConnDropRate(t *testing.T) {
	fc, b := udpPair(t)
	fc.SetDropRate(1)
	if arrives(t, fc, b, "dropped", lossWindow) {
		t.Fatal("packet delivered at drop rate 1")
	}
	if !arrives(t, b, fc, "incoming", waitLimit) {
		t.Fatal("drop rate applies to outgoing packets only")
	}
	fc.SetDropRate(0)
	if !arrives(t, fc, b, "kept", waitLimit) {
		t.Fatal("packet lost at drop rate 0")
	}
}

func TestFaultConnPassesSocketOptions(t *testing.T) {
	fc, _ := udpPair(t)
	if err := fc.SetReadBuffer(1 << 16); err != nil {
		t.Fatalf("SetReadBuffer: %v", err)
	}
	if _, err := fc.SyscallConn(); err != nil {
		t.Fatalf("SyscallConn: %v", err)
	}
}
