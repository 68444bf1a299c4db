package memnet

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/transport"
)

// GossipPacketBuffer is how many packets a [GossipTransport]'s PacketCh
// holds before further packets to it are lost, as a full UDP socket buffer
// loses them. memberlist drains the channel on one goroutine that does
// little per packet, so only a stalled or shut-down memberlist fills it.
const GossipPacketBuffer = 1024

// ErrGossipInUse reports a [Network.Gossip] for a peer that already has a
// live gossip transport.
var ErrGossipInUse = errors.New("memnet: peer already has a gossip transport")

// gossipHost is the IP of every gossip address. memberlist wants "ip:port"
// addresses; the loopback IP passes its address checks, and since no
// socket is ever opened, only the port tells transports apart.
var gossipHost = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// GossipTransport attaches one peer's memberlist to a [Network]. It
// implements [memberlist.NodeAwareTransport]: set it as
// memberlist.Config.Transport. Packets and streams travel in memory and
// suffer the network's faults; see the package documentation. It is safe
// for concurrent use.
type GossipTransport struct {
	net     *Network
	peer    id.PeerID
	addr    netip.AddrPort
	udpAddr *net.UDPAddr // From of the packets it sends
	tcpAddr *net.TCPAddr // local or remote address of its streams

	// packets is buffered and never closed: memberlist's listeners read
	// it until their own shutdown, and a closed channel would hand them
	// nil packets to dereference.
	packets chan *memberlist.Packet
	// streams is unbuffered, so a dial succeeds only once memberlist has
	// taken the conn; it is never closed, for the same reason as packets.
	streams chan net.Conn
	// done is closed when the transport shuts down or is killed, to
	// release dials waiting on either end.
	done chan struct{}

	// wg counts the timer callbacks of packets delayed on their way to
	// this transport. Every Add happens under Network.mu with
	// netMu.closed false, so none can follow the Wait in Shutdown.
	wg sync.WaitGroup

	// Guarded by Network.mu.
	netMu struct {
		closed bool
		killed bool
		// delayed holds the timers of packets on their way here.
		delayed map[*ownedTimer]struct{}
		// streams holds this transport's open stream ends.
		streams map[*streamEnd]struct{}
	}
}

var _ memberlist.NodeAwareTransport = (*GossipTransport)(nil)

// Gossip attaches a memberlist transport for peer at a fresh address
// "127.0.0.1:N", unique within the network and never reused, so a peer
// that restarts gossips from a new address, as a restarted process binds a
// new port. A peer has at most one live gossip transport: Gossip fails
// with ErrGossipInUse until the previous one is shut down or killed. It
// fails with ErrBadConfig for a zero peer, with transport.ErrClosed once
// the network is closed, and when the 65535 ports are used up.
func (n *Network) Gossip(peer id.PeerID) (*GossipTransport, error) {
	if peer.IsZero() {
		return nil, fmt.Errorf("%w: zero peer id", ErrBadConfig)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mu.closed {
		return nil, fmt.Errorf("memnet: gossip: %w", transport.ErrClosed)
	}
	if _, ok := n.mu.gossipByPeer[peer]; ok {
		return nil, fmt.Errorf("%w: %s", ErrGossipInUse, peer.Short())
	}
	// memberlist carries ports as uint16.
	if n.mu.lastGossipPort == math.MaxUint16 {
		return nil, fmt.Errorf("memnet: gossip: all %d ports used", math.MaxUint16)
	}
	n.mu.lastGossipPort++
	addr := netip.AddrPortFrom(gossipHost, n.mu.lastGossipPort)
	t := &GossipTransport{
		net:     n,
		peer:    peer,
		addr:    addr,
		udpAddr: net.UDPAddrFromAddrPort(addr),
		tcpAddr: net.TCPAddrFromAddrPort(addr),
		packets: make(chan *memberlist.Packet, GossipPacketBuffer),
		streams: make(chan net.Conn),
		done:    make(chan struct{}),
	}
	t.netMu.delayed = make(map[*ownedTimer]struct{})
	t.netMu.streams = make(map[*streamEnd]struct{})
	n.mu.gossip[addr] = t
	n.mu.gossipByPeer[peer] = t
	return t, nil
}

// PeerID is the peer the transport gossips for.
func (t *GossipTransport) PeerID() id.PeerID { return t.peer }

// Addr is the transport's "127.0.0.1:N" address, the one to Join.
func (t *GossipTransport) Addr() string { return t.addr.String() }

// FinalAdvertiseAddr returns the transport's own address whatever the
// configuration asks for: no other address reaches it.
func (t *GossipTransport) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	return t.udpAddr.IP, t.udpAddr.Port, nil
}

// PacketCh delivers the packets sent to this transport. It is never
// closed.
func (t *GossipTransport) PacketCh() <-chan *memberlist.Packet { return t.packets }

// StreamCh delivers the accepting end of each stream dialed to this
// transport. It is never closed.
func (t *GossipTransport) StreamCh() <-chan net.Conn { return t.streams }

