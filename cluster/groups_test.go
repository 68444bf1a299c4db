package cluster_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/feed"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/actors"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/testkit"
	"github.com/mosaikgo/mosaik/transport"
	"github.com/mosaikgo/mosaik/transport/memnet"
)

func groupConfig(secret string) cluster.GroupConfig {
	return cluster.GroupConfig{
		Key:       groups.KeyFromSecret(secret),
		Consensus: groups.FastConsensus(),
		Machine:   statemachine.NoOpMachine,
	}
}

func peersOf(c *testkit.Cluster, idx ...int) []id.PeerID {
	out := c.PeerIDs(idx...)
	slices.SortFunc(out, id.PeerID.Compare)
	return out
}

// TestOverlappingGroupsFormExactMeshes: four nodes in three overlapping
// groups bond exactly with the members of each group, and every member
// learns the whole topology of its group.
func TestOverlappingGroupsFormExactMeshes(t *testing.T) {
	c := testkit.NewCluster(t, 4, testkit.Options{})
	ctx := testkit.Context(t)
	memberships := map[string][]int{"g1": {0, 1}, "g2": {0, 2, 3}, "g3": {1, 2}}
	joined := map[string][]*cluster.Group{}
	for name, idx := range memberships {
		joined[name] = c.JoinAll(groupConfig(name), idx...)
	}
	for name, gs := range joined {
		if err := testkit.WaitMesh(ctx, gs); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for name, gs := range joined {
		idx := memberships[name]
		for j, g := range gs {
			others := slices.DeleteFunc(slices.Clone(idx), func(i int) bool { return i == idx[j] })
			view := g.Bonds()
			if !slices.Equal(view.Peers, peersOf(c, others...)) {
				t.Fatalf("%s: node %d bonded with %d peers, want exactly %v", name, idx[j], len(view.Peers), others)
			}
			// Every pair of members is known, through BondFormed or handshakes.
			if _, err := g.WaitBonds(ctx, func(v cluster.BondsView) bool {
				for _, a := range idx {
					for _, b := range idx {
						if a < b && !v.Knows(c.Node(a).PeerID(), c.Node(b).PeerID()) {
							return false
						}
					}
				}
				return len(v.Topology) == len(idx)*(len(idx)-1)/2
			}); err != nil {
				t.Fatalf("%s: node %d topology %v: %v", name, idx[j], g.Bonds().Topology, err)
			}
		}
	}
	// Idempotent join: same config, same handle.
	again, err := c.Node(0).Join(ctx, groupConfig("g1"))
	if err != nil || again != joined["g1"][0] {
		t.Fatalf("second Join returned %p, %v; want the first handle", again, err)
	}
}

// TestWrongKeyIsRefusedWithInvalidProof: a peer that knows a group's id
// but not its key is refused with 30_405, and the member keeps no state.
func TestWrongKeyIsRefusedWithInvalidProof(t *testing.T) {
	c := testkit.NewCluster(t, 2, testkit.Options{})
	ctx := testkit.Context(t)
	gs := c.JoinAll(groupConfig("secret"))
	if err := testkit.WaitMesh(ctx, gs); err != nil {
		t.Fatal(err)
	}
	member := c.Node(0)
	events := gs[0].Subscribe()
	defer events.Close()

	intruder := id.NewSecretKey()
	ep, err := c.Net.Listen(intruder, memnet.EndpointConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	link, err := ep.Dial(ctx, member.PeerID(), member.Addr(), transport.ALPNGroups)
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close(transport.CodeSuccess, "")
	secret, err := link.SharedSecret(groups.SecretLabel(gs[0].ID()))
	if err != nil {
		t.Fatal(err)
	}
	start := groups.Start{Network: member.NetworkID(), Group: gs[0].ID()}
	if err := link.Send(ctx, start.Proto(groups.KeyFromSecret("guess"), secret, intruder.PeerID())); err != nil {
		t.Fatal(err)
	}
	_, err = link.RecvFrame(ctx)
	if code, ok := transport.CodeOf(err); !ok || code != transport.CodeInvalidProof {
		t.Fatalf("intruder got %v, want close %d", err, transport.CodeInvalidProof)
	}
	if v := gs[0].Bonds(); len(v.Peers) != 1 || v.Has(intruder.PeerID()) {
		t.Fatalf("member's bonds after the intrusion: %v", v.Peers)
	}
}

// TestHandshakeBadInput: garbage and stalls during the handshake close
// the link with the documented codes and leave the member untouched.
func TestHandshakeBadInput(t *testing.T) {
	c := testkit.NewCluster(t, 1, testkit.Options{})
	ctx := testkit.Context(t)
	gs := c.JoinAll(groupConfig("secret"))
	member := c.Node(0)
	ep, err := c.Net.Listen(id.NewSecretKey(), memnet.EndpointConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	try := func(name string, send func(transport.Link) error, want transport.CloseCode) {
		t.Helper()
		link, err := ep.Dial(ctx, member.PeerID(), member.Addr(), transport.ALPNGroups)
		if err != nil {
			t.Fatal(err)
		}
		defer link.Close(transport.CodeSuccess, "")
		if err := send(link); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, err = link.RecvFrame(ctx)
		if code, ok := transport.CodeOf(err); !ok || code != want {
			t.Fatalf("%s: got %v, want close %d", name, err, want)
		}
	}
	try("garbage", func(l transport.Link) error { return l.SendFrame(ctx, []byte{0xff, 0xff}) }, transport.CodeBadHandshake)
	try("unknown group", func(l transport.Link) error {
		s := groups.Start{Network: member.NetworkID(), Group: id.Of("no such group")}
		return l.Send(ctx, s.Proto(groups.KeyFromSecret("secret"), make([]byte, 32), ep.PeerID()))
	}, transport.CodeGroupNotFound)
	try("another network", func(l transport.Link) error {
		s := groups.Start{Network: id.Of("elsewhere"), Group: gs[0].ID()}
		return l.Send(ctx, s.Proto(groups.KeyFromSecret("secret"), make([]byte, 32), ep.PeerID()))
	}, transport.CodeDifferentNetwork)
	if v := gs[0].Bonds(); len(v.Peers) != 0 {
		t.Fatalf("bad handshakes left bonds: %v", v.Peers)
	}
}

func waitBondDown(t *testing.T, ctx context.Context, sub *feed.Subscription[cluster.BondEvent], peer id.PeerID) cluster.BondEvent {
	t.Helper()
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for the bond with %s to end: %v", peer.Short(), err)
		}
		if ev.Peer == peer && !ev.Up {
			return ev
		}
	}
}

// TestKilledMemberLosesItsBondsWithinTheHeartbeatBound: a crashed member
// is silent; its peers close the bond with 30_408 once max_missed
// heartbeats pass, within the profile's bound.
func TestKilledMemberLosesItsBondsWithinTheHeartbeatBound(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	cfg := groupConfig("secret")
	gs := c.JoinAll(cfg)
	if err := testkit.WaitMesh(ctx, gs); err != nil {
		t.Fatal(err)
	}
	victim := c.Node(2).PeerID()
	subs := []*feed.Subscription[cluster.BondEvent]{gs[0].Subscribe(), gs[1].Subscribe()}
	cons := cfg.Consensus.WithDefaults()
	// The bound: max_missed silent heartbeats, each at most one interval,
	// plus slack for a loaded machine's scheduling.
	bound := time.Duration(cons.MaxMissedHeartbeats)*cons.HeartbeatInterval + time.Second
	c.Kill(2)
	deadline, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	for i, sub := range subs {
		ev := waitBondDown(t, deadline, sub, victim)
		if code, ok := transport.CodeOf(ev.Err); !ok || code != transport.CodeTimeout {
			t.Fatalf("node %d: bond ended with %v, want close %d", i, ev.Err, transport.CodeTimeout)
		}
		sub.Close()
	}
}

// TestLeavingMemberSendsDeparture: a member that leaves says so on every
// bond, and its peers drop the bond cleanly at once (no heartbeat
// timeout), and stop seeing it in the group.
func TestLeavingMemberSendsDeparture(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	gs := c.JoinAll(groupConfig("secret"))
	if err := testkit.WaitMesh(ctx, gs); err != nil {
		t.Fatal(err)
	}
	leaver := c.Node(2).PeerID()
	subs := []*feed.Subscription[cluster.BondEvent]{gs[0].Subscribe(), gs[1].Subscribe()}
	if err := gs[2].Leave(ctx); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	if _, err := gs[2].WaitBonds(ctx, func(cluster.BondsView) bool { return false }); !errors.Is(err, actors.ErrGroupLeft) {
		t.Fatalf("WaitBonds after Leave: %v, want ErrGroupLeft", err)
	}
	for i, sub := range subs {
		if ev := waitBondDown(t, ctx, sub, leaver); ev.Err != nil {
			t.Fatalf("node %d: bond ended with %v, want a clean departure", i, ev.Err)
		}
		sub.Close()
	}
	for i := range 2 {
		if err := c.Node(i).WaitCatalog(ctx, func(s *discovery.Snapshot) bool {
			e, _ := s.Get(leaver)
			return !e.InGroup(gs[0].ID())
		}); err != nil {
			t.Fatalf("node %d still lists the leaver in the group: %v", i, err)
		}
	}
	if err := testkit.WaitMesh(ctx, gs[:2]); err != nil {
		t.Fatal(err)
	}
}

// TestPeerThatStopsQualifyingLosesItsBond: the authorization hook is
// checked again when an entry changes; a member tagged "banned" is
// dropped with 30_403 and not re-bonded.
func TestPeerThatStopsQualifyingLosesItsBond(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	cfg := groupConfig("secret")
	cfg.Authorize = func(e discovery.Entry) error {
		if e.HasTag(id.Of("banned")) {
			return errors.New("banned")
		}
		return nil
	}
	gs := c.JoinAll(cfg)
	if err := testkit.WaitMesh(ctx, gs); err != nil {
		t.Fatal(err)
	}
	banned := c.Node(2).PeerID()
	subs := []*feed.Subscription[cluster.BondEvent]{gs[0].Subscribe(), gs[1].Subscribe()}
	if err := c.Node(2).AddTags(ctx, id.Of("banned")); err != nil {
		t.Fatal(err)
	}
	for i, sub := range subs {
		// Either side may notice first: the one that closes reports 403,
		// the other sees the peer's 403 close.
		ev := waitBondDown(t, ctx, sub, banned)
		if code, ok := transport.CodeOf(ev.Err); !ok || code != transport.CodeNotAllowed {
			t.Fatalf("node %d: bond ended with %v, want close %d", i, ev.Err, transport.CodeNotAllowed)
		}
		sub.Close()
	}
	if _, err := gs[2].WaitBonds(ctx, func(v cluster.BondsView) bool { return len(v.Peers) == 0 }); err != nil {
		t.Fatal(err)
	}
	// The banned member keeps trying (it still sees the others as
	// members), and every attempt is refused at the handshake.
	retries := gs[2].Subscribe()
	defer retries.Close()
	for {
		ev, err := retries.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for a refused re-dial: %v", err)
		}
		if code, ok := transport.CodeOf(ev.Err); ok && code == transport.CodeNotAllowed && !ev.Up {
			break
		}
	}
	if gs[0].Bonds().Has(banned) || gs[1].Bonds().Has(banned) {
		t.Fatal("the banned member was bonded again")
	}
	if err := testkit.WaitMesh(ctx, gs[:2]); err != nil {
		t.Fatal(err)
	}
}
