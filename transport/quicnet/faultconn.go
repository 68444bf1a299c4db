package quicnet

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// FaultConn is a net.PacketConn that loses chosen packets, for tests that
// need a misbehaving network under real QUIC: give it to [Config.PacketConn].
//
// Traffic to or from a blocked address is dropped silently in both
// directions, as a partition would: QUIC sees loss, backs off and
// retransmits, and a link whose peer stays blocked past the idle timeout
// ends with transport.ErrTimeout. Unblocking (healing) lets the
// retransmissions through, so links that outlived the cut carry on. A drop
// rate adds random loss on outgoing packets.
//
// All methods are safe for concurrent use with each other and with the
// traffic passing through.
type FaultConn struct {
	net.PacketConn

	mu struct {
		sync.Mutex
		blocked  map[netip.AddrPort]struct{}
		dropRate float64
	}
}

// NewFaultConn wraps pc, passing everything through until told otherwise.
// The FaultConn owns pc: closing it closes pc.
func NewFaultConn(pc net.PacketConn) *FaultConn {
	c := &FaultConn{PacketConn: pc}
	c.mu.blocked = make(map[netip.AddrPort]struct{})
	return c
}

// Block drops all traffic to and from addrs until they are unblocked.
func (c *FaultConn) Block(addrs ...netip.AddrPort) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range addrs {
		c.mu.blocked[canonical(a)] = struct{}{}
	}
}

// Unblock lets traffic to and from addrs through again.
func (c *FaultConn) Unblock(addrs ...netip.AddrPort) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range addrs {
		delete(c.mu.blocked, canonical(a))
	}
}

// Heal unblocks every address. The drop rate stays as set.
func (c *FaultConn) Heal() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.mu.blocked)
}

// SetDropRate makes each outgoing packet lost with probability p, clamped
// to [0, 1]; 0 turns random loss off.
func (c *FaultConn) SetDropRate(p float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.dropRate = min(max(p, 0), 1)
}

// ReadFrom returns the next packet not from a blocked address.
func (c *FaultConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil || !c.drop(addr, false) {
			return n, addr, err
		}
	}
}

// WriteTo sends b unless addr is blocked or the drop rate says so; a
// dropped packet counts as written, since a lossy network gives no sign.
func (c *FaultConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.drop(addr, true) {
		return len(b), nil
	}
	return c.PacketConn.WriteTo(b, addr)
}

func (c *FaultConn) drop(addr net.Addr, outgoing bool) bool {
	ap, ok := addrPortOf(addr)
	c.mu.Lock()
	defer c.mu.Unlock()
	if ok {
		if _, blocked := c.mu.blocked[ap]; blocked {
			return true
		}
	}
	return outgoing && c.mu.dropRate > 0 && rand.Float64() < c.mu.dropRate
}

var errNoSocketOption = errors.New("quicnet: wrapped PacketConn does not support this socket option")

// SetReadBuffer passes through to the wrapped conn, so quic-go can size the
// socket's buffers as it would for a bare *net.UDPConn.
func (c *FaultConn) SetReadBuffer(n int) error {
	if s, ok := c.PacketConn.(interface{ SetReadBuffer(int) error }); ok {
		return s.SetReadBuffer(n)
	}
	return errNoSocketOption
}

// SetWriteBuffer passes through to the wrapped conn; see SetReadBuffer.
func (c *FaultConn) SetWriteBuffer(n int) error {
	if s, ok := c.PacketConn.(interface{ SetWriteBuffer(int) error }); ok {
		return s.SetWriteBuffer(n)
	}
	return errNoSocketOption
}

// SyscallConn passes through to the wrapped conn, which lets quic-go set
// socket options (buffer sizes, don't-fragment) on the real socket.
// Reads and writes still go through FaultConn: quic-go uses the raw conn
// for options only unless the conn also has ReadMsgUDP, which FaultConn
// deliberately lacks.
func (c *FaultConn) SyscallConn() (syscall.RawConn, error) {
	if s, ok := c.PacketConn.(syscall.Conn); ok {
		return s.SyscallConn()
	}
	return nil, errNoSocketOption
}

func addrPortOf(a net.Addr) (netip.AddrPort, bool) {
	switch a := a.(type) {
	case *net.UDPAddr:
		return canonical(a.AddrPort()), true
	case nil:
		return netip.AddrPort{}, false
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}, false
	}
	return canonical(ap), true
}

// canonical unmaps IPv4-in-IPv6 so that one host has one key.
func canonical(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
