package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/mosaikgo/mosaik/id"
)

// role is what a node is in the demo's group.
type role string

const (
	roleLeader   role = "leader"
	roleFollower role = "follower"
	roleOffline  role = "offline" // no replica running, or no leader known
	roleKilled   role = "killed"
)

// observation is what the demo reads from one node at one instant.
type observation struct {
	peer      id.PeerID
	killed    bool
	running   bool // the node's replica runs
	leader    id.PeerID
	term      uint64
	committed uint64 // the last log index the node applied
	bonds     int
	catalog   int    // entries in the node's catalog, its own included
	waiting   string // why the node cannot take commands; empty when it can
}

func (o observation) role() role {
	switch {
	case o.killed:
		return roleKilled
	case o.running && o.leader == o.peer:
		return roleLeader
	case o.running && !o.leader.IsZero():
		return roleFollower
	default:
		return roleOffline
	}
}

// nodeRow is one node's line in the view.
type nodeRow struct {
	observation
	role role
	rate float64 // commits per second the node applied, over the rate window
}

// event is one line of the event log.
type event struct {
	seq  int // 1, 2, ... in the order the events happened
	at   time.Duration
	text string
}

// frame is everything the view shows at one instant.
type frame struct {
	elapsed time.Duration
	phase   string
	rows    []nodeRow
	// events holds the latest maxEvents events, oldest first.
	events []event
	// ok and failed count the workload's commands: committed, and refused
	// or timed out (while the group had no leader).
	ok, failed uint64
}

// maxEvents bounds the event log a frame carries.
const maxEvents = 12

// sample is one reading of a node's applied index.
type sample struct {
	at    time.Time
	index uint64
}

// rate is the growth of the index per second between the first and last
// samples; 0 when they span no time or the index went back (a member that
// joins another shard restarts its log).
func rate(samples []sample) float64 {
	if len(samples) < 2 {
		return 0
	}
	first, last := samples[0], samples[len(samples)-1]
	span := last.at.Sub(first.at).Seconds()
	if span <= 0 || last.index < first.index {
		return 0
	}
	return float64(last.index-first.index) / span
}

// trim drops the samples older than window before now, keeping the newest
// of them so that the remaining ones span the whole window.
func trim(samples []sample, now time.Time, window time.Duration) []sample {
	cut := 0
	for cut+1 < len(samples) && !samples[cut+1].at.After(now.Add(-window)) {
		cut++
	}
	return samples[cut:]
}

// leadership is one leader the group had, as first seen.
type leadership struct {
	peer id.PeerID
	term uint64
	at   time.Duration
}

// summary is what a demo run showed.
type summary struct {
	leaders []leadership
	// killed is the node the demo killed (zero when it killed none), and
	// killIndex the highest index any node had applied at that moment.
	killed    id.PeerID
	killAt    time.Duration
	killIndex uint64
	// finalIndex is the highest index any live node applied by the end.
	finalIndex uint64
	ok, failed uint64
}

// failover returns the first leader elected after the kill, if any.
func (s summary) failover() (leadership, bool) {
	if s.killed.IsZero() {
		return leadership{}, false
	}
	for _, l := range s.leaders {
		if l.at >= s.killAt && l.peer != s.killed {
			return l, true
		}
	}
	return leadership{}, false
}

// check reports what the run failed to show: after a kill, a new leader and
// commits beyond the index applied at the kill.
func (s summary) check() error {
	if len(s.leaders) == 0 {
		return errors.New("no leader was ever elected")
	}
	if s.killed.IsZero() {
		return nil
	}
	if _, ok := s.failover(); !ok {
		return fmt.Errorf("no new leader after %s was killed", s.killed.Short())
	}
	if s.finalIndex <= s.killIndex {
		return fmt.Errorf("no commits after the kill: index stayed at %d", s.killIndex)
	}
	return nil
}

// tracker turns the observations the demo samples into frames: it keeps
// the rate windows, spots leader changes and writes the event log. It is
// pure (the caller passes the time) and not safe for concurrent use.
type tracker struct {
	start   time.Time
	window  time.Duration
	phase   string
	samples map[id.PeerID][]sample
	events  []event
	seq     int
	sum     summary
	resumed bool // commits went past the kill index
	ok      uint64
	failed  uint64
	rows    []nodeRow // of the last observation
}

func newTracker(start time.Time, window time.Duration) *tracker {
	return &tracker{start: start, window: window, phase: "starting", samples: map[id.PeerID][]sample{}}
}

