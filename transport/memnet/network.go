package memnet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/transport"
)

// Network is one simulated world of endpoints. Its methods are safe for
// concurrent use.
type Network struct {
	cfg Config

	// The fault knobs are read on every Send, so they are atomics rather
	// than fields behind mu.
	dropRate atomic.Uint64 // math.Float64bits of the loss probability
	delay    atomic.Int64  // time.Duration
	jitter   atomic.Int64  // time.Duration

	// rng is a leaf lock: it may be taken while holding any other.
	rng struct {
		sync.Mutex
		r *rand.Rand
	}

	// mu serializes the control plane: listening, dialing, handler
	// registration, closing, partitions and kills. It also guards the
	// netMu fields of every Endpoint and GossipTransport. Lock order:
	// Network.mu, then conn.mu or stream.mu, then the leaf locks
	// (Endpoint.links, rng).
	mu struct {
		sync.Mutex
		closed    bool
		lastAddr  uint64
		endpoints map[string]*Endpoint // live endpoints by address
		// lastGossipPort is the port of the last gossip address handed
		// out; gossip and gossipByPeer hold the live gossip transports.
		lastGossipPort uint16
		gossip         map[netip.AddrPort]*GossipTransport
		gossipByPeer   map[id.PeerID]*GossipTransport
		// groups maps each peer named in the current partition to its
		// group number, from 1. Peers absent from the map reach everyone.
		groups map[id.PeerID]int
	}
}

// New returns an empty network. It panics if cfg does not validate: a
// misconfigured test network is a bug in the test, not a runtime condition.
func New(cfg Config) *Network {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	n := &Network{cfg: cfg.withDefaults()}
	n.rng.r = rand.New(rand.NewPCG(uint64(cfg.Seed), 0))
	n.mu.endpoints = make(map[string]*Endpoint)
	n.mu.gossip = make(map[netip.AddrPort]*GossipTransport)
	n.mu.gossipByPeer = make(map[id.PeerID]*GossipTransport)
	return n
}

// Config returns the network's configuration with defaults filled in.
func (n *Network) Config() Config { return n.cfg }

// Listen attaches a new endpoint for key at a fresh address. Several live
// endpoints may share a key (two processes holding one identity); a peer
// whose endpoints were killed or closed listens again this way. It fails
// with ErrBadConfig for an invalid opts or a zero key, and with
// transport.ErrClosed once the network is closed.
func (n *Network) Listen(key id.SecretKey, opts EndpointConfig) (*Endpoint, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if key.IsZero() {
		return nil, fmt.Errorf("%w: zero secret key", ErrBadConfig)
	}
	maxFrame := opts.MaxFrameSize
	if maxFrame == 0 {
		maxFrame = n.cfg.MaxFrameSize
	}
	firstFrame := opts.FirstFrameSize
	if firstFrame == 0 {
		firstFrame = transport.DefaultFirstFrameSize
	}
	firstFrame = min(firstFrame, maxFrame)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mu.closed {
		return nil, fmt.Errorf("memnet: listen: %w", transport.ErrClosed)
	}
	n.mu.lastAddr++
	e := &Endpoint{
		net:      n,
		peer:     key.PeerID(),
		addr:     "mem:" + strconv.FormatUint(n.mu.lastAddr, 10),
		maxFrame: maxFrame,
		first:    firstFrame,
	}
	e.netMu.handlers = make(map[string]transport.Handler)
	e.links.m = make(map[*link]struct{})
	n.mu.endpoints[e.addr] = e
	return e, nil
}

// Partition splits the network: endpoints of peers in different groups
// cannot reach each other, while endpoints of peers named in no group still
// reach everyone. It replaces any earlier partition rather than adding to
// it; a peer named in several groups belongs to the last. Frames and closes
// sent across the cut are held until the cut heals; a link cut for longer
// than the idle timeout closes with transport.ErrTimeout on both ends.
// Gossip packets across the cut are lost, and gossip streams across it
// stall until the cut heals or their deadlines pass.
func (n *Network) Partition(groups ...[]id.PeerID) {
	var m map[id.PeerID]int
	if len(groups) > 0 {
		m = make(map[id.PeerID]int)
		for i, g := range groups {
			for _, p := range g {
				m[p] = i + 1
			}
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mu.groups = m
	n.recutLocked()
}

// Heal removes the partition: held frames and closes flow again, in order.
// Links that already timed out stay closed.
func (n *Network) Heal() { n.Partition() }

// SetDropRate makes every frame and gossip packet sent from now on vanish
// with probability p, drawn from the seeded random source. Closes and
// gossip stream bytes are never lost. Real QUIC links never lose a frame,
// so use it on links only for protocols that claim to survive message
// loss; memberlist's packets are meant to be lossy. It panics unless
// 0 <= p <= 1.
func (n *Network) SetDropRate(p float64) {
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("memnet: drop rate %v outside [0, 1]", p))
	}
	n.dropRate.Store(math.Float64bits(p))
}

