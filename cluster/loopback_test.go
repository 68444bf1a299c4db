package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
)

// startLoopback starts a node on real QUIC and real memberlist over
// loopback, closed at the end of the test.
func startLoopback(t *testing.T, network string, seeds ...string) *Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := Start(ctx, Config{Network: network, Bootstrap: seeds, Discovery: discovery.FastConfig()})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return n
}

func waitLen(t *testing.T, n *Node, want int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.WaitCatalog(ctx, func(s *discovery.Snapshot) bool { return s.Len() == want }); err != nil {
		t.Fatalf("node %s: %v (want %d entries)", n.PeerID().Short(), err, want)
	}
}

// TestLoopbackDiscovery runs discovery on real sockets: three nodes with
// one seed find each other, see a tag change, and see a graceful leave.
func TestLoopbackDiscovery(t *testing.T) {
	seed := startLoopback(t, "loopback-net")
	a := startLoopback(t, "loopback-net", seed.GossipAddr())
	b := startLoopback(t, "loopback-net", seed.GossipAddr())
	for _, n := range []*Node{seed, a, b} {
		waitLen(t, n, 3)
	}

	entry, ok := b.Catalog().Get(a.PeerID())
	if !ok || entry.Addrs[0] != a.Addr() || entry.GossipAddr != a.GossipAddr() {
		t.Fatalf("b's entry for a = %+v, want addr %s gossip %s", entry, a.Addr(), a.GossipAddr())
	}

	events := seed.Subscribe()
	defer events.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.AddTags(ctx, id.Of("web")); err != nil {
		t.Fatalf("AddTags: %v", err)
	}
	for _, n := range []*Node{seed, b} {
		if err := n.WaitCatalog(ctx, func(s *discovery.Snapshot) bool {
			e, ok := s.Get(a.PeerID())
			return ok && e.HasTag(id.Of("web"))
		}); err != nil {
			t.Fatalf("tag not seen: %v", err)
		}
	}

	if err := b.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for {
		ev, err := events.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for b's departure: %v", err)
		}
		if d, ok := ev.(discovery.PeerDeparted); ok && d.Entry.Peer == b.PeerID() {
			if d.Reason != discovery.DepartedLeft {
				t.Fatalf("departure reason %v, want left", d.Reason)
			}
			break
		}
	}
	if err := b.AddTags(ctx, id.Of("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("AddTags after Close: %v", err)
	}
}
