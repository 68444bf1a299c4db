package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Group is the metrics of one joined group on one node: every series
// carries the group label. Its methods are safe for concurrent use and do
// nothing on a nil *Group.
type Group struct {
	vecs  *groupVecs
	label string

	elections, leaderChanges        prometheus.Counter
	committed, voters, nonVoting    prometheus.Gauge
	committeeSize                   prometheus.Gauge
	bondsActive                     prometheus.Gauge
	bytesSent, bytesRecv            prometheus.Counter
	msgsSent, msgsRecv, msgsDropped prometheus.Counter
	rivalMerges, rivalDiscarded     prometheus.Counter

	mu     sync.Mutex
	leader leaderState
}

// newGroup binds the group's series once, so that recording on the hot
// path (every bond message) skips the label lookup.
func newGroup(v *groupVecs, label string) *Group {
	return &Group{
		vecs:           v,
		label:          label,
		elections:      v.elections.WithLabelValues(label),
		leaderChanges:  v.leaderChanges.WithLabelValues(label),
		committed:      v.committed.WithLabelValues(label),
		voters:         v.voters.WithLabelValues(label),
		nonVoting:      v.nonVoting.WithLabelValues(label),
		committeeSize:  v.committeeSize.WithLabelValues(label),
		bondsActive:    v.bondsActive.WithLabelValues(label),
		bytesSent:      v.bondBytesSent.WithLabelValues(label),
		bytesRecv:      v.bondBytesRecv.WithLabelValues(label),
		msgsSent:       v.bondMsgsSent.WithLabelValues(label),
		msgsRecv:       v.bondMsgsRecv.WithLabelValues(label),
		msgsDropped:    v.bondMsgsDropped.WithLabelValues(label),
		rivalMerges:    v.rivalMerges.WithLabelValues(label),
		rivalDiscarded: v.rivalDiscarded.WithLabelValues(label),
	}
}

// Forget removes the group's series from the registry, once the group is
// left. Values recorded afterwards (a late callback) go nowhere; a later
// join of the same group starts its series again from zero.
func (g *Group) Forget() {
	if g == nil {
		return
	}
	g.vecs.deleteGroup(g.label)
}

// SetCommitted records the log index of the last command this member
// applied (dragonboat applies only what is committed).
func (g *Group) SetCommitted(index uint64) {
	if g == nil {
		return
	}
	g.committed.Set(float64(index))
}

// ObserveLeader records a leader event of the group's shard: the term and
// the leader's replica id (0 while there is none), and whether this
// member is the leader. Only the leader reads the committee, so on other
// members the committee gauges drop to 0 rather than keep a stale value.
func (g *Group) ObserveLeader(term, leader uint64, self bool) {
	if g == nil {
		return
	}
	g.mu.Lock()
	next, election, change := g.leader.observe(term, leader)
	g.leader = next
	g.mu.Unlock()
	if election {
		g.elections.Inc()
	}
	if change {
		g.leaderChanges.Inc()
	}
	if !self {
		g.SetCommittee(0, 0)
	}
}

// SetCommittee records the shard's committee as its leader read it.
func (g *Group) SetCommittee(voters, nonVoting int) {
	if g == nil {
		return
	}
	g.voters.Set(float64(voters))
	g.nonVoting.Set(float64(nonVoting))
	g.committeeSize.Set(float64(voters + nonVoting))
}

// SetBonds records how many of this member's bonds are up.
func (g *Group) SetBonds(up int) {
	if g == nil {
		return
	}
	g.bondsActive.Set(float64(up))
}

// BondSent records one bond message of size encoded bytes written.
func (g *Group) BondSent(size int) {
	if g == nil {
		return
	}
	g.msgsSent.Inc()
	g.bytesSent.Add(float64(size))
}

// BondReceived records one bond message of size encoded bytes read.
func (g *Group) BondReceived(size int) {
	if g == nil {
		return
	}
	g.msgsRecv.Inc()
	g.bytesRecv.Add(float64(size))
}

// BondDropped records one bond message dropped on a full queue.
func (g *Group) BondDropped() {
	if g == nil {
		return
	}
	g.msgsDropped.Inc()
}

// RivalLost records that this member's shard lost to a rival, taking
// discarded applied entries with it.
func (g *Group) RivalLost(discarded uint64) {
	if g == nil {
		return
	}
	g.rivalMerges.Inc()
	g.rivalDiscarded.Add(float64(discarded))
}

// leaderState is what leader tracking remembers of a shard: the last term
// seen and the last leader known (never reset to "none", so that a leader
// re-elected after a leaderless spell is not counted as a change).
type leaderState struct {
	term   uint64
	leader uint64
}

// observe folds one leader event into s. A term other than the last one
// means an election began (terms only move by elections; a new shard
// after a rival merge starts its own); a leader other than the last one
// known is a leader change, the first leader included.
func (s leaderState) observe(term, leader uint64) (next leaderState, election, change bool) {
	next = s
	if term != 0 && term != s.term {
		next.term, election = term, true
	}
	if leader != 0 && leader != s.leader {
		next.leader, change = leader, true
	}
	return next, election, change
}
