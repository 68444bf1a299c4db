package testkit_test

import (
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/internal/actors"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/testkit"
)

// echo answers every string with itself twice, as its sender (so the
// probe learns who answered).
type echo struct{}

func (echo) Receive(ctx actor.Context) {
	if s, ok := ctx.Message().(string); ok {
		ctx.Request(ctx.Sender(), s+s)
	}
}

// TestProbe: messages arrive in order with their sender, a wrong type or
// nothing fails the expectation (checked by the helpers' own tests), a
// child the probe spawned answers it, and a child's end reaches it.
func TestProbe(t *testing.T) {
	c := testkit.NewCluster(t, 1, testkit.Options{})
	p := testkit.NewProbe(t, c.Node(0))
	child := p.Spawn(actors.Props(func() actor.Actor { return echo{} }))
	p.Send(child, "ab")
	p.Send(child, "c")
	if got := testkit.ExpectMsg[string](p, time.Second); got != "abab" {
		t.Fatalf("first reply %q", got)
	}
	r := p.FishForMsg(time.Second, func(m any) bool { return m == "cc" })
	if !r.Sender.Equal(child) {
		t.Fatalf("reply from %v, want the child %v", r.Sender, child)
	}
	p.ExpectNoMsg(100 * time.Millisecond)
	c.Node(0).Actors().Root().Stop(child)
	if term := testkit.ExpectMsg[*actor.Terminated](p, time.Second); !term.GetWho().Equal(child) {
		t.Fatalf("terminated %v, want the child", term.GetWho())
	}
}

// TestProbeDrivesAGroupActor: the probe supervises a group actor
// (actors.GroupActorProps), as an application's supervisor would, and
// gets its events and replies.
func TestProbeDrivesAGroupActor(t *testing.T) {
	c := testkit.NewCluster(t, 1, testkit.Options{})
	node := c.Node(0)
	p := testkit.NewProbe(t, node)
	cfg := cluster.GroupConfig{Key: groups.KeyFromSecret("probe"), Consensus: groups.FastConsensus(), Machine: statemachine.NoOpMachine}
	g := p.Spawn(actors.GroupActorProps(joiner{node}, cfg))
	p.Send(g, &messages.SubscribeEvents{})
	p.FishForMsg(testkit.DefaultTimeout, func(m any) bool {
		lc, ok := m.(*messages.LeaderChanged)
		return ok && lc.GetOnline()
	})
	p.Send(g, &messages.ExecuteRequest{})
	// Subscribed events (Committed) may come before the reply.
	r := p.FishForMsg(testkit.DefaultTimeout, func(m any) bool {
		_, ok := m.(*messages.ExecuteReply)
		return ok
	})
	if rep := r.Msg.(*messages.ExecuteReply); rep.GetError() != "" || rep.GetIndex() == 0 {
		t.Fatalf("execute: %+v", rep)
	}
}

type joiner struct{ node *cluster.Node }

func (j joiner) Join(cfg cluster.GroupConfig) (*cluster.Group, error) {
	return j.node.Join(context.Background(), cfg)
}
