package actors

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// journal records lifecycle events from many actors in the order they
// happened.
type journal struct {
	mu     sync.Mutex
	events []string
}

func (j *journal) add(e string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.events = append(j.events, e)
}

func (j *journal) snapshot() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.events...)
}

// treeActor spawns one child named after it on start and records when it
// stops.
type treeActor struct {
	name  string
	depth int
	j     *journal
}

func (a *treeActor) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		if a.depth > 0 {
			child := &treeActor{name: a.name + "/child", depth: a.depth - 1, j: a.j}
			ctx.Spawn(Props(func() actor.Actor { return child }))
		}
		a.j.add("started " + a.name)
	case *actor.Stopped:
		a.j.add("stopped " + a.name)
	case string:
		ctx.Respond("echo " + ctx.Message().(string))
	}
}

func TestCloseStopsTreeChildrenFirst(t *testing.T) {
	s, err := NewSystem(SystemConfig{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	j := &journal{}
	pid, err := s.Spawn(Props(func() actor.Actor { return &treeActor{name: "a", depth: 2, j: j} }), "a")
	if err != nil {
		t.Fatalf("Spawn: %v", err)
	}
	reply, err := s.Root().RequestFuture(pid, "hi", 5*time.Second).Result()
	if err != nil || reply != "echo hi" {
		t.Fatalf("request: %v %v", reply, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got := j.snapshot()
	stopOrder := []string{}
	for _, e := range got {
		if len(e) > 8 && e[:8] == "stopped " {
			stopOrder = append(stopOrder, e[8:])
		}
	}
	want := []string{"a/child/child", "a/child", "a"}
	if len(stopOrder) != len(want) {
		t.Fatalf("stopped %v, want %v (all events %v)", stopOrder, want, got)
	}
	for i := range want {
		if stopOrder[i] != want[i] {
			t.Fatalf("stop order %v, want %v", stopOrder, want)
		}
	}
	if !s.Closed() {
		t.Fatal("Closed() = false after Close")
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Spawn(Props(func() actor.Actor { return &treeActor{j: j} }), "late"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Spawn after Close: %v, want ErrClosed", err)
	}
}

func TestSpawnDuplicateNameFails(t *testing.T) {
	s, err := NewSystem(SystemConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	j := &journal{}
	props := Props(func() actor.Actor { return &treeActor{name: "x", j: j} })
	if _, err := s.Spawn(props, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Spawn(props, "x"); err == nil {
		t.Fatal("second child with one name was spawned")
	}
}

// crashActor panics on "crash" and counts its incarnations.
type crashActor struct{ starts chan<- struct{} }

func (a *crashActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.starts <- struct{}{}
	case string:
		if m == "crash" {
			panic("crash requested")
		}
	}
}

func TestRootRestartsFailingChild(t *testing.T) {
	s, err := NewSystem(SystemConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	starts := make(chan struct{}, 4)
	pid, err := s.Spawn(Props(func() actor.Actor { return &crashActor{starts: starts} }), "crashy")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, starts)
	s.Root().Send(pid, "crash")
	waitFor(t, starts) // the restarted incarnation starts again
}

func waitFor(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
	}
}

func TestCloseHonoursContext(t *testing.T) {
	s, err := NewSystem(SystemConfig{})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	entered := make(chan struct{})
	// An actor stuck in Receive keeps the tree from stopping; Close must
	// give up when its context does.
	pid, err := s.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(string); ok {
			close(entered)
			<-release
		}
	}), "stuck")
	if err != nil {
		t.Fatal(err)
	}
	s.Root().Send(pid, "block")
	waitFor(t, entered)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close with a cancelled context: %v", err)
	}
	close(release)
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
}
