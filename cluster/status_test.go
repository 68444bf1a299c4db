package cluster_test

import (
	"testing"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/testkit"
)

// TestPeerGroupStatus: a node that joined no group asks a member for its
// view of the group over the network and gets what the member itself
// reports: the leader all members agree on, term, committee, the applied
// index past the writes.
func TestPeerGroupStatus(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	cfg := counterGroup("status")
	gs := c.JoinAll(cfg, 0, 1)
	leader := waitLeader(t, ctx, gs)
	idx := add(t, ctx, gs[0], 3)

	asker := c.Node(2)
	if got := asker.GroupStatus(); len(got) != 0 {
		t.Fatalf("a node in no group reports %d groups", len(got))
	}
	if err := c.DiscoverAll(ctx); err != nil {
		t.Fatal(err)
	}
	var st []cluster.GroupStatus
	err := testkit.WaitFor(ctx, func() bool {
		var err error
		st, err = asker.PeerGroupStatus(ctx, c.Node(1).PeerID())
		if err != nil {
			t.Logf("status: %v", err)
			return false
		}
		return len(st) == 1 && st[0].Applied >= idx && st[0].Online
	})
	if err != nil {
		t.Fatalf("member 1's status never showed index %d online: %+v (%v)", idx, st, err)
	}
	s := st[0]
	local := gs[1].Status()
	if s.Group != cfg.ID() || s.Leader != leader || s.Term == 0 || s.Term != local.Term ||
		s.Phase != "running" || s.Genesis != local.Genesis || s.Replica != local.Replica || s.Bonds != 1 {
		t.Fatalf("remote status %+v; member's own %+v; leader %s", s, local, leader.Short())
	}
	if s.Voters < 1 || s.Voters > 2 {
		t.Fatalf("committee of %d for a 2-member group", s.Voters)
	}

	if _, err := asker.PeerGroupStatus(ctx, id.PeerID{}); err == nil {
		t.Fatal("status of a peer not in the catalog did not fail")
	}
}