// note adds an event to the log.
func (t *tracker) note(now time.Time, format string, args ...any) {
	t.seq++
	t.events = append(t.events, event{seq: t.seq, at: now.Sub(t.start), text: fmt.Sprintf(format, args...)})
	if len(t.events) > maxEvents {
		t.events = t.events[len(t.events)-maxEvents:]
	}
}

// setPhase names what the demo is doing, for the view's status line.
func (t *tracker) setPhase(p string) { t.phase = p }

// count records the workload's totals.
func (t *tracker) count(ok, failed uint64) { t.ok, t.failed = ok, failed }

// killed records that the demo killed peer, the leader, when the highest
// applied index was index.
func (t *tracker) killed(now time.Time, peer id.PeerID, index uint64) {
	t.sum.killed, t.sum.killAt, t.sum.killIndex = peer, now.Sub(t.start), index
	t.note(now, "killed %s, the leader, at index %d", peer.Short(), index)
}

// observe takes one reading of every node and returns the frame to show.
func (t *tracker) observe(now time.Time, obs []observation) frame {
	f := frame{elapsed: now.Sub(t.start), phase: t.phase, ok: t.ok, failed: t.failed}
	for _, o := range obs {
		row := nodeRow{observation: o, role: o.role()}
		if !o.killed {
			s := trim(append(t.samples[o.peer], sample{at: now, index: o.committed}), now, t.window)
			t.samples[o.peer] = s
			row.rate = rate(s)
			t.sum.finalIndex = max(t.sum.finalIndex, o.committed)
		}
		f.rows = append(f.rows, row)
	}
	t.rows = f.rows
	t.spotLeader(now, obs)
	t.spotResume(now, obs)
	f.events = append([]event(nil), t.events...)
	return f
}

// redraw returns a frame of the last observation with the current phase,
// totals and events, for when the nodes can no longer be read.
func (t *tracker) redraw(now time.Time) frame {
	return frame{
		elapsed: now.Sub(t.start),
		phase:   t.phase,
		rows:    t.rows,
		events:  append([]event(nil), t.events...),
		ok:      t.ok,
		failed:  t.failed,
	}
}

// spotLeader logs a leader that differs from the last one seen: the live
// node that says it leads, with the highest term if two do (an old leader
// that has not yet heard of its successor).
func (t *tracker) spotLeader(now time.Time, obs []observation) {
	var cur *observation
	for i, o := range obs {
		if o.role() == roleLeader && (cur == nil || o.term > cur.term) {
			cur = &obs[i]
		}
	}
	if cur == nil {
		return
	}
	var last leadership
	if n := len(t.sum.leaders); n > 0 {
		last = t.sum.leaders[n-1]
	}
	if cur.peer == last.peer && cur.term == last.term {
		return
	}
	l := leadership{peer: cur.peer, term: cur.term, at: now.Sub(t.start)}
	t.sum.leaders = append(t.sum.leaders, l)
	switch {
	case last.peer.IsZero():
		t.note(now, "leader elected: %s (term %d)", l.peer.Short(), l.term)
	case l.peer == last.peer:
		t.note(now, "leader %s re-elected (term %d)", l.peer.Short(), l.term)
	case !t.sum.killed.IsZero() && last.peer == t.sum.killed:
		t.note(now, "new leader: %s (term %d), %s after the kill", l.peer.Short(), l.term, round(l.at-t.sum.killAt))
	default:
		t.note(now, "new leader: %s (term %d), was %s", l.peer.Short(), l.term, last.peer.Short())
	}
}

// spotResume logs the first commit past the index applied at the kill.
func (t *tracker) spotResume(now time.Time, obs []observation) {
	if t.sum.killed.IsZero() || t.resumed {
		return
	}
	for _, o := range obs {
		if !o.killed && o.committed > t.sum.killIndex {
			t.resumed = true
			t.note(now, "commits continue: %s applied index %d, %s after the kill",
				o.peer.Short(), o.committed, round(now.Sub(t.start)-t.sum.killAt))
			return
		}
	}
}

// summary returns what the run showed so far.
func (t *tracker) summary() summary {
	s := t.sum
	s.leaders = append([]leadership(nil), s.leaders...)
	s.ok, s.failed = t.ok, t.failed
	return s
}

// round shortens a duration for display.
func round(d time.Duration) time.Duration {
	if d >= 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(10 * time.Millisecond)
}
