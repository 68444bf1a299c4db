package actors_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/actors"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/testkit"
	"github.com/mosaikgo/mosaik/transport"
	"github.com/mosaikgo/mosaik/transport/memnet"
)

// TestSimultaneousDialsLeaveOneBond makes both members of a pair dial
// each other at the same moment, several times. Links are slowed so that
// both handshakes are in flight together: both sides keep the bond dialed
// by the lower peer id, the other one is closed with 30_429, and exactly
// one bond remains.
func TestSimultaneousDialsLeaveOneBond(t *testing.T) {
	c := testkit.NewCluster(t, 2, testkit.Options{})
	ctx := testkit.Context(t)
	var allowed atomic.Bool
	cfg := cluster.GroupConfig{
		Key:       groups.KeyFromSecret("pair"),
		Consensus: groups.FastConsensus(),
		Machine:   statemachine.NoOpMachine,
		// The hook holds both sides back until the test releases them.
		Authorize: func(discovery.Entry) error {
			if !allowed.Load() {
				return errors.New("not yet")
			}
			return nil
		},
	}
	if err := c.DiscoverAll(ctx); err != nil {
		t.Fatal(err)
	}
	gs := c.JoinAll(cfg)
	nodes := []*cluster.Node{c.Node(0), c.Node(1)}
	// Every frame and gossip packet takes 100 ms: a handshake needs at
	// least 200 ms, far more than the two dials are apart even on a loaded
	// machine. (Gossip survives it: memberlist falls back to its stream
	// ping, which the delay does not touch.)
	c.Net.SetDelay(100 * time.Millisecond)
	// Only the higher peer is sure to see a 30_429: either its own dial is
	// refused, or it replaces its dial with the lower peer's. The lower
	// peer refuses the higher one's dial only if that arrives before the
	// higher peer withdraws it.
	higher := 0
	if nodes[1].PeerID().Compare(nodes[0].PeerID()) > 0 {
		higher = 1
	}
	for round := range 3 {
		sub := gs[higher].Subscribe()
		allowed.Store(true)
		actors.DialNow(gs[0], nodes[1].PeerID(), nodes[1].Addr())
		actors.DialNow(gs[1], nodes[0].PeerID(), nodes[0].Addr())
		for {
			ev, err := sub.Next(ctx)
			if err != nil {
				t.Fatalf("round %d: the higher peer saw no duplicate close: %v", round, err)
			}
			if code, ok := transport.CodeOf(ev.Err); ok && code == transport.CodeAlreadyBonded {
				break
			}
		}
		sub.Close()
		if err := testkit.WaitMesh(ctx, gs); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i, g := range gs {
			if n := len(g.Bonds().Peers); n != 1 {
				t.Fatalf("round %d: member %d has %d bonds", round, i, n)
			}
		}
		// Tear the bond down again for the next round.
		allowed.Store(false)
		for _, g := range gs {
			if _, err := g.WaitBonds(ctx, func(v cluster.BondsView) bool { return len(v.Peers) == 0 }); err != nil {
				t.Fatalf("round %d: bond not torn down: %v", round, err)
			}
		}
	}
}

// TestStalledHandshakeTimesOut: a dialer that connects but never sends
// its HandshakeStart is cut off with 30_408, and the member keeps nothing.
func TestStalledHandshakeTimesOut(t *testing.T) {
	defer actors.SetHandshakeTimeout(200 * time.Millisecond)()
	c := testkit.NewCluster(t, 1, testkit.Options{})
	ctx := testkit.Context(t)
	cfg := cluster.GroupConfig{Key: groups.KeyFromSecret("g"), Consensus: groups.FastConsensus(), Machine: statemachine.NoOpMachine}
	gs := c.JoinAll(cfg)
	member := c.Node(0)
	ep, err := c.Net.Listen(id.NewSecretKey(), memnet.EndpointConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	link, err := ep.Dial(ctx, member.PeerID(), member.Addr(), transport.ALPNGroups)
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close(transport.CodeSuccess, "")
	_, err = link.RecvFrame(ctx)
	if code, ok := transport.CodeOf(err); !ok || code != transport.CodeTimeout {
		t.Fatalf("stalled dialer got %v, want close %d", err, transport.CodeTimeout)
	}
	if len(gs[0].Bonds().Peers) != 0 {
		t.Fatal("a stalled handshake left a bond")
	}
}
