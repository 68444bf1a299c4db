package settle

import (
	"testing"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
)

func TestCommitteeSize(t *testing.T) {
	for n, want := range map[int]int{1: 1, 2: 1, 3: 3, 4: 3, 5: 5, 6: 5, 9: 5} {
		if got := CommitteeSize(n); got != want {
			t.Errorf("CommitteeSize(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestSettled(t *testing.T) {
	a, b, c := id.SecretKeyFromSeed("a").PeerID(), id.SecretKeyFromSeed("b").PeerID(), id.SecretKeyFromSeed("c").PeerID()
	g1, g2 := groups.Genesis{1}, groups.Genesis{2}
	view := func(g groups.Genesis, leader id.PeerID, voters int) cluster.Consensus {
		return cluster.Consensus{View: groups.View{Genesis: g, Running: true, Leader: leader, Voters: voters, Joined: true}}
	}
	joining := view(g1, a, 1)
	joining.Joined = false
	selves := []id.PeerID{a, b, c}
	for _, tc := range []struct {
		name  string
		views []cluster.Consensus
		ok    bool
	}{
		{"one shard, everyone joined", []cluster.Consensus{view(g1, a, 3), view(g1, a, 3), view(g1, a, 3)}, true},
		{"a member still joining", []cluster.Consensus{view(g1, a, 1), joining, view(g1, a, 1)}, false},
		{"rival shards", []cluster.Consensus{view(g1, a, 3), view(g1, a, 0), view(g2, c, 1)}, false},
		{"leaders disagree", []cluster.Consensus{view(g1, a, 3), view(g1, b, 3), view(g1, a, 0)}, false},
		{"a member offline", []cluster.Consensus{view(g1, a, 3), view(g1, a, 0), {View: groups.View{Genesis: g1, Leader: a}}}, false},
		{"leader outside the members", []cluster.Consensus{view(g1, id.SecretKeyFromSeed("d").PeerID(), 0), view(g1, id.SecretKeyFromSeed("d").PeerID(), 0), view(g1, id.SecretKeyFromSeed("d").PeerID(), 0)}, false},
	} {
		leader, ok := Settled(selves, tc.views)
		if ok != tc.ok || (ok && leader != a) {
			t.Errorf("%s: settled = %v, %v", tc.name, leader.Short(), ok)
		}
	}
	if _, ok := Settled(selves, nil); ok {
		t.Error("no views settled")
	}
}
