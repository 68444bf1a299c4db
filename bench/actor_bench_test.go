package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/mosaikgo/mosaik/internal/actors"
)

// B10 actor/hop: the cost of one request/response between two actors, as
// mosaik's runtime makes them, against a round trip between two
// goroutines over unbuffered Go channels.
//
// Ours is one actors.System (the runtime's: a root supervisor, children
// with unbounded mailboxes built by actors.Props) with two children: a
// client and a server. The client sends a request with ctx.Request, so
// the request carries the client's PID as its sender; the server answers
// with ctx.Respond; the reply arrives in the client's mailbox as a
// message, and the client sends the next request from there. That is how
// mosaik's actors ask each other for work: nobody blocks inside Receive
// (see package actors). The figure is the wall time of many round trips,
// timed from the driver's message to the client until the client reports
// the last reply, divided by their number: ns per round trip.
//
// Variant "future" is the other way code talks to actors: a plain
// goroutine outside any actor (as actors.System.Spawn does) calls
// RootContext.RequestFuture and waits on the future's Result, one request
// at a time. It is for scale; no goal applies.
//
// Variant "default-dispatcher" is "actor" with both actors on
// protoactor-go's default dispatcher, which starts a goroutine for every
// mailbox activation, instead of the runtime's (see actors.Props), which
// hands activations to workers that linger while messages flow. A profile
// of this variant spends about half its CPU growing the fresh goroutines'
// stacks (runtime.newstack under PostUserMessage): it is the runtime
// before that fix, kept as the same-run "before" figure. No goal applies.
//
// The baseline is a goroutine answering on one unbuffered channel what
// another sends it on a second one, one round trip at a time, with the
// same request and reply messages. Both sides run the same number of
// round trips after the same untimed warm-up.

// hopTimeout bounds one side of one round.
const hopTimeout = time.Minute

// hopRoundTrips and hopWarmup are the round trips a side times, and the
// ones it runs untimed before, per round. 20000 actor round trips take a
// few tenths of a second on the 2-core machines, channel ones about 10 ms.
const (
	hopRoundTrips = 20000
	hopWarmup     = 2000
)

// hopPing is a request; the reply echoes its sequence number.
type hopPing struct{ seq int }

// hopPong is a reply.
type hopPong struct{ seq int }

// hopServer answers every request to its sender.
type hopServer struct{}

func (hopServer) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(*hopPing); ok {
		ctx.Respond(&hopPong{seq: m.seq})
	}
}

// hopRun asks a hopClient for n round trips with its server; the client
// sends the outcome on done after the last reply.
type hopRun struct {
	n    int
	done chan<- error
}

// hopClient runs the round trips of one hopRun, one at a time: each reply
// arrives as a message and sends the next request.
type hopClient struct {
	server *actor.PID
	left   int
	done   chan<- error
}

func (c *hopClient) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *hopRun:
		c.left, c.done = m.n, m.done
		ctx.Request(c.server, &hopPing{seq: c.left})
	case *hopPong:
		if m.seq != c.left {
			c.finish(fmt.Errorf("reply %d to request %d", m.seq, c.left))
			return
		}
		c.left--
		if c.left == 0 {
			c.finish(nil)
			return
		}
		ctx.Request(c.server, &hopPing{seq: c.left})
	}
}

func (c *hopClient) finish(err error) {
	if c.done != nil {
		c.done <- err
		c.done = nil
	}
}

// hopActors is what one side of an actor variant runs on: the runtime's
// actor system, with the server spawned under its root.
type hopActors struct {
	sys    *actors.System
	server *actor.PID
	// opts are added to the runtime's props: the default dispatcher in
	// variant "default-dispatcher".
	opts []actor.PropsOption
}

func startHopActors(opts ...actor.PropsOption) (*hopActors, error) {
	sys, err := actors.NewSystem(actors.SystemConfig{Name: "bench-b10"})
	if err != nil {
		return nil, err
	}
	h := &hopActors{sys: sys, opts: opts}
	h.server, err = h.spawn(func() actor.Actor { return hopServer{} }, "server")
	if err != nil {
		return nil, errors.Join(err, h.close())
	}
	return h, nil
}

// spawn starts an actor under the root.
func (h *hopActors) spawn(producer actor.Producer, name string) (*actor.PID, error) {
	return h.sys.Spawn(actors.Props(producer, h.opts...), name)
}

func (h *hopActors) close() error { return closeHopSystem(h.sys) }

func closeHopSystem(sys *actors.System) error {
	ctx, cancel := context.WithTimeout(context.Background(), hopTimeout)
	defer cancel()
	return sys.Close(ctx)
}

// hopByRequest times n round trips between a client actor and the
// server, driven from inside the client (variants "actor" and "default-dispatcher").
func (h *hopActors) hopByRequest(ctx context.Context, client *actor.PID, n int) (time.Duration, error) {
	done := make(chan error, 1)
	t0 := time.Now()
	h.sys.Root().Send(client, &hopRun{n: n, done: done})
	select {
	case err := <-done:
		return time.Since(t0), err
	case <-ctx.Done():
		return 0, fmt.Errorf("%d round trips: %w", n, ctx.Err())
	}
}

// hopByFuture times n round trips from this goroutine, each waiting on a
// future (variant "future").
func (h *hopActors) hopByFuture(ctx context.Context, n int) (time.Duration, error) {
	t0 := time.Now()
	for i := range n {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		reply, err := h.sys.Root().RequestFuture(h.server, &hopPing{seq: i}, hopTimeout).Result()
		if err != nil {
			return 0, fmt.Errorf("round trip %d: %w", i, err)
		}
		if pong, ok := reply.(*hopPong); !ok || pong.seq != i {
			return 0, fmt.Errorf("round trip %d: reply %v", i, reply)
		}
	}
	return time.Since(t0), nil
}

