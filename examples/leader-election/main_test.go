package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/actors"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/testkit"
)

func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }

func TestWorkFollowsTheLeader(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	rep, err := run(ctx, &out, 3, 2)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if rep.first.IsZero() || rep.second.IsZero() || rep.first == rep.second {
		t.Fatalf("leaders %v then %v, want two different ones\n%s", rep.first, rep.second, out.String())
	}
	// The work ran on the first leader, then on the second, never
	// interleaved, and the second leader's term is the later one.
	var firstTerm, secondTerm uint64
	moved := false
	for i, tk := range rep.ticks {
		switch {
		case tk.node == rep.first && !moved:
			firstTerm = tk.term
		case tk.node == rep.second:
			moved = true
			secondTerm = tk.term
		default:
			t.Fatalf("tick %d by %v after the work moved to %v\n%s", i, tk.node, rep.second, out.String())
		}
	}
	if firstTerm == 0 || secondTerm <= firstTerm {
		t.Fatalf("terms %d then %d, want increasing\n%s", firstTerm, secondTerm, out.String())
	}
	if !strings.Contains(out.String(), "the work moved from "+rep.first.Short()+" to "+rep.second.Short()) {
		t.Fatalf("no summary line in:\n%s", out.String())
	}
}

func TestRunRefusesTooFewNodes(t *testing.T) {
	if _, err := run(context.Background(), &bytes.Buffer{}, 2, 1); err == nil {
		t.Fatal("two nodes accepted")
	}
}

func TestCommitteeSize(t *testing.T) {
	for n, want := range map[int]int{1: 1, 2: 1, 3: 3, 4: 3, 5: 5, 6: 5, 9: 5} {
		if got := committeeSize(n); got != want {
			t.Errorf("committeeSize(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestSettled(t *testing.T) {
	a, b, c := id.SecretKeyFromSeed("a").PeerID(), id.SecretKeyFromSeed("b").PeerID(), id.SecretKeyFromSeed("c").PeerID()
	g1, g2 := groups.Genesis{1}, groups.Genesis{2}
	view := func(g groups.Genesis, leader id.PeerID, voters int) actors.Consensus {
		return actors.Consensus{Genesis: g, Running: true, Leader: leader, Voters: voters}
	}
	selves := []id.PeerID{a, b, c}
	for _, tc := range []struct {
		name  string
		views []actors.Consensus
		ok    bool
	}{
		{"one shard, full committee", []actors.Consensus{view(g1, a, 3), view(g1, a, 0), view(g1, a, 0)}, true},
		{"committee still growing", []actors.Consensus{view(g1, a, 1), view(g1, a, 0), view(g1, a, 0)}, false},
		{"rival shards", []actors.Consensus{view(g1, a, 3), view(g1, a, 0), view(g2, c, 1)}, false},
		{"leaders disagree", []actors.Consensus{view(g1, a, 3), view(g1, b, 3), view(g1, a, 0)}, false},
		{"a member offline", []actors.Consensus{view(g1, a, 3), view(g1, a, 0), {Genesis: g1, Leader: a}}, false},
		{"leader outside the members", []actors.Consensus{view(g1, id.SecretKeyFromSeed("d").PeerID(), 0), view(g1, id.SecretKeyFromSeed("d").PeerID(), 0), view(g1, id.SecretKeyFromSeed("d").PeerID(), 0)}, false},
	} {
		leader, ok := settled(selves, tc.views)
		if ok != tc.ok || (ok && leader != a) {
			t.Errorf("%s: settled = %v, %v", tc.name, leader.Short(), ok)
		}
	}
	if _, ok := settled(selves, nil); ok {
		t.Error("no views settled")
	}
}
