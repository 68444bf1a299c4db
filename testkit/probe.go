package testkit

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/mosaikgo/mosaik/actorkit"
	"github.com/mosaikgo/mosaik/cluster"
)

// Probe is a test's actor: it lives in a node's actor system, so the
// application actors under test (and the group actors they supervise,
// actorkit.GroupActorProps) can talk to it as to any actor, and the test
// reads what it received. It also supervises the actors the test spawns
// through it, as an application's supervisor would.
//
// A probe queues every message it receives, in order, with its sender;
// ExpectMsg, ExpectNoMsg and FishForMsg take them off the queue. Its
// Receive never blocks. The probe and its children are stopped at the end
// of the test.
type Probe struct {
	t   T
	sys *actorkit.System
	pid *actor.PID

	mu struct {
		sync.Mutex
		queue   []Received
		arrived chan struct{} // closed and replaced on each arrival
	}
}

// Received is a message the probe received, and who sent it (nil for a
// message sent without a sender).
type Received struct {
	Msg    any
	Sender *actor.PID
}

// probeSpawn asks the probe actor to spawn a child.
type probeSpawn struct {
	props *actor.Props
	pid   chan<- *actor.PID
}

// NewProbe spawns a probe in node's actor system. A child that panics is
// restarted (protoactor's default, at most 10 times in 10 s); wrap
// actorkit.Props with actor.WithSupervisor on the child for another policy
// of its own children.
func NewProbe(t T, node *cluster.Node) *Probe {
	t.Helper()
	p := &Probe{t: t, sys: node.Actors()}
	p.mu.arrived = make(chan struct{})
	pid, err := p.sys.Spawn(actorkit.Props(func() actor.Actor { return (*probeActor)(p) }), "probe")
	if err != nil {
		t.Fatalf("testkit: spawn a probe: %v", err)
	}
	p.pid = pid
	t.Cleanup(func() {
		// Stopping the probe stops its children first.
		_ = p.sys.Root().StopFuture(pid).Wait()
	})
	return p
}

// PID is the probe's address, to give to actors that should answer it.
func (p *Probe) PID() *actor.PID { return p.pid }

// Spawn spawns props as a child of the probe and returns its PID.
func (p *Probe) Spawn(props *actor.Props) *actor.PID {
	p.t.Helper()
	reply := make(chan *actor.PID, 1)
	p.sys.Root().Send(p.pid, &probeSpawn{props: props, pid: reply})
	select {
	case pid := <-reply:
		return pid
	case <-time.After(DefaultTimeout):
		p.t.Fatal("testkit: the probe did not spawn its child")
		return nil
	}
}

// Send sends msg to to, with the probe as its sender: replies
// (ctx.Respond) come back to the probe.
func (p *Probe) Send(to *actor.PID, msg any) {
	p.sys.Root().RequestWithCustomSender(to, msg, p.pid)
}

// next takes the first message off the queue, waiting until one arrives
// or ctx ends.
func (p *Probe) next(ctx context.Context) (Received, bool) {
	for {
		p.mu.Lock()
		if len(p.mu.queue) > 0 {
			r := p.mu.queue[0]
			p.mu.queue = slices.Delete(p.mu.queue, 0, 1)
			p.mu.Unlock()
			return r, true
		}
		arrived := p.mu.arrived
		p.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return Received{}, false
		}
	}
}

// ExpectMsg returns the next message the probe receives, which must be a
// T and must arrive within timeout; otherwise the test fails.
func ExpectMsg[T any](p *Probe, timeout time.Duration) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r, ok := p.next(ctx)
	if !ok {
		var zero T
		p.t.Fatalf("testkit: no %T within %v", zero, timeout)
		return zero
	}
	m, ok := r.Msg.(T)
	if !ok {
		p.t.Fatalf("testkit: got %T (%+v), want %s", r.Msg, r.Msg, reflect.TypeFor[T]())
	}
	return m
}

// ExpectNoMsg checks that the probe receives nothing for d. It waits d:
// use it for what must not happen, after what must has been seen.
func (p *Probe) ExpectNoMsg(d time.Duration) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if r, ok := p.next(ctx); ok {
		p.t.Fatalf("testkit: got %T (%+v), want no message for %v", r.Msg, r.Msg, d)
	}
}

// FishForMsg takes messages off the queue until one satisfies pred, which
// it returns; those before it are dropped. The test fails if none arrives
// within timeout.
func (p *Probe) FishForMsg(timeout time.Duration, pred func(any) bool) Received {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var skipped []string
	for {
		r, ok := p.next(ctx)
		if !ok {
			p.t.Fatalf("testkit: no matching message within %v (skipped %v)", timeout, skipped)
			return Received{}
		}
		if pred(r.Msg) {
			return r
		}
		skipped = append(skipped, fmt.Sprintf("%T", r.Msg))
	}
}

// probeActor is the probe's Receive.
type probeActor Probe

func (a *probeActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *probeSpawn:
		m.pid <- ctx.Spawn(m.props)
	case *actor.Terminated:
		a.keep(m, nil) // a child stopped: tests may expect it
	case actor.SystemMessage, actor.AutoReceiveMessage:
		// The probe's own lifecycle.
	default:
		a.keep(m, ctx.Sender())
	}
}

func (a *probeActor) keep(msg any, sender *actor.PID) {
	p := (*Probe)(a)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.queue = append(p.mu.queue, Received{Msg: msg, Sender: sender})
	close(p.mu.arrived)
	p.mu.arrived = make(chan struct{})
}
