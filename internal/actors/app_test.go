package actors_test

import (
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/actors"
	"github.com/mosaikgo/mosaik/internal/counter"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/testkit"
)

// nodeJoiner adapts a node's Join to actors.Joiner.
type nodeJoiner struct{ node *cluster.Node }

func (j nodeJoiner) Join(cfg actors.GroupConfig) (*actors.Group, error) {
	return j.node.Join(context.Background(), cfg)
}

// Messages to the application's supervisor.
type (
	spawnFacade   struct{ props *actor.Props }
	restartFacade struct{}
	respawnFacade struct{}
	spawnWatcher  struct{ events chan<- any }
)

// appSupervisor is the application's own supervisor: it owns the group
// facade as a child, restarts it one-for-one, and hosts a collector.
type appSupervisor struct {
	props   *actor.Props
	child   *actor.PID
	respawn *actor.PID // who asked for a respawn, answered once the old child stopped
}

func (s *appSupervisor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *spawnFacade:
		s.props = m.props
		s.child = ctx.Spawn(m.props)
		ctx.Respond(s.child)
	case *restartFacade:
		// The directive a one-for-one strategy gives a failed child.
		ctx.(actor.Supervisor).RestartChildren(s.child)
		ctx.Respond(s.child)
	case *respawnFacade:
		s.respawn = ctx.Sender()
		ctx.Stop(s.child)
	case *actor.Terminated:
		if s.respawn != nil && m.Who.Equal(s.child) {
			s.child = ctx.Spawn(s.props)
			ctx.Send(s.respawn, s.child)
			s.respawn = nil
		}
	case *spawnWatcher:
		ctx.Respond(ctx.Spawn(actors.Props(func() actor.Actor {
			return &eventCollector{facade: s.child, events: m.events}
		})))
	}
}

// eventCollector subscribes to the facade's events and forwards them.
type eventCollector struct {
	facade *actor.PID
	events chan<- any
}

func (c *eventCollector) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		ctx.Request(c.facade, &messages.SubscribeEvents{})
	case *messages.LeaderChanged, *messages.Committed:
		select {
		case c.events <- m:
		default: // the test stopped listening; never block the mailbox
		}
	}
}

// appHarness is one node's application side: its supervisor, the group
// facade under it and a collector of the facade's events.
type appHarness struct {
	t      *testing.T
	ctx    context.Context
	node   *cluster.Node
	sys    *actors.System
	sup    *actor.PID
	facade *actor.PID
	events chan any
}

func newAppHarness(t *testing.T, ctx context.Context, node *cluster.Node, cfg actors.GroupConfig) *appHarness {
	t.Helper()
	h := &appHarness{t: t, ctx: ctx, node: node, sys: node.Actors(), events: make(chan any, 1024)}
	strategy := actor.NewOneForOneStrategy(10, time.Minute, actor.DefaultDecider)
	sup, err := h.sys.Spawn(actors.Props(func() actor.Actor { return &appSupervisor{} }, actor.WithSupervisor(strategy)), "app")
	if err != nil {
		t.Fatal(err)
	}
	h.sup = sup
	h.facade = h.ask(sup, &spawnFacade{props: actors.GroupActorProps(nodeJoiner{node}, cfg)}).(*actor.PID)
	h.ask(sup, &spawnWatcher{events: h.events})
	return h
}

func (h *appHarness) ask(to *actor.PID, msg any) any {
	h.t.Helper()
	reply, err := h.sys.Root().RequestFuture(to, msg, testkit.DefaultTimeout).Result()
	if err != nil {
		h.t.Fatalf("request %T: %v", msg, err)
	}
	return reply
}

// waitLeader waits for a LeaderChanged naming a leader (want, unless
// zero) while this member is online, and returns it.
func (h *appHarness) waitLeader(want id.PeerID) id.PeerID {
	h.t.Helper()
	for {
		select {
		case ev := <-h.events:
			if lc, ok := ev.(*messages.LeaderChanged); ok && lc.GetLeader() != nil {
				got, err := id.PeerIDFromProto(lc.GetLeader())
				if err != nil || lc.GetTerm() == 0 {
					h.t.Fatalf("bad LeaderChanged{%v, term %d}: %v", got, lc.GetTerm(), err)
				}
				if lc.GetOnline() && (want.IsZero() || got == want) {
					return got
				}
			}
		case <-h.ctx.Done():
			h.t.Fatalf("no LeaderChanged naming %v", want)
		}
	}
}

func (h *appHarness) waitCommitted(index uint64) {
	h.t.Helper()
	for {
		select {
		case ev := <-h.events:
			if cm, ok := ev.(*messages.Committed); ok && cm.GetIndex() >= index {
				return
			}
		case <-h.ctx.Done():
			h.t.Fatalf("no Committed at index %d or later", index)
		}
	}
}