// WriteTo sends b to addr as one packet.
func (t *GossipTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress sends b as one packet to a.Addr; a.Name is ignored, as a
// UDP socket ignores it, so a packet for a peer's old address never reaches
// its new transport. Like UDP it never blocks and reports no loss: the
// packet vanishes if nothing live is at the address, a partition is in the
// way when it is sent or when it is due, the drop rate claims it, its
// sender is killed while it is delayed, or the receiver's PacketCh is full.
// It fails only once this transport is shut down or killed.
func (t *GossipTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	n := t.net
	n.mu.Lock()
	defer n.mu.Unlock()
	now := time.Now()
	if t.netMu.closed {
		return now, &net.OpError{Op: "write", Net: "memnet", Source: t.udpAddr, Err: net.ErrClosed}
	}
	to := n.gossipAtLocked(a.Addr)
	if to == nil || !n.reachableLocked(t.peer, to.peer) {
		return now, nil
	}
	drop, lag := n.fate()
	if drop {
		return now, nil
	}
	buf := bytes.Clone(b)
	if lag == 0 {
		to.deliverLocked(t, buf)
		return now, nil
	}
	to.delayLocked(t, buf, lag)
	return now, nil
}

// deliverLocked hands a packet from another transport to memberlist,
// stamped with its arrival time, or drops it if the buffer is full.
func (t *GossipTransport) deliverLocked(from *GossipTransport, buf []byte) {
	select {
	case t.packets <- &memberlist.Packet{Buf: buf, From: from.udpAddr, Timestamp: time.Now()}:
	default:
	}
}

// delayLocked delivers a packet after lag. The timer belongs to the
// receiver, like a link's wire timer, so the receiver's shutdown stops it.
// Packets are independent, so jitter may reorder them, as it does UDP.
func (t *GossipTransport) delayLocked(from *GossipTransport, buf []byte, lag time.Duration) {
	n := t.net
	ot := startOwnedTimer(&t.wg, lag, func(ot *ownedTimer) {
		n.mu.Lock()
		defer n.mu.Unlock()
		if _, ok := t.netMu.delayed[ot]; !ok {
			return // the receiver went away while this callback waited
		}
		delete(t.netMu.delayed, ot)
		// A packet caught in the network by a cut is lost, and nothing
		// more comes from a dead host; a sender that shut down cleanly
		// had its packets out of the door already.
		if from.netMu.killed || !n.reachableLocked(from.peer, t.peer) {
			return
		}
		t.deliverLocked(from, buf)
	})
	// The callback cannot look for itself before we release Network.mu.
	t.netMu.delayed[ot] = struct{}{}
}

// DialTimeout opens a stream to addr.
func (t *GossipTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout opens a stream to a.Addr (a.Name is ignored, as in
// WriteToAddress) and returns the dialer's end once the other memberlist
// has taken its end from StreamCh. It fails at once if nothing live is at
// the address or a partition is in the way, as memnet's link dials do;
// after timeout (none if timeout <= 0) if the other side does not accept,
// with an error whose Timeout method reports true; and as soon as either
// transport shuts down or is killed.
func (t *GossipTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	n := t.net
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "memnet", Source: t.tcpAddr, Addr: gossipAddrOf(a.Addr), Err: err}
	}
	n.mu.Lock()
	if t.netMu.closed {
		n.mu.Unlock()
		return nil, opErr(net.ErrClosed)
	}
	to := n.gossipAtLocked(a.Addr)
	if to == nil {
		n.mu.Unlock()
		return nil, opErr(fmt.Errorf("%w: no gossip transport at that address", transport.ErrUnreachable))
	}
	if !n.reachableLocked(t.peer, to.peer) {
		n.mu.Unlock()
		return nil, opErr(fmt.Errorf("%w: partitioned away", transport.ErrUnreachable))
	}
	// Register both ends before waiting, so that partitions, kills and
	// shutdowns during the wait reach the stream like any other.
	s := newStream(t, to)
	dialed, accepted := s.ends[0], s.ends[1]
	t.netMu.streams[dialed] = struct{}{}
	to.netMu.streams[accepted] = struct{}{}
	n.mu.Unlock()

	var expired <-chan time.Time
	if timeout > 0 {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		expired = timer.C
	}
	var err error
	select {
	case to.streams <- accepted:
		return dialed, nil
	case <-expired:
		err = opErr(os.ErrDeadlineExceeded)
	case <-to.done:
		err = opErr(fmt.Errorf("%w: gone while dialing", transport.ErrUnreachable))
	case <-t.done:
		err = opErr(net.ErrClosed)
	}
	dialed.Close()
	accepted.Close()
	return nil, err
}

// Shutdown detaches the transport: nothing more is delivered to it,
// packets on their way to it are lost, and its streams close, so their
// other ends read EOF (once any partition heals) and memberlist goroutines
// blocked on this side's streams return at once. PacketCh and StreamCh
// stay open, as memberlist expects; they simply fall silent. Shutdown
// waits for the transport's timers, and is idempotent; after it the peer
// may call [Network.Gossip] again.
func (t *GossipTransport) Shutdown() error {
	t.net.mu.Lock()
	t.shutdownLocked(false)
	t.net.mu.Unlock()
	t.wg.Wait()
	return nil
}

// shutdownLocked detaches the transport, cleanly or as a crash, without
// waiting; the caller waits on t.wg after releasing Network.mu, which the
// timer callbacks take.
func (t *GossipTransport) shutdownLocked(crash bool) {
	if t.netMu.closed {
		return
	}
	n := t.net
	t.netMu.closed = true
	t.netMu.killed = crash
	delete(n.mu.gossip, t.addr)
	delete(n.mu.gossipByPeer, t.peer)
	for ot := range t.netMu.delayed {
		ot.stop()
	}
	t.netMu.delayed = nil
	for e := range t.netMu.streams {
		e.s.mu.Lock()
		if crash {
			e.crashLocked()
		} else {
			e.closeLocked()
		}
		e.s.mu.Unlock()
	}
	close(t.done)
}

// gossipAtLocked returns the live transport at addr, or nil.
func (n *Network) gossipAtLocked(addr string) *GossipTransport {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil
	}
	return n.mu.gossip[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())]
}

// gossipAddrOf is addr as a net.Addr for error messages.
func gossipAddrOf(addr string) net.Addr {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}
