package actors_test

import (
	"context"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/actors"
	"github.com/mosaikgo/mosaik/transport/memnet"
)

// discoveryOnly is a discovery actor on an in-memory endpoint with no
// memberlist attached: nothing gossips, so entries move only over sync
// links.
type discoveryOnly struct {
	d  *actors.Discovery
	ep *memnet.Endpoint
}

func startDiscoveryOnly(t *testing.T, net *memnet.Network, network id.NetworkID) discoveryOnly {
	t.Helper()
	key := id.NewSecretKey()
	ep, err := net.Listen(key, memnet.EndpointConfig{})
	if err != nil {
		t.Fatal(err)
	}
	sys, err := actors.NewSystem(actors.SystemConfig{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := actors.StartDiscovery(sys, actors.DiscoveryParams{
		Key: key, Network: network, Endpoint: ep,
		Local: discovery.Entry{Addrs: []string{ep.Addr()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = sys.Close(ctx)
		_ = ep.Close()
	})
	return discoveryOnly{d: d, ep: ep}
}

func waitCatalog(ctx context.Context, d *actors.Discovery, cond func(*discovery.Snapshot) bool) error {
	for {
		snap := d.Catalog()
		if cond(snap) {
			return nil
		}
		select {
		case <-snap.Changed():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// TestNewMembershipIsAnnouncedToMembers: a node that joins a group hands
// its new entry straight to the group's members it knows, so they can
// bond without waiting for gossip. With no gossip running at all, the
// member still learns of the membership.
func TestNewMembershipIsAnnouncedToMembers(t *testing.T) {
	net := memnet.New(memnet.Config{})
	t.Cleanup(func() { _ = net.Close() })
	network := id.Of("announce")
	member, joiner := startDiscoveryOnly(t, net, network), startDiscoveryOnly(t, net, network)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g := id.Of("group")

	if err := member.d.UpdateLocal(ctx, func(e *discovery.Entry) { e.Groups = append(e.Groups, g) }); err != nil {
		t.Fatal(err)
	}
	// The two exchange catalogs once: each now knows the other as it was.
	if err := joiner.d.SyncWith(ctx, member.d.Catalog().Local().Peer, member.ep.Addr()); err != nil {
		t.Fatal(err)
	}
	joinerID := joiner.d.Catalog().Local().Peer
	if e, ok := member.d.Catalog().Get(joinerID); !ok || e.InGroup(g) {
		t.Fatalf("after the sync the member holds the joiner's entry %v (%+v), without the group", ok, e)
	}

	if err := joiner.d.UpdateLocal(ctx, func(e *discovery.Entry) { e.Groups = append(e.Groups, g) }); err != nil {
		t.Fatal(err)
	}
	err := waitCatalog(ctx, member.d, func(s *discovery.Snapshot) bool {
		e, ok := s.Get(joinerID)
		return ok && e.InGroup(g)
	})
	if err != nil {
		t.Fatalf("the member never learned of the joiner's membership: %v", err)
	}
}