func (h *appHarness) execute(pid *actor.PID, n int64) uint64 {
	h.t.Helper()
	cmd, _ := statemachine.JSON[int64]().Encode(n)
	rep := h.ask(pid, &messages.ExecuteRequest{Command: cmd}).(*messages.ExecuteReply)
	if rep.GetError() != "" || rep.GetIndex() == 0 {
		h.t.Fatalf("Execute(%d): index %d, error %q (offline %v)", n, rep.GetIndex(), rep.GetError(), rep.GetOffline())
	}
	return rep.GetIndex()
}

func (h *appHarness) query(pid *actor.PID) int64 {
	h.t.Helper()
	q, _ := statemachine.JSON[struct{}]().Encode(struct{}{})
	rep := h.ask(pid, &messages.QueryRequest{Query: q, Strong: true}).(*messages.QueryReply)
	if rep.GetError() != "" {
		h.t.Fatalf("Query: %s", rep.GetError())
	}
	v, err := statemachine.JSON[int64]().Decode(rep.GetResult())
	if err != nil {
		h.t.Fatal(err)
	}
	return v
}

func appGroup(secret string) actors.GroupConfig {
	return actors.GroupConfig{
		Key:       groups.KeyFromSecret(secret),
		Consensus: groups.FastConsensus(),
		Machine:   counter.Machine,
	}
}

// TestGroupActorServesAnApplicationSupervisor: an application's
// supervisor spawns the group facade as its child and talks to it with
// messages; the facade survives a supervisor restart and a stop and
// respawn with its group and data.
func TestGroupActorServesAnApplicationSupervisor(t *testing.T) {
	c := testkit.NewCluster(t, 1, testkit.Options{})
	ctx := testkit.Context(t)
	cfg := appGroup("app")
	h := newAppHarness(t, ctx, c.Node(0), cfg)
	self := c.Node(0).PeerID()

	// The lone member elects itself; subscribers hear of it.
	h.waitLeader(self)
	first := h.execute(h.facade, 2)
	last := h.execute(h.facade, 40)
	if last <= first {
		t.Fatalf("indexes %d then %d: commands applied out of order", first, last)
	}
	h.waitCommitted(last)
	if v := h.query(h.facade); v != 42 {
		t.Fatalf("total %d, want 42", v)
	}

	// A supervisor restart: same PID, new incarnation, same group and
	// data; subscribers are kept and hear the current leader again.
	if pid := h.ask(h.sup, &restartFacade{}).(*actor.PID); !pid.Equal(h.facade) {
		t.Fatalf("restart changed the PID")
	}
	if v := h.query(h.facade); v != 42 {
		t.Fatalf("after restart: total %d, want 42", v)
	}
	h.waitLeader(self)
	next := h.execute(h.facade, 8)
	if next <= last {
		t.Fatalf("after restart: index %d, want > %d", next, last)
	}
	h.waitCommitted(next)
	if v := h.query(h.facade); v != 50 {
		t.Fatalf("after restart: total %d, want 50", v)
	}

	// Stopped and spawned again: stopping the facade does not leave the
	// group, and the new actor finds the same group and data.
	again := h.ask(h.sup, &respawnFacade{}).(*actor.PID)
	if again.Equal(h.facade) {
		t.Fatal("respawn kept the PID")
	}
	if v := h.query(again); v != 50 {
		t.Fatalf("after respawn: total %d, want 50", v)
	}
	if idx := h.execute(again, 1); idx <= next {
		t.Fatalf("after respawn: index %d, want > %d", idx, next)
	}
	if v := h.query(again); v != 51 {
		t.Fatalf("after respawn: total %d, want 51", v)
	}
	grp, err := c.Node(0).Join(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-grp.Left():
		t.Fatal("stopping the facade left the group")
	default:
	}
}

// TestGroupActorsOnEveryMember: each of three nodes runs its own facade
// in its own actor system; all agree on the leader, commands sent to any
// of them (followers forward) are applied once, and every facade reads
// the same total.
func TestGroupActorsOnEveryMember(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	cfg := appGroup("app3")
	hs := make([]*appHarness, 3)
	for i := range hs {
		hs[i] = newAppHarness(t, ctx, c.Node(i), cfg)
	}
	leader := hs[0].waitLeader(id.PeerID{})
	for _, h := range hs[1:] {
		h.waitLeader(leader)
	}
	var last uint64
	for i, h := range hs {
		last = max(last, h.execute(h.facade, int64(i+1)))
	}
	for i, h := range hs {
		h.waitCommitted(last)
		if v := h.query(h.facade); v != 6 {
			t.Fatalf("member %d reads %d, want 6", i, v)
		}
	}
}
