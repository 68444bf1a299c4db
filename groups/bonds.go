package groups

import (
	"math"
	"time"

	"github.com/mosaikgo/mosaik/id"
)

// Dials reports whether self opens the bond with peer. The lower PeerID
// dials and the other accepts, so two members that discover each other at
// the same moment normally open one bond, not two.
func Dials(self, peer id.PeerID) bool { return self.Less(peer) }

// MaxDialsInFlight bounds the bonds one member of a group dials at the
// same time. Dialing is all the catalog has to go on, and on an open
// network anyone can advertise membership of a group; the bound keeps a
// catalog full of such advertisers (up to the catalog's cap) to a trickle
// of dials instead of thousands of handshakes at once. Real groups have
// few members, so it never delays them.
const MaxDialsInFlight = 8

// MaxDialBackoff caps [DialBackoff].
const MaxDialBackoff = time.Minute

// DialBackoff is how long a member waits before it dials a peer again
// after failures failed attempts in a row (refused, unreachable, a wrong
// key). A peer that was bonded before (it proved the group key) is dialed
// again every base: it is a member cut off for a while, by a partition
// or a restart, and the group wants it back as soon as it is reachable.
// A peer never bonded is what a catalog full of fake advertisers holds:
// base after its first failure, doubled for each further one, at most
// 8 x base and MaxDialBackoff. (MaxDialsInFlight is what bounds the
// cost of such a flood; the backoff keeps the dials for peers that
// answer.) A peer that answers resets the count (the caller's).
func DialBackoff(failures int, base time.Duration, bondedBefore bool) time.Duration {
	if failures <= 0 {
		return 0
	}
	if bondedBefore || failures == 1 {
		return min(base, MaxDialBackoff)
	}
	limit := min(8*base, MaxDialBackoff)
	d := base
	for range failures - 1 {
		if d >= limit/2 {
			return limit
		}
		d *= 2
	}
	return min(d, limit)
}

// Direction says, from one side's view, who opened a bond.
type Direction uint8

// The two directions of a bond.
const (
	// Outgoing: this side dialed.
	Outgoing Direction = iota + 1
	// Incoming: the peer dialed and this side accepted.
	Incoming
)

// String names the direction for logs.
func (d Direction) String() string {
	switch d {
	case Outgoing:
		return "outgoing"
	case Incoming:
		return "incoming"
	}
	return "unknown"
}

// Preferred is the direction of the bond between self and peer that
// survives a duplicate: the one dialed by the lower PeerID, as [Dials]
// prescribes.
func Preferred(self, peer id.PeerID) Direction {
	if Dials(self, peer) {
		return Outgoing
	}
	return Incoming
}

// KeepArriving decides between two bonds with one peer: existing, already
// established, and arriving, whose handshake just completed. It reports
// whether arriving survives; the loser is closed with
// transport.CodeAlreadyBonded (30_429).
//
// Both ends reach the same verdict without talking:
//
//   - Opposite directions (each side dialed, e.g. both started before
//     either's catalog showed the other): the bond dialed by the lower
//     PeerID survives. It is a property of the pair, so the order in which
//     each side saw the two handshakes complete does not matter.
//   - Same direction (the dialer dialed again): the arriving bond
//     survives. A dialer only dials a peer it has no live bond with, so it
//     has already given up the existing one; the acceptor simply has not
//     noticed yet, and keeping the old bond would lock the pair out until
//     the acceptor's heartbeats time out.
func KeepArriving(self, peer id.PeerID, existing, arriving Direction) bool {
	if existing == arriving {
		return true
	}
	return arriving == Preferred(self, peer)
}

// Heartbeat is a bond's liveness step machine over logical time. The
// bond's actor calls Tick once per heartbeat period (see [NextHeartbeat]
// for the period) and Heard whenever any frame arrives: any frame counts
// as a heartbeat, not only pings.
//
// It asks for a ping on every tick, even when other frames went out in
// the period. Skipping those pings would save little (a ping is a few
// bytes per period) but would stretch the gap between our frames to
// almost two periods, and the peer, ticking on its own jittered schedule,
// would count silent ticks on a healthy bond.
//
// The zero value is not ready for use; call [NewHeartbeat].
type Heartbeat struct {
	maxMissed int
	silent    int // consecutive ticks in which nothing arrived
	heard     bool
	dead      bool
}

// NewHeartbeat returns a machine that declares the bond dead after
// maxMissed consecutive silent ticks. Values below 1 mean 1: the config is
// validated before it gets here ([ConsensusConfig.Validate] asks for at
// least 2), and a machine that never declares death would leak bonds.
func NewHeartbeat(maxMissed int) Heartbeat {
	return Heartbeat{maxMissed: max(maxMissed, 1)}
}

// Heard records that a frame arrived from the peer: the peer is alive, so
// the count of silent ticks starts over.
func (h *Heartbeat) Heard() {
	h.heard = true
	h.silent = 0
}

// Tick ends one heartbeat period. sendPing tells the actor to send a
// BondPing; dead tells it to close the bond with transport.CodeTimeout
// (30_408) because the peer has been silent for maxMissed periods in a
// row. Once dead, the machine stays dead (a late frame does not revive
// it) and asks for no more pings.
func (h *Heartbeat) Tick() (sendPing, dead bool) {
	if h.dead {
		return false, true
	}
	if h.heard {
		h.heard = false
	} else {
		h.silent++
	}
	if h.silent >= h.maxMissed {
		h.dead = true
		return false, true
	}
	return true, false
}

// Silent is the number of consecutive ticks that passed without a frame
// from the peer, for metrics and logs.
func (h *Heartbeat) Silent() int { return h.silent }

// Dead reports whether the bond was declared dead.
func (h *Heartbeat) Dead() bool { return h.dead }

// minHeartbeat is the shortest period NextHeartbeat returns: a
// misconfigured jitter must not produce a busy loop or a timer that panics
// on a non-positive duration.
const minHeartbeat = time.Millisecond

// NextHeartbeat is the wall time until a bond's next heartbeat tick:
// interval - r*jitter. The caller draws r uniformly from [0, 1), which
// keeps this function pure and spreads the ticks of a node's bonds. An r
// outside [0, 1] (or NaN) is clamped; the result is never below a
// millisecond.
func NextHeartbeat(interval, jitter time.Duration, r float64) time.Duration {
	switch {
	case math.IsNaN(r) || r < 0:
		r = 0
	case r > 1:
		r = 1
	}
	return max(interval-time.Duration(r*float64(jitter)), minHeartbeat)
}
