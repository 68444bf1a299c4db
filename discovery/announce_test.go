package discovery

import (
	"testing"

	"github.com/mosaikgo/mosaik/id"
)

func TestAnnounceTo(t *testing.T) {
	g1, g2 := id.Of("g1"), id.Of("g2")
	self := peerAt(0)
	member := func(n int, gs ...id.GroupID) Entry {
		return Entry{Peer: peerAt(n), Addrs: []string{"a"}, Groups: gs}
	}
	peers := []Entry{
		member(3, g1), member(1, g1, g2), member(2), member(4, g2),
		{Peer: peerAt(5), Groups: []id.GroupID{g1}},                                        // no address
		{Peer: peerAt(6), Addrs: []string{"a"}, Groups: []id.GroupID{g1}, Departing: true}, // leaving
		member(0, g1), // ourselves
	}
	for _, tc := range []struct {
		name       string
		prev, next Entry
		limit      int
		want       []int
	}{
		{"no new group", Entry{Peer: self, Groups: []id.GroupID{g1}}, Entry{Peer: self, Groups: []id.GroupID{g1}}, 16, nil},
		{"joined g1", Entry{Peer: self}, Entry{Peer: self, Groups: []id.GroupID{g1}}, 16, []int{1, 3}},
		{"joined g2 beside g1", Entry{Peer: self, Groups: []id.GroupID{g1}}, Entry{Peer: self, Groups: []id.GroupID{g1, g2}}, 16, []int{1, 4}},
		{"joined both, capped", Entry{Peer: self}, Entry{Peer: self, Groups: []id.GroupID{g1, g2}}, 2, []int{1, 3}},
		{"left a group", Entry{Peer: self, Groups: []id.GroupID{g1}}, Entry{Peer: self}, 16, nil},
		{"departing", Entry{Peer: self}, Entry{Peer: self, Groups: []id.GroupID{g1}, Departing: true}, 16, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AnnounceTo(tc.prev, tc.next, peers, tc.limit)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d peers, want %v", len(got), tc.want)
			}
			for i, n := range tc.want {
				if got[i].Peer != peerAt(n) {
					t.Fatalf("peer %d is %s, want peer %d", i, got[i].Peer.Short(), n)
				}
			}
		})
	}
}

// peerAt is a peer id that sorts by n.
func peerAt(n int) id.PeerID {
	var p id.PeerID
	p[0] = byte(n + 1)
	return p
}
