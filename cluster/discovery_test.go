package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/feed"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/testkit"
	"github.com/mosaikgo/mosaik/transport"
	"github.com/mosaikgo/mosaik/transport/memnet"
)

func TestTenNodesWithOneSeedSeeEveryone(t *testing.T) {
	c := testkit.NewCluster(t, 10, testkit.Options{})
	ctx := testkit.Context(t)
	if err := c.DiscoverAll(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		snap := c.Node(i).Catalog()
		if snap.Len() != 10 || len(snap.Peers()) != 9 {
			t.Fatalf("node %d: %d entries, %d peers; want 10 and 9", i, snap.Len(), len(snap.Peers()))
		}
		for _, e := range snap.Peers() {
			if e.Network != c.Node(i).NetworkID() || len(e.Addrs) == 0 || e.GossipAddr == "" {
				t.Fatalf("node %d holds an incomplete entry: %+v", i, e)
			}
		}
	}
}

// TestLoopbackDiscovery runs discovery on real QUIC and memberlist
// sockets: nodes with one seed find each other, see a tag change, and see
// a graceful leave for what it is.
func TestLoopbackDiscovery(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{Loopback: true})
	ctx := testkit.Context(t)
	if err := c.DiscoverAll(ctx); err != nil {
		t.Fatal(err)
	}
	a, b := c.Node(1), c.Node(2)
	entry, ok := b.Catalog().Get(a.PeerID())
	if !ok || entry.Addrs[0] != a.Addr() || entry.GossipAddr != a.GossipAddr() {
		t.Fatalf("b's entry for a = %+v, want addr %s gossip %s", entry, a.Addr(), a.GossipAddr())
	}
	events := c.Node(0).Subscribe()
	defer events.Close()
	if err := a.AddTags(ctx, id.Of("web")); err != nil {
		t.Fatalf("AddTags: %v", err)
	}
	waitTag(t, ctx, c.Node(0), a.PeerID(), "web")
	c.Close(2)
	if d := nextDeparture(t, ctx, events, b.PeerID()); d.Reason != discovery.DepartedLeft {
		t.Fatalf("departure reason %v, want left", d.Reason)
	}
}

func waitTag(t *testing.T, ctx context.Context, n *cluster.Node, peer id.PeerID, tag string) {
	t.Helper()
	if err := n.WaitCatalog(ctx, func(s *discovery.Snapshot) bool {
		e, ok := s.Get(peer)
		return ok && e.HasTag(id.Of(tag))
	}); err != nil {
		t.Fatalf("node %s never saw tag %q on %s: %v", n.PeerID().Short(), tag, peer.Short(), err)
	}
}

// nextDeparture reads events until peer departs.
func nextDeparture(t *testing.T, ctx context.Context, sub *feed.Subscription[discovery.Event], peer id.PeerID) discovery.PeerDeparted {
	t.Helper()
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %s to depart: %v", peer.Short(), err)
		}
		if d, ok := ev.(discovery.PeerDeparted); ok && d.Entry.Peer == peer {
			return d
		}
	}
}

func nextDiscovery(t *testing.T, ctx context.Context, sub *feed.Subscription[discovery.Event], peer id.PeerID) {
	t.Helper()
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %s to be discovered: %v", peer.Short(), err)
		}
		if d, ok := ev.(discovery.PeerDiscovered); ok && d.Entry.Peer == peer {
			return
		}
	}
}

