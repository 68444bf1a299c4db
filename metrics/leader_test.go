package metrics

import "testing"

func TestLeaderStateObserve(t *testing.T) {
	tests := []struct {
		name             string
		prev             leaderState
		term, leader     uint64
		want             leaderState
		election, change bool
	}{
		{name: "first event names a leader", term: 1, leader: 7, want: leaderState{1, 7}, election: true, change: true},
		{name: "new term, no leader yet", prev: leaderState{1, 7}, term: 2, want: leaderState{2, 7}, election: true},
		{name: "same leader re-elected after a leaderless spell", prev: leaderState{2, 7}, term: 2, leader: 7, want: leaderState{2, 7}},
		{name: "another leader wins a new term", prev: leaderState{2, 7}, term: 3, leader: 9, want: leaderState{3, 9}, election: true, change: true},
		{name: "repeated event", prev: leaderState{3, 9}, term: 3, leader: 9, want: leaderState{3, 9}},
		{name: "new shard restarts terms", prev: leaderState{12, 9}, term: 1, leader: 4, want: leaderState{1, 4}, election: true, change: true},
		{name: "term zero is no election", prev: leaderState{3, 9}, term: 0, want: leaderState{3, 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, election, change := tt.prev.observe(tt.term, tt.leader)
			if got != tt.want || election != tt.election || change != tt.change {
				t.Fatalf("observe(%d, %d) from %+v = %+v, election %v, change %v; want %+v, %v, %v",
					tt.term, tt.leader, tt.prev, got, election, change, tt.want, tt.election, tt.change)
			}
		})
	}
}