// SetDelay holds every frame and gossip packet sent from now on for d
// before delivering it, on top of any jitter. Frames keep their order on
// each direction of a link, so a frame sent after a delay change never
// overtakes an earlier one; packets are independent and may be reordered.
// Closes and gossip streams are not delayed. It panics if d is negative.
func (n *Network) SetDelay(d time.Duration) {
	if d < 0 {
		panic(fmt.Sprintf("memnet: negative delay %v", d))
	}
	n.delay.Store(int64(d))
}

// SetJitter adds to each frame's and gossip packet's delay a random extra
// in [0, j), drawn from the seeded random source. Order is still kept per
// direction of a link, so jitter bunches frames rather than reordering
// them; gossip packets it may reorder. It panics if j is negative.
func (n *Network) SetJitter(j time.Duration) {
	if j < 0 {
		panic(fmt.Sprintf("memnet: negative jitter %v", j))
	}
	n.jitter.Store(int64(j))
}

// Kill crashes every live endpoint of peer, as if its process died: its
// links close locally with transport.ErrClosed, frames in flight to or from
// it are lost, its peers hear nothing more (their links time out after the
// idle timeout), and dials to its addresses fail with
// transport.ErrUnreachable. Its gossip transport dies too: packets to
// and from it vanish, its streams close on its side and fall silent on the
// other. Kill waits for the endpoints' handlers and timers to return, so it
// must not be called from one of their handlers. Listen with the same key,
// and call Gossip again, to bring the peer back.
func (n *Network) Kill(peer id.PeerID) {
	n.mu.Lock()
	var killed []*Endpoint
	for _, e := range n.mu.endpoints {
		if e.peer == peer {
			e.shutdownLocked(true)
			killed = append(killed, e)
		}
	}
	g := n.mu.gossipByPeer[peer]
	if g != nil {
		g.shutdownLocked(true)
	}
	n.mu.Unlock()
	for _, e := range killed {
		e.wg.Wait()
	}
	if g != nil {
		g.wg.Wait()
	}
}

// Close closes every endpoint, as [Endpoint.Close] does, shuts down every
// gossip transport, as [GossipTransport.Shutdown] does, and refuses new
// ones. It waits for every handler and timer of every endpoint and gossip
// transport, so it must not be called from a handler. It is idempotent and
// returns nil.
func (n *Network) Close() error {
	n.mu.Lock()
	n.mu.closed = true
	closing := make([]*Endpoint, 0, len(n.mu.endpoints))
	for _, e := range n.mu.endpoints {
		e.shutdownLocked(false)
		closing = append(closing, e)
	}
	gossips := make([]*GossipTransport, 0, len(n.mu.gossip))
	for _, g := range n.mu.gossip {
		g.shutdownLocked(false)
		gossips = append(gossips, g)
	}
	n.mu.Unlock()
	for _, e := range closing {
		e.wg.Wait()
	}
	for _, g := range gossips {
		g.wg.Wait()
	}
	return nil
}

// reachableLocked reports whether the current partition lets a and b talk.
func (n *Network) reachableLocked(a, b id.PeerID) bool {
	ga, gb := n.mu.groups[a], n.mu.groups[b]
	return ga == 0 || gb == 0 || ga == gb
}

// recutLocked brings every open connection and gossip stream in line with
// the current partition. Each is reached through the live endpoint or
// gossip transport that holds one of its open ends; one with no open end
// needs nothing.
func (n *Network) recutLocked() {
	seen := make(map[*conn]struct{})
	for _, e := range n.mu.endpoints {
		for _, l := range e.openLinks() {
			if _, ok := seen[l.c]; ok {
				continue
			}
			seen[l.c] = struct{}{}
			l.c.mu.Lock()
			l.c.setCutLocked(l.c.dead || !n.reachableLocked(l.c.ends[0].ep.peer, l.c.ends[1].ep.peer))
			l.c.mu.Unlock()
		}
	}
	streams := make(map[*stream]struct{})
	for _, g := range n.mu.gossip {
		for e := range g.netMu.streams {
			s := e.s
			if _, ok := streams[s]; ok {
				continue
			}
			streams[s] = struct{}{}
			s.mu.Lock()
			s.setCutLocked(s.dead || !n.reachableLocked(s.ends[0].owner.peer, s.ends[1].owner.peer))
			s.mu.Unlock()
		}
	}
}

// fate decides, at send time, whether a frame is lost and how long it
// travels. Drawing in send order is what makes a seeded run replay.
func (n *Network) fate() (drop bool, lag time.Duration) {
	p := math.Float64frombits(n.dropRate.Load())
	lag = time.Duration(n.delay.Load())
	j := n.jitter.Load()
	if p == 0 && j == 0 {
		return false, lag
	}
	n.rng.Lock()
	defer n.rng.Unlock()
	if p > 0 && n.rng.r.Float64() < p {
		return true, 0
	}
	if j > 0 {
		lag += time.Duration(n.rng.r.Int64N(j))
	}
	return false, lag
}
