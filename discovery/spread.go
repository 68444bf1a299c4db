package discovery

import (
	"maps"
	"slices"
	"time"

	"github.com/mosaikgo/mosaik/id"
)

// How a new entry spreads beyond memberlist's gossip. Gossip alone makes
// a joiner's entry wait for SWIM's dissemination rounds, and the joiner
// wait for the entries others learned while it joined; two pushes bound a
// cold start to about one fan-out round instead:
//
//   - Fan-out ([FanOutTo]): a node that receives a peer's own entry
//     first-hand (in a catalog state that peer sent) and finds it new
//     sends it on at once, one packet to each member failure detection
//     showed it (at most [MaxFanOut]). The seed of a cold start thus hands
//     each joiner's entry to every node that joined before it.
//   - Push-back ([PushBack], [PushBacks]): when that state came from a
//     memberlist push-pull (the joiner's first contact), the node also
//     hands the sender, over an authenticated sync link, the entries it
//     holds that the state did not list. Push-pull answers with the
//     catalog as it was when the exchange began; an entry merged between
//     that moment and the merge of the joiner's own state reached neither
//     the joiner (not in the answer) nor by fan-out (the joiner was not
//     yet a member). Every later entry reaches the joiner by fan-out.
//
// Neither amplifies: a node passes an entry on only when it was news to
// it, so at most once per version; the fan-out is bounded in peers and
// goes to addresses failure detection vouches for; a push-back goes only
// to a peer failure detection lists, carries at most [MaxPushBackEntries]
// entries and [MaxPushBackBytes] bytes, and [PushBacks] keeps one per
// peer, a bounded number waiting and a bounded number running, and starts
// at most one per peer per interval: a peer that keeps signing new
// versions of its entry gets no more than that. Receivers verify every
// entry as they do any other.

// MaxFanOut bounds the members one first-hand entry is sent to directly;
// the rest learn it from gossip.
const MaxFanOut = 256

// MaxPushBackEntries and MaxPushBackBytes bound one push-back: a joiner of
// a larger network learns the rest from gossip and push-pull.
const (
	MaxPushBackEntries = 1024
	MaxPushBackBytes   = 1 << 20
)

// FanOutTo picks the members to send peer's new first-hand entry to: every
// member but peer itself, at most limit of them. Past the limit the choice
// starts after peer in id order and wraps, so that different entries reach
// different members and every member is chosen for some.
func FanOutTo(peer id.PeerID, members []id.PeerID, limit int) []id.PeerID {
	out := make([]id.PeerID, 0, len(members))
	for _, m := range members {
		if m != peer {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, id.PeerID.Compare)
	out = slices.Compact(out)
	if len(out) <= limit {
		return out
	}
	start, _ := slices.BinarySearchFunc(out, peer, id.PeerID.Compare)
	picked := make([]id.PeerID, 0, limit)
	for i := range limit {
		picked = append(picked, out[(start+i)%len(out)])
	}
	return picked
}

// PushBack picks the entries to hand the sender of a catalog state it
// lacked: those of held (the peers' entries we hold, in any order) whose
// exact bytes the state did not list (listed reports a digest it did),
// other than the sender's own. Older and newer versions alike go: the
// receiver keeps the newest. The result is in peer order, at most
// maxEntries entries and maxBytes signed bytes (entries that would pass
// the byte bound are skipped, smaller ones after them still go).
func PushBack(held []Signed, listed func(id.Digest) bool, sender id.PeerID, maxEntries, maxBytes int) []Signed {
	var out []Signed
	for _, s := range held {
		if s.Peer() != sender && !listed(s.Digest()) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Signed) int { return a.Peer().Compare(b.Peer()) })
	kept, bytes := out[:0], 0
	for _, s := range out {
		if len(kept) == maxEntries {
			break
		}
		if bytes+s.Size() > maxBytes {
			continue
		}
		kept = append(kept, s)
		bytes += s.Size()
	}
	return kept
}

// PushBacks is the queue of push-backs a node owes: a plain state machine
// that its owner drives (Add when a state asks for one, Next when it can
// start one, Done when one ends). It holds at most one push-back per peer
// (a newer one replaces a waiting one), at most maxWaiting waiting and at
// most maxRunning running, and refuses one for a peer whose last push-back
// started less than every ago; a refused push-back is counted, and gossip
// repairs what it would have carried.
type PushBacks struct {
	maxWaiting, maxRunning int
	every                  time.Duration
	waiting                []PushBackTo
	running                map[id.PeerID]bool
	started                map[id.PeerID]time.Time // within the last every
	dropped                uint64
}

// PushBackTo is one push-back: the entries for a peer at an address.
type PushBackTo struct {
	Peer    id.PeerID
	Addr    string
	Entries []Signed
}

// NewPushBacks returns an empty queue with the given bounds.
func NewPushBacks(maxWaiting, maxRunning int, every time.Duration) *PushBacks {
	return &PushBacks{
		maxWaiting: maxWaiting, maxRunning: maxRunning, every: every,
		running: map[id.PeerID]bool{}, started: map[id.PeerID]time.Time{},
	}
}

// Add queues p at time now. It replaces a push-back waiting for the same
// peer; if one for the peer is running, p waits until it ends. It reports
// whether p was queued.
func (q *PushBacks) Add(p PushBackTo, now time.Time) bool {
	if len(p.Entries) == 0 {
		return false
	}
	maps.DeleteFunc(q.started, func(_ id.PeerID, at time.Time) bool { return now.Sub(at) >= q.every })
	if _, recent := q.started[p.Peer]; recent {
		q.dropped++
		return false
	}
	if i := slices.IndexFunc(q.waiting, func(w PushBackTo) bool { return w.Peer == p.Peer }); i >= 0 {
		q.waiting[i] = p
		return true
	}
	if len(q.waiting) >= q.maxWaiting {
		q.dropped++
		return false
	}
	q.waiting = append(q.waiting, p)
	return true
}

// Next takes, at time now, the oldest waiting push-back whose peer has
// none running, if fewer than maxRunning run; the owner starts it and
// calls Done when it ends.
func (q *PushBacks) Next(now time.Time) (PushBackTo, bool) {
	if len(q.running) >= q.maxRunning {
		return PushBackTo{}, false
	}
	for i, p := range q.waiting {
		if !q.running[p.Peer] {
			q.waiting = slices.Delete(q.waiting, i, i+1)
			q.running[p.Peer] = true
			q.started[p.Peer] = now
			return p, true
		}
	}
	return PushBackTo{}, false
}

// Done records that the push-back to peer ended, however it went.
func (q *PushBacks) Done(peer id.PeerID) { delete(q.running, peer) }

// Waiting counts the push-backs queued and not started.
func (q *PushBacks) Waiting() int { return len(q.waiting) }

// Running counts the push-backs under way.
func (q *PushBacks) Running() int { return len(q.running) }

// Dropped counts push-backs refused: maxWaiting were queued, or the
// peer had one start less than every ago.
func (q *PushBacks) Dropped() uint64 { return q.dropped }
