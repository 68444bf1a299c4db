package actors_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/transport/memnet"
)

// TestPushPullSenderIsHandedWhatItLacks: a node merging a joiner's
// push-pull state (its first contact) hands the joiner, over a sync link,
// the entries the state did not list; with no gossip running, that is
// how the joiner learns of a peer that the seed learned of meanwhile. A
// sender failure detection does not list gets nothing.
func TestPushPullSenderIsHandedWhatItLacks(t *testing.T) {
	mem := memnet.New(memnet.Config{})
	t.Cleanup(func() { _ = mem.Close() })
	network := id.Of("push-back")
	seed, other, joiner, stranger := startDiscoveryOnly(t, mem, network), startDiscoveryOnly(t, mem, network),
		startDiscoveryOnly(t, mem, network), startDiscoveryOnly(t, mem, network)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	otherID := other.d.Catalog().Local().Peer

	seed.d.Offer(other.d.Catalog().LocalSigned().Proto())
	if err := waitCatalog(ctx, seed.d, func(s *discovery.Snapshot) bool { _, ok := s.Get(otherID); return ok }); err != nil {
		t.Fatalf("the seed never took the other peer's entry: %v", err)
	}

	// The stranger's state arrives by push-pull, but memberlist never
	// reported it: nothing goes back.
	seed.d.Delegate().MergeRemoteState(stranger.d.Delegate().LocalState(true), true)
	// The joiner's does, after memberlist reported it, as a join does.
	joinerID := joiner.d.Catalog().Local().Peer
	seed.d.EventDelegate().NotifyJoin(&memberlist.Node{Name: joinerID.String(), Addr: net.IPv4(127, 0, 0, 1), Port: 1})
	seed.d.Delegate().MergeRemoteState(joiner.d.Delegate().LocalState(true), true)

	if err := waitCatalog(ctx, joiner.d, func(s *discovery.Snapshot) bool { _, ok := s.Get(otherID); return ok }); err != nil {
		t.Fatalf("the joiner never learned of the other peer: %v", err)
	}
	if err := seed.d.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	if n := seed.d.Stats().PushBacks.Load(); n != 1 {
		t.Fatalf("the seed started %d push-backs, want 1 (the joiner's)", n)
	}
	if _, ok := stranger.d.Catalog().Get(otherID); ok {
		t.Fatal("the stranger was handed the seed's catalog")
	}
}
