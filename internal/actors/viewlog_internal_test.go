package actors

import (
	"errors"
	"testing"

	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
)

func TestViewEvents(t *testing.T) {
	a, b := id.NewSecretKey().PeerID(), id.NewSecretKey().PeerID()
	g1, g2 := groups.Genesis{1}, groups.Genesis{2}
	running := groups.View{Phase: groups.PhaseRunning, Genesis: g1}
	withLeader := func(v groups.View, p id.PeerID) groups.View { v.Leader = p; return v }
	for _, tc := range []struct {
		name       string
		prev, next groups.View
		want       []string
	}{
		{"nothing", running, running, nil},
		{"elected", running, withLeader(running, a), []string{"INFO group leader elected"}},
		{"changed", withLeader(running, a), withLeader(running, b), []string{"INFO group leader elected"}},
		{"lost", withLeader(running, a), running, []string{"WARN group leader lost"}},
		{"reforming", running, groups.View{Phase: groups.PhaseReforming, Genesis: g1}, []string{"WARN group cut off from its quorum; re-forming a new shard from local state"}},
		{"new shard", running, groups.View{Phase: groups.PhaseRunning, Genesis: g2}, []string{"INFO group shard changed"}},
		{"failed", running, groups.View{Phase: groups.PhaseFailed, Genesis: g1, Failed: errors.New("boom")}, []string{"ERROR group stopped"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range viewEvents(tc.prev, tc.next) {
				got = append(got, e.level.String()+" "+e.msg)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
			}
		})
	}
}