// TestNetworksSharingSeedsStayIsolated starts two networks on one wire
// and makes every node try to sync with every other: each network only
// ever lists its own nodes.
func TestNetworksSharingSeedsStayIsolated(t *testing.T) {
	c := testkit.NewCluster(t, 5, testkit.Options{
		NoBootstrap: true,
		Configure: func(i int, cfg *cluster.Config) {
			cfg.Network = map[bool]string{true: "net-a", false: "net-b"}[i < 2]
		},
	})
	ctx := testkit.Context(t)
	sameNet := func(i, j int) bool { return (i < 2) == (j < 2) }
	syncAll := func() {
		for i := range 5 {
			for j := range 5 {
				if i == j {
					continue
				}
				err := c.Node(i).SyncWith(ctx, c.Node(j).GossipAddr())
				if sameNet(i, j) && err != nil {
					t.Fatalf("sync %d->%d within a network: %v", i, j, err)
				}
				if !sameNet(i, j) && err == nil {
					t.Fatalf("sync %d->%d across networks succeeded", i, j)
				}
			}
		}
	}
	syncAll()
	for i := range 5 {
		want := map[bool]int{true: 1, false: 2}[i < 2]
		if err := c.Node(i).WaitCatalog(ctx, func(s *discovery.Snapshot) bool { return len(s.Peers()) == want }); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
	syncAll() // every cross-network exchange has now been tried twice
	for i := range 5 {
		for _, e := range c.Node(i).Catalog().Peers() {
			if e.Network != c.Node(i).NetworkID() {
				t.Fatalf("node %d lists %s of another network", i, e.Peer.Short())
			}
		}
	}
}

// TestSyncWithTurnsAnUnknownPeerIntoASignedEntry: two nodes that know
// nothing of each other exchange state once and both hold the other's
// signed entry.
func TestSyncWithTurnsAnUnknownPeerIntoASignedEntry(t *testing.T) {
	c := testkit.NewCluster(t, 2, testkit.Options{NoBootstrap: true})
	ctx := testkit.Context(t)
	a, b := c.Node(0), c.Node(1)
	if a.Catalog().Len() != 1 || b.Catalog().Len() != 1 {
		t.Fatal("nodes without a seed already know each other")
	}
	if err := a.SyncWith(ctx, b.GossipAddr()); err != nil {
		t.Fatalf("SyncWith: %v", err)
	}
	if err := c.DiscoverAll(ctx); err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]*cluster.Node{{a, b}, {b, a}} {
		e, _ := pair[0].Catalog().Get(pair[1].PeerID())
		if e.Peer != pair[1].PeerID() || e.Addrs[0] != pair[1].Addr() {
			t.Fatalf("%s holds %+v for %s", pair[0].PeerID().Short(), e, pair[1].PeerID().Short())
		}
	}
}

// TestSyncsMergeBeforeTheyReturn: a caller reads the catalog right after
// a sync and finds what it exchanged, without waiting: SyncWith's reply is
// merged before it returns, and over SyncWithPeer both sides merge before
// they go on.
func TestSyncsMergeBeforeTheyReturn(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{NoBootstrap: true})
	ctx := testkit.Context(t)
	a, b, outsider := c.Node(0), c.Node(1), c.Node(2)
	if err := a.SyncWith(ctx, b.GossipAddr()); err != nil {
		t.Fatalf("SyncWith: %v", err)
	}
	if _, ok := a.Catalog().Get(b.PeerID()); !ok {
		t.Fatal("right after SyncWith the catalog lacks the peer synced with")
	}
	if err := outsider.SyncWithPeer(ctx, a.PeerID(), a.Addr()); err != nil {
		t.Fatalf("SyncWithPeer: %v", err)
	}
	for _, p := range []*cluster.Node{a, b} {
		if _, ok := outsider.Catalog().Get(p.PeerID()); !ok {
			t.Fatalf("right after SyncWithPeer the outsider lacks %s, which a held", p.PeerID().Short())
		}
	}
	if _, ok := a.Catalog().Get(outsider.PeerID()); !ok {
		t.Fatal("the peer answered SyncWithPeer before it merged the outsider's entry")
	}
}

func TestTagChangeReachesEveryone(t *testing.T) {
	c := testkit.NewCluster(t, 5, testkit.Options{})
	ctx := testkit.Context(t)
	if err := c.DiscoverAll(ctx); err != nil {
		t.Fatal(err)
	}
	n3 := c.Node(3)
	if err := n3.AddTags(ctx, id.Of("web"), id.Of("eu")); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		waitTag(t, ctx, c.Node(i), n3.PeerID(), "eu")
	}
	if err := n3.RemoveTags(ctx, id.Of("web")); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := c.Node(i).WaitCatalog(ctx, func(s *discovery.Snapshot) bool {
			e, _ := s.Get(n3.PeerID())
			return !e.HasTag(id.Of("web")) && e.HasTag(id.Of("eu"))
		}); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
}

func subscribeAll(c *testkit.Cluster, except int) map[int]*feed.Subscription[discovery.Event] {
	subs := map[int]*feed.Subscription[discovery.Event]{}
	for _, i := range c.Live() {
		if i != except {
			subs[i] = c.Node(i).Subscribe()
		}
	}
	return subs
}