// hopMode is how a B10 variant drives its round trips.
type hopMode int

const (
	hopRequest hopMode = iota // client actor, ctx.Request and ctx.Respond
	hopFuture                 // a goroutine waiting on RequestFuture
	hopDefault                // hopRequest on protoactor-go's default dispatcher
)

// hopOurs is one side of a variant: it starts a system, runs warmup
// round trips, times n more and returns ns per round trip. It closes the
// system before returning.
func hopOurs(ctx context.Context, n, warmup int, mode hopMode) (_ float64, err error) {
	ctx, cancel := context.WithTimeout(ctx, hopTimeout)
	defer cancel()
	var opts []actor.PropsOption
	if mode == hopDefault {
		opts = append(opts, actor.WithDispatcher(actor.NewDefaultDispatcher(300)))
	}
	h, err := startHopActors(opts...)
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, h.close()) }()
	run := func(n int) (time.Duration, error) { return h.hopByFuture(ctx, n) }
	if mode != hopFuture {
		client, err := h.spawn(func() actor.Actor { return &hopClient{server: h.server} }, "client")
		if err != nil {
			return 0, err
		}
		run = func(n int) (time.Duration, error) { return h.hopByRequest(ctx, client, n) }
	}
	if _, err := run(warmup); err != nil {
		return 0, fmt.Errorf("warm-up: %w", err)
	}
	d, err := run(n)
	if err != nil {
		return 0, err
	}
	return perRoundTrip(d, n), nil
}

// hopChannels is the baseline side: a goroutine echoing requests from one
// unbuffered channel to another. It runs warmup round trips, times n more
// and returns ns per round trip; the echo goroutine has ended when it
// returns.
func hopChannels(ctx context.Context, n, warmup int) (float64, error) {
	reqs := make(chan *hopPing)
	replies := make(chan *hopPong)
	echoed := make(chan struct{})
	go func() {
		defer close(echoed)
		for p := range reqs {
			replies <- &hopPong{seq: p.seq}
		}
	}()
	defer func() {
		close(reqs)
		<-echoed
	}()
	run := func(n int) (time.Duration, error) {
		t0 := time.Now()
		for i := range n {
			reqs <- &hopPing{seq: i}
			if pong := <-replies; pong.seq != i {
				return 0, fmt.Errorf("reply %d to request %d", pong.seq, i)
			}
		}
		return time.Since(t0), ctx.Err()
	}
	if _, err := run(warmup); err != nil {
		return 0, fmt.Errorf("warm-up: %w", err)
	}
	d, err := run(n)
	if err != nil {
		return 0, err
	}
	return perRoundTrip(d, n), nil
}

// perRoundTrip is d spread over n round trips, in ns.
func perRoundTrip(d time.Duration, n int) float64 { return float64(d.Nanoseconds()) / float64(n) }

// hopVariants are B10's lines: the one with the goal, the future one for
// scale, and the runtime before its dispatcher.
var hopVariants = []struct {
	name string
	goal string
	mode hopMode
}{
	{"actor", "<= 2.5", hopRequest},
	{"future", "n/a", hopFuture},
	{"default-dispatcher", "n/a", hopDefault},
}

func hopSpec(variant, goal string) Spec {
	return Spec{
		ID:       "B10",
		Name:     "actor/hop",
		Variant:  variant,
		Baseline: "Go unbuffered channel ping-pong, round trip",
		Unit:     "ns",
		Goal:     goal,
		Fsync:    "n/a",
	}
}

// hopMeasures returns the two sides of one B10 variant.
func hopMeasures(n, warmup int, mode hopMode) (ours, base Measure) {
	ours = func(ctx context.Context) (float64, error) { return hopOurs(ctx, n, warmup, mode) }
	base = func(ctx context.Context) (float64, error) { return hopChannels(ctx, n, warmup) }
	return ours, base
}

// BenchmarkActorHop is B10. Each b.Loop iteration is one round (ours and
// the baseline, alternating who goes first), each side timing
// hopRoundTrips round trips, so -benchtime Nx runs N rounds per variant.
// ns/op is the wall time of a whole round; read ratio, ours-ns and
// base-ns.
func BenchmarkActorHop(b *testing.B) {
	for _, v := range hopVariants {
		b.Run(v.name, func(b *testing.B) {
			ours, base := hopMeasures(hopRoundTrips, hopWarmup, v.mode)
			var pairs []Pair
			for round := 0; b.Loop(); round++ {
				pair, err := RunPair(context.Background(), round, ours, base)
				if err != nil {
					b.Fatal(err)
				}
				b.Logf("round %d: ours %.0f ns, base %.0f ns, ratio %.3f", round, pair.Ours, pair.Base, pair.Ratio())
				pairs = append(pairs, pair)
			}
			r := Summarize(hopSpec(v.name, v.goal), pairs)
			r.Report(b)
			b.Log(r)
			results.Add(r)
		})
	}
}

// TestActorHopSmoke runs each B10 variant for one round of a few hundred
// round trips, so that the benchmark's machinery keeps working. It checks
// that both sides answer every request in order and that the ratio is a
// number, never how fast anything is.
func TestActorHopSmoke(t *testing.T) {
	for _, v := range hopVariants {
		t.Run(v.name, func(t *testing.T) {
			ours, base := hopMeasures(300, 30, v.mode)
			pairs, err := Interleave(t.Context(), 1, ours, base)
			if err != nil {
				t.Fatal(err)
			}
			r := Summarize(hopSpec(v.name, v.goal), pairs)
			if !(r.Ratio > 0) || math.IsInf(r.Ratio, 0) {
				t.Fatalf("ratio %v, want a positive finite number", r.Ratio)
			}
			t.Log(r)
		})
	}
}
