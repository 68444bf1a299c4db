package main

import (
	"strings"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/id"
)

var (
	epoch          = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	peerA, peerB   = id.SecretKeyFromSeed("a").PeerID(), id.SecretKeyFromSeed("b").PeerID()
	peerC          = id.SecretKeyFromSeed("c").PeerID()
	secondsFromNow = func(s float64) time.Time { return epoch.Add(time.Duration(s * float64(time.Second))) }
)

func TestRate(t *testing.T) {
	tests := []struct {
		name    string
		samples []sample
		want    float64
	}{
		{"none", nil, 0},
		{"one", []sample{{epoch, 5}}, 0},
		{"steady", []sample{{secondsFromNow(0), 10}, {secondsFromNow(1), 30}, {secondsFromNow(2), 50}}, 20},
		{"no time", []sample{{epoch, 1}, {epoch, 9}}, 0},
		{"went back", []sample{{secondsFromNow(0), 50}, {secondsFromNow(1), 3}}, 0},
		{"idle", []sample{{secondsFromNow(0), 7}, {secondsFromNow(2), 7}}, 0},
	}
	for _, tt := range tests {
		if got := rate(tt.samples); got != tt.want {
			t.Errorf("%s: rate = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestTrim(t *testing.T) {
	s := []sample{{secondsFromNow(0), 0}, {secondsFromNow(1), 1}, {secondsFromNow(2), 2}, {secondsFromNow(3), 3}}
	tests := []struct {
		now    float64
		window time.Duration
		first  uint64 // index of the oldest sample kept
	}{
		{3, 2 * time.Second, 1},        // the sample at the window's start stays
		{3.5, 2 * time.Second, 1},      // the newest sample before the window's start stays
		{3, 10 * time.Second, 0},       // all within the window
		{10, time.Second, 3},           // only the last one is left
		{3, 500 * time.Millisecond, 2}, // the sample before the window stays
	}
	for _, tt := range tests {
		got := trim(s, secondsFromNow(tt.now), tt.window)
		if got[0].index != tt.first || got[len(got)-1].index != 3 {
			t.Errorf("trim at %vs, window %v: kept %v, want from index %d", tt.now, tt.window, got, tt.first)
		}
	}
}

func TestRole(t *testing.T) {
	tests := []struct {
		o    observation
		want role
	}{
		{observation{peer: peerA, killed: true, running: true, leader: peerA}, roleKilled},
		{observation{peer: peerA, running: true, leader: peerA}, roleLeader},
		{observation{peer: peerA, running: true, leader: peerB}, roleFollower},
		{observation{peer: peerA, running: true}, roleOffline},
		{observation{peer: peerA, leader: peerB}, roleOffline}, // no replica yet
	}
	for _, tt := range tests {
		if got := tt.o.role(); got != tt.want {
			t.Errorf("%+v: role %q, want %q", tt.o, got, tt.want)
		}
	}
}

// member is an observation of a live node that follows (or is) leader.
func member(p, leader id.PeerID, term, committed uint64) observation {
	return observation{peer: p, running: true, leader: leader, term: term, committed: committed, bonds: 2, catalog: 3}
}

func eventTexts(f frame) string {
	var texts []string
	for _, e := range f.events {
		texts = append(texts, e.text)
	}
	return strings.Join(texts, "\n")
}

// TestTrackerFailover plays a failover through the tracker: an election,
// the kill of the leader, a new leader, commits past the kill.
func TestTrackerFailover(t *testing.T) {
	tr := newTracker(epoch, 2*time.Second)
	f := tr.observe(secondsFromNow(1), []observation{
		{peer: peerA}, {peer: peerB}, {peer: peerC},
	})
	if len(f.events) != 0 {
		t.Fatalf("events before any leader: %q", eventTexts(f))
	}
	tr.observe(secondsFromNow(2), []observation{
		member(peerA, peerA, 2, 10), member(peerB, peerA, 2, 10), member(peerC, peerA, 2, 9),
	})
	f = tr.observe(secondsFromNow(3), []observation{
		member(peerA, peerA, 2, 30), member(peerB, peerA, 2, 30), member(peerC, peerA, 2, 30),
	})
	if want := "leader elected: " + peerA.Short() + " (term 2)"; eventTexts(f) != want {
		t.Fatalf("events %q, want %q", eventTexts(f), want)
	}
	if f.rows[0].role != roleLeader || f.rows[1].role != roleFollower || f.rows[0].rate != 15 { // 30 commits since t=1s
		t.Fatalf("rows %+v", f.rows)
	}

	tr.killed(secondsFromNow(3.5), peerA, 30)
	// The old leader is gone, the others have no leader yet.
	tr.observe(secondsFromNow(4), []observation{
		{peer: peerA, killed: true}, member(peerB, id.PeerID{}, 2, 30), member(peerC, id.PeerID{}, 3, 30),
	})
	f = tr.observe(secondsFromNow(4.5), []observation{
		{peer: peerA, killed: true}, member(peerB, peerC, 3, 30), member(peerC, peerC, 3, 30),
	})
	if !strings.Contains(eventTexts(f), "new leader: "+peerC.Short()+" (term 3), 1s after the kill") {
		t.Fatalf("no failover event in %q", eventTexts(f))
	}
	if strings.Contains(eventTexts(f), "commits continue") {
		t.Fatalf("commits reported before any: %q", eventTexts(f))
	}
	f = tr.observe(secondsFromNow(5), []observation{
		{peer: peerA, killed: true}, member(peerB, peerC, 3, 31), member(peerC, peerC, 3, 32),
	})
	if !strings.Contains(eventTexts(f), "commits continue: "+peerB.Short()+" applied index 31") {
		t.Fatalf("no resume event in %q", eventTexts(f))
	}
	if f.rows[0].role != roleKilled {
		t.Fatalf("killed node shows as %q", f.rows[0].role)
	}

	sum := tr.summary()
	if err := sum.check(); err != nil {
		t.Fatalf("check: %v", err)
	}
	fo, ok := sum.failover()
	if !ok || fo.peer != peerC || fo.term != 3 || sum.finalIndex != 32 || sum.killIndex != 30 {
		t.Fatalf("summary %+v, failover %+v", sum, fo)
	}
}

func TestTrackerStaleLeader(t *testing.T) {
	// An old leader that has not heard of its successor still says it
	// leads; the higher term wins.
	tr := newTracker(epoch, time.Second)
	f := tr.observe(secondsFromNow(1), []observation{
		member(peerA, peerA, 2, 5), member(peerB, peerB, 3, 5),
	})
	if want := "leader elected: " + peerB.Short() + " (term 3)"; eventTexts(f) != want {
		t.Fatalf("events %q, want %q", eventTexts(f), want)
	}
	f = tr.observe(secondsFromNow(2), []observation{member(peerB, peerB, 4, 6)})
	if !strings.HasSuffix(eventTexts(f), "leader "+peerB.Short()+" re-elected (term 4)") {
		t.Fatalf("events %q", eventTexts(f))
	}
}

func TestTrackerKeepsLatestEvents(t *testing.T) {
	tr := newTracker(epoch, time.Second)
	for i := range maxEvents + 5 {
		tr.note(secondsFromNow(float64(i)), "event %d", i)
	}
	f := tr.redraw(secondsFromNow(100))
	if len(f.events) != maxEvents || f.events[0].text != "event 5" || f.events[maxEvents-1].seq != maxEvents+5 {
		t.Fatalf("events %+v", f.events)
	}
}

func TestSummaryCheck(t *testing.T) {
	elected := []leadership{{peer: peerA, term: 2, at: time.Second}}
	failedOver := append(elected[:1:1], leadership{peer: peerB, term: 3, at: 5 * time.Second})
	tests := []struct {
		name string
		s    summary
		want string // substring of the error; empty for none
	}{
		{"never elected", summary{}, "no leader"},
		{"no kill", summary{leaders: elected}, ""},
		{"no failover", summary{leaders: elected, killed: peerA, killAt: 4 * time.Second}, "no new leader"},
		{"stalled", summary{leaders: failedOver, killed: peerA, killAt: 4 * time.Second, killIndex: 9, finalIndex: 9}, "no commits"},
		{"failover", summary{leaders: failedOver, killed: peerA, killAt: 4 * time.Second, killIndex: 9, finalIndex: 10}, ""},
	}
	if _, ok := (summary{leaders: elected}).failover(); ok {
		t.Error("a failover without a kill")
	}
	for _, tt := range tests {
		err := tt.s.check()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}