func TestKilledNodeDepartsAsDead(t *testing.T) {
	c := testkit.NewCluster(t, 5, testkit.Options{})
	ctx := testkit.Context(t)
	if err := c.DiscoverAll(ctx); err != nil {
		t.Fatal(err)
	}
	victim := c.Node(2).PeerID()
	subs := subscribeAll(c, 2)
	c.Kill(2)
	for i, sub := range subs {
		if d := nextDeparture(t, ctx, sub, victim); d.Reason != discovery.DepartedDead {
			t.Fatalf("node %d: reason %v, want dead", i, d.Reason)
		}
		sub.Close()
	}
	if err := c.DiscoverAll(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestClosedNodeDepartsAsLeft(t *testing.T) {
	c := testkit.NewCluster(t, 5, testkit.Options{})
	ctx := testkit.Context(t)
	if err := c.DiscoverAll(ctx); err != nil {
		t.Fatal(err)
	}
	leaver := c.Node(4).PeerID()
	subs := subscribeAll(c, 4)
	c.Close(4)
	// "left" can only come from the farewell, which arrives before Close
	// returns; failure detection would have said "dead".
	for i, sub := range subs {
		if d := nextDeparture(t, ctx, sub, leaver); d.Reason != discovery.DepartedLeft {
			t.Fatalf("node %d: reason %v, want left", i, d.Reason)
		}
		sub.Close()
	}
}

// shortPurge makes PurgeAfter short enough to pass within a test.
func shortPurge() discovery.Config {
	cfg := discovery.FastConfig()
	cfg.PurgeAfter = time.Second
	return cfg
}

// TestPartitionedPeerIsForgottenAndRediscovered cuts a node off for longer
// than PurgeAfter: it departs as dead, its kept entry is forgotten, and
// once the partition heals it is discovered again by everyone.
func TestPartitionedPeerIsForgottenAndRediscovered(t *testing.T) {
	c := testkit.NewCluster(t, 4, testkit.Options{Discovery: shortPurge()})
	ctx := testkit.Context(t)
	if err := c.DiscoverAll(ctx); err != nil {
		t.Fatal(err)
	}
	lost := c.Node(3).PeerID()
	subs := subscribeAll(c, 3)
	c.Partition([]int{0, 1, 2}, []int{3})
	for i, sub := range subs {
		if d := nextDeparture(t, ctx, sub, lost); d.Reason != discovery.DepartedDead {
			t.Fatalf("node %d: reason %v, want dead", i, d.Reason)
		}
	}
	for i := range 3 {
		stats := c.Node(i).DiscoveryStats()
		if err := testkit.WaitFor(ctx, func() bool { return stats.Forgotten.Load() > 0 }); err != nil {
			t.Fatalf("node %d never forgot the partitioned peer: %v", i, err)
		}
	}
	c.Heal()
	for i, sub := range subs {
		nextDiscovery(t, ctx, sub, lost)
		sub.Close()
		_ = i
	}
	if err := c.DiscoverAll(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRelayedEntryGoesStaleAndIsRediscovered: an entry learned over a
// direct link from a node outside gossip is listed, departs as stale after
// PurgeAfter since gossip never confirms it, and comes back once the node
// joins gossip.
func TestRelayedEntryGoesStaleAndIsRediscovered(t *testing.T) {
	c := testkit.NewCluster(t, 2, testkit.Options{NoBootstrap: true, Discovery: shortPurge()})
	ctx := testkit.Context(t)
	a, outsider := c.Node(0), c.Node(1)
	sub := a.Subscribe()
	defer sub.Close()
	if err := outsider.SyncWithPeer(ctx, a.PeerID(), a.Addr()); err != nil {
		t.Fatalf("SyncWithPeer: %v", err)
	}
	nextDiscovery(t, ctx, sub, outsider.PeerID())
	if d := nextDeparture(t, ctx, sub, outsider.PeerID()); d.Reason != discovery.DepartedStale {
		t.Fatalf("reason %v, want stale", d.Reason)
	}
	if err := outsider.SyncWith(ctx, a.GossipAddr()); err != nil {
		t.Fatalf("SyncWith: %v", err)
	}
	nextDiscovery(t, ctx, sub, outsider.PeerID())
	if err := c.DiscoverAll(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestBadEntriesAreRejectedAndCounted feeds a node entries over its sync
// protocol that fail each check: none is stored, each is counted.
func TestBadEntriesAreRejectedAndCounted(t *testing.T) {
	c := testkit.NewCluster(t, 1, testkit.Options{})
	ctx := testkit.Context(t)
	target := c.Node(0)
	key := id.NewSecretKey()
	sign := func(e discovery.Entry) *messages.SignedPeerEntry {
		e.Peer = key.PeerID()
		s, err := discovery.Sign(e, key)
		if err != nil {
			t.Fatal(err)
		}
		return s.Proto()
	}
	now := uint64(time.Now().UnixMilli())
	forged := sign(discovery.Entry{Network: target.NetworkID(), Version: now})
	forged.Signature[3] ^= 0xff
	bad := []*messages.SignedPeerEntry{
		forged,
		sign(discovery.Entry{Network: id.Of("another network"), Version: now}),
		sign(discovery.Entry{Network: target.NetworkID(), Version: now + uint64(time.Hour.Milliseconds())}),
		sign(discovery.Entry{Network: target.NetworkID(), Version: now, Tickets: paddingTickets(128 << 10)}),
		{Entry: []byte("garbage"), Signature: []byte("x")},
	}
	ep, err := c.Net.Listen(key, memnet.EndpointConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	stats := target.DiscoveryStats()
	before := stats.Rejected.Load()
	send := func(write func(transport.Link) error) {
		t.Helper()
		link, err := ep.Dial(ctx, target.PeerID(), target.Addr(), transport.ALPNDiscoverySync)
		if err != nil {
			t.Fatal(err)
		}
		defer link.Close(transport.CodeSuccess, "")
		if err := write(link); err != nil {
			t.Fatal(err)
		}
		var resp messages.SyncResponse
		_ = link.Recv(ctx, &resp) // an answer, or the close after garbage
	}
	// The sync protocol: a small request, the acceptor's acceptance, then
	// the state (the network has no secret, so no proofs).
	push := func(entries []*messages.SignedPeerEntry) func(transport.Link) error {
		return func(l transport.Link) error {
			if err := l.Send(ctx, &messages.SyncRequest{NetworkId: target.NetworkID().Proto(), Push: true}); err != nil {
				return err
			}
			if err := l.Recv(ctx, &messages.SyncAccept{}); err != nil {
				return err
			}
			return l.Send(ctx, &messages.CatalogState{NetworkId: target.NetworkID().Proto(), Entries: entries})
		}
	}
	send(push(bad))
	send(func(l transport.Link) error { return l.SendFrame(ctx, []byte{0xff, 0xff, 0xff}) })
	want := before + uint64(len(bad)) + 1
	if err := testkit.WaitFor(ctx, func() bool { return stats.Rejected.Load() >= want }); err != nil {
		t.Fatalf("rejected %d, want %d: %v", stats.Rejected.Load()-before, want-before, err)
	}
	if n := target.Catalog().Len(); n != 1 {
		t.Fatalf("catalog holds %d entries after bad input, want only its own", n)
	}
	// The garbage did not break anything: a good entry still gets in.
	good := sign(discovery.Entry{Network: target.NetworkID(), Version: now, Addrs: []string{ep.Addr()}})
	send(push([]*messages.SignedPeerEntry{good}))
	if err := target.WaitCatalog(ctx, func(s *discovery.Snapshot) bool { return s.Len() == 2 }); err != nil {
		t.Fatal(err)
	}
}

// TestLargeEntryUpdateSpreadsByFetch changes an entry past what one
// gossip packet carries: peers learn of it from the new head in memberlist
// meta and fetch the entry from its owner over a sync link.
func TestLargeEntryUpdateSpreadsByFetch(t *testing.T) {
	// Periodic push-pull would carry the entry too; push it out of the way
	// so that the fetch is the only path.
	cfg := discovery.FastConfig()
	cfg.PushPullInterval = time.Hour
	c := testkit.NewCluster(t, 3, testkit.Options{Discovery: cfg})
	ctx := testkit.Context(t)
	if err := c.DiscoverAll(ctx); err != nil {
		t.Fatal(err)
	}
	before := []uint64{c.Node(0).DiscoveryStats().Fetches.Load(), c.Node(1).DiscoveryStats().Fetches.Load()}
	var tags []id.Tag
	for i := range 60 {
		tags = append(tags, id.Of("tag-"+string(rune('a'+i%26))+string(rune('a'+i/26))))
	}
	owner := c.Node(2)
	if err := owner.AddTags(ctx, tags...); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := c.Node(i).WaitCatalog(ctx, func(s *discovery.Snapshot) bool {
			e, _ := s.Get(owner.PeerID())
			return len(e.Tags) == 60
		}); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		if c.Node(i).DiscoveryStats().Fetches.Load() == before[i] {
			t.Fatalf("node %d learned the large entry without fetching it", i)
		}
	}
}

// paddingTickets is n bytes of tickets that no validator reads: a way to
// make an entry large.
func paddingTickets(n int) []discovery.Ticket {
	var out []discovery.Ticket
	for n > 0 {
		size := min(n, discovery.MaxTicketSize)
		out = append(out, discovery.Ticket{Class: id.Of("test/padding"), Data: make([]byte, size)})
		n -= size
	}
	return out
}
