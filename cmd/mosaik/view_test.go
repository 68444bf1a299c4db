package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/groups"
)

// failoverFrame is a frame taken just after a failover.
func failoverFrame() frame {
	return frame{
		elapsed: 7200 * time.Millisecond,
		phase:   "running, leader killed",
		ok:      120, failed: 3,
		rows: []nodeRow{
			{observation: observation{peer: peerA, killed: true}, role: roleKilled},
			{observation: member(peerB, peerC, 3, 140), role: roleFollower, rate: 38.5},
			{observation: member(peerC, peerC, 3, 141), role: roleLeader, rate: 39},
		},
		events: []event{
			{seq: 1, at: 1500 * time.Millisecond, text: "leader elected: " + peerA.Short() + " (term 2)"},
			{seq: 2, at: 5 * time.Second, text: "killed " + peerA.Short() + ", the leader, at index 100"},
		},
	}
}

func TestRenderFrame(t *testing.T) {
	got := renderFrame(plainStyles(), "title", failoverFrame())
	if strings.Contains(got, "\x1b[") {
		t.Fatalf("plain styles rendered escape codes:\n%q", got)
	}
	lines := strings.Split(got, "\n")
	want := []string{
		"title",
		"t+7.2s  running, leader killed  commands: 120 committed, 3 refused",
		"",
		"NODE        ROLE      TERM  LEADER      COMMITTED  BONDS  CATALOG  COMMITS/S",
		peerA.Short() + "  killed       -  -                   -      -        -          -",
		peerB.Short() + "  follower     3  " + peerC.Short() + "        140      2        3       38.5",
		peerC.Short() + "  leader       3  " + peerC.Short() + "        141      2        3       39.0",
		"",
		"events",
		"  +1.50s  leader elected: " + peerA.Short() + " (term 2)",
		"  +5.00s  killed " + peerA.Short() + ", the leader, at index 100",
	}
	for i, w := range want {
		if i >= len(lines) || lines[i] != w {
			t.Fatalf("line %d:\n got %q\nwant %q\nwhole view:\n%s", i, lines[min(i, len(lines)-1)], w, got)
		}
	}
}

func TestPlainPrinter(t *testing.T) {
	var out bytes.Buffer
	p := &plainPrinter{w: &out, interval: time.Second}
	f := failoverFrame()
	p.show(f) // events, then a status block
	f.elapsed += 500 * time.Millisecond
	p.show(f) // nothing new, no status due
	f.elapsed += time.Second
	f.events = append(f.events, event{seq: 3, at: f.elapsed, text: "new leader"})
	p.show(f) // the new event and a status block
	got := out.String()
	if n := strings.Count(got, "leader elected"); n != 1 {
		t.Errorf("old event printed %d times", n)
	}
	if n := strings.Count(got, "status "+peerB.Short()); n != 2 {
		t.Errorf("%d status lines for one node, want 2", n)
	}
	for _, w := range []string{
		"  +8.70s  event  new leader\n",
		"+7.20s  status " + peerA.Short() + " killed\n",
		"+7.20s  status " + peerC.Short() + " leader   term=3 leader=" + peerC.Short() + " committed=141 bonds=2 catalog=3 commits/s=39.0\n",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
}

func TestLiveView(t *testing.T) {
	m := liveView{st: plainStyles(), title: "demo", frame: failoverFrame()}
	if v := m.View(); !strings.Contains(v, "killed") || !strings.Contains(v, "ctrl+c: stop") {
		t.Fatalf("view after a frame:\n%s", v)
	}
	m.stopping = true
	if v := m.View(); !strings.Contains(v, "stopping: closing the nodes") {
		t.Fatalf("view while stopping:\n%s", v)
	}
	m.done = true
	if v := m.View(); !strings.HasSuffix(v, "done\n") {
		t.Fatalf("final view:\n%s", v)
	}
}

// TestScreenRedrawsInPlace: the first draw hides the cursor, each later
// one moves up over exactly the lines drawn before and clears below;
// lines wider than the terminal are cut, escape codes kept whole.
func TestScreenRedrawsInPlace(t *testing.T) {
	var out strings.Builder
	width := 0
	s := &screen{w: &out, width: func() int { return width }}
	s.draw("a\nb\nc\n")
	if got, want := out.String(), hideCursor+clearBelow+"a\nb\nc\n"; got != want {
		t.Fatalf("first draw %q, want %q", got, want)
	}
	out.Reset()
	width = 5
	s.draw("\x1b[1mlonger line\x1b[0m\nx")
	if got, want := out.String(), "\x1b[3A"+clearBelow+"\x1b[1mlong\x1b[0m\nx\n"; got != want {
		t.Fatalf("second draw %q, want %q", got, want)
	}
	out.Reset()
	s.draw("y\n")
	s.close()
	if got, want := out.String(), "\x1b[2A"+clearBelow+"y\n"+showCursor; got != want {
		t.Fatalf("third draw and close %q, want %q", got, want)
	}
}

// TestStatusLineSaysWhatItWaitsFor: while the group forms, a node's line
// says why it cannot take commands yet, and stops saying it once it can.
func TestStatusLineSaysWhatItWaitsFor(t *testing.T) {
	r := nodeRow{observation: observation{peer: peerA, catalog: 2, waiting: groups.ReasonSeeking}, role: roleOffline}
	if got := statusLine(time.Second, r); !strings.HasSuffix(got, "commits/s=0.0 waiting: "+groups.ReasonSeeking) {
		t.Fatalf("offline line %q", got)
	}
	r.waiting, r.role = "", roleLeader
	if got := statusLine(time.Second, r); strings.Contains(got, "waiting") {
		t.Fatalf("online line %q", got)
	}
}
