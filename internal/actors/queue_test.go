package actors_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/actors"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/testkit"
)

// gatedCounter adds its commands to a total; a command of -1 holds the
// replica's apply until gate is closed.
type gatedCounter struct {
	gate  <-chan struct{}
	total int64
}

func (*gatedCounter) Signature() id.Digest { return id.Of("test/gated-counter/v1") }
func (c *gatedCounter) Apply(_ statemachine.ApplyContext, cmds []int64) {
	for _, n := range cmds {
		if n == -1 {
			<-c.gate
			continue
		}
		c.total += n
	}
}
func (c *gatedCounter) Query(struct{}) int64      { return c.total }
func (c *gatedCounter) Snapshot(io.Writer) error  { return nil }
func (c *gatedCounter) Restore(r io.Reader) error { return nil }

// queueGroup joins a one-member group of gatedCounter and waits until it
// takes commands. release opens the gate (also done at cleanup, before
// the cluster closes).
func queueGroup(t *testing.T, ctx context.Context) (grp *actors.Group, release func()) {
	t.Helper()
	c := testkit.NewCluster(t, 1, testkit.Options{})
	gate := make(chan struct{})
	release = sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release)
	codecs := statemachine.Codecs[int64, struct{}, int64]{
		Command: statemachine.JSON[int64](), Query: statemachine.JSON[struct{}](), Result: statemachine.JSON[int64](),
	}
	grp, err := c.Node(0).Join(ctx, actors.GroupConfig{
		Key:       groups.KeyFromSecret("queue"),
		Consensus: groups.FastConsensus(),
		Machine: func() statemachine.Machine {
			return statemachine.Erase[int64, struct{}, int64](&gatedCounter{gate: gate}, codecs)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := grp.WaitConsensus(ctx, actors.Consensus.Online); err != nil {
		t.Fatal(err)
	}
	return grp, release
}

func command(n int64) []byte {
	b, _ := statemachine.JSON[int64]().Encode(n)
	return statemachine.EncodeSingle(b)
}

// outcome is what an Offer's callback learned.
type outcome struct {
	seq   int
	index uint64
	err   error
}

// outcomes records Offer callbacks in the order they are called.
type outcomes chan outcome

func (o outcomes) then(seq int) func(uint64, error) {
	return func(index uint64, err error) { o <- outcome{seq: seq, index: index, err: err} }
}

// take returns the next n outcomes.
func (o outcomes) take(t *testing.T, ctx context.Context, n int) []outcome {
	t.Helper()
	got := make([]outcome, 0, n)
	for len(got) < n {
		select {
		case r := <-o:
			got = append(got, r)
		case <-ctx.Done():
			t.Fatalf("%d of %d outcomes reported", len(got), n)
		}
	}
	return got
}

// TestQueueProposesInOrderAndBoundsWaiting: with a command held in
// flight, MaxQueued more wait and the next is refused at once; released,
// every accepted command commits in the order offered and reports in
// that order.
func TestQueueProposesInOrderAndBoundsWaiting(t *testing.T) {
	ctx := testkit.Context(t)
	grp, release := queueGroup(t, ctx)
	q := grp.NewQueue()
	defer q.Close()

	out := make(outcomes, actors.MaxQueued+2)
	accepted := 0
	offer := func(n int64) error {
		err := q.Offer(ctx, command(n), out.then(accepted))
		if err == nil {
			accepted++
		}
		return err
	}
	if err := offer(-1); err != nil {
		t.Fatal(err)
	}
	for accepted < actors.MaxQueued {
		if err := offer(1); err != nil {
			t.Fatalf("offer %d: %v", accepted, err)
		}
	}
	// The held command waits, or is in flight: either way the queue has
	// room for at most one more.
	err := offer(1)
	if err == nil {
		err = offer(1)
	}
	if !errors.Is(err, actors.ErrQueueFull) {
		t.Fatalf("offer %d: %v, want ErrQueueFull", accepted, err)
	}
	release()

	var last uint64
	for i, o := range out.take(t, ctx, accepted) {
		if o.seq != i || o.err != nil || o.index <= last {
			t.Fatalf("outcome %d: command %d, index %d (previous %d), error %v", i, o.seq, o.index, last, o.err)
		}
		last = o.index
	}
	idx, err := q.Propose(ctx, command(5))
	if err != nil || idx <= last {
		t.Fatalf("Propose after the burst: index %d (last %d), %v", idx, last, err)
	}
}

// TestQueueCloseFailsWhatWaits: Close abandons the command in flight and
// fails every waiting one with ErrQueueClosed, reporting in queue order;
// a closed queue refuses everything.
func TestQueueCloseFailsWhatWaits(t *testing.T) {
	ctx := testkit.Context(t)
	grp, _ := queueGroup(t, ctx)
	q := grp.NewQueue()

	const n = 50
	out := make(outcomes, n+1)
	if err := q.Offer(ctx, command(-1), out.then(0)); err != nil {
		t.Fatal(err)
	}
	fed, err := q.Submit(ctx, command(1))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if err := q.Offer(ctx, command(1), out.then(i)); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()

	got := out.take(t, ctx, n+1)
	if got[0].seq != 0 || !errors.Is(got[0].err, actors.ErrQueueClosed) {
		t.Fatalf("held command: %+v, want ErrQueueClosed first", got[0])
	}
	for i, o := range got[1:] {
		if o.seq != i+1 || !errors.Is(o.err, actors.ErrQueueClosed) || errors.Is(o.err, actors.ErrOutcomeUnknown) {
			t.Fatalf("outcome %d: %+v, want command %d never proposed", i+1, o, i+1)
		}
	}
	if _, err := fed.Wait(ctx); !errors.Is(err, actors.ErrQueueClosed) {
		t.Fatalf("submitted command: %v, want ErrQueueClosed", err)
	}
	if _, err := q.Propose(ctx, command(1)); !errors.Is(err, actors.ErrQueueClosed) {
		t.Fatalf("Propose after Close: %v", err)
	}
	if _, err := q.Submit(ctx, command(1)); !errors.Is(err, actors.ErrQueueClosed) {
		t.Fatalf("Submit after Close: %v", err)
	}
	if err := q.Offer(ctx, command(1), func(uint64, error) {}); !errors.Is(err, actors.ErrQueueClosed) {
		t.Fatalf("Offer after Close: %v", err)
	}
}

// TestQueueSkipsCommandsWhoseContextEnded: a command whose ctx ended
// while it waited is never proposed; those around it are.
func TestQueueSkipsCommandsWhoseContextEnded(t *testing.T) {
	ctx := testkit.Context(t)
	grp, release := queueGroup(t, ctx)
	q := grp.NewQueue()
	defer q.Close()

	out := make(outcomes, 3)
	gone, cancel := context.WithCancel(ctx)
	for i, c := range []struct {
		ctx context.Context
		n   int64
	}{{ctx, -1}, {gone, 100}, {ctx, 7}} {
		if err := q.Offer(c.ctx, command(c.n), out.then(i)); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	release()
	got := out.take(t, ctx, 3)
	if got[0].err != nil || !errors.Is(got[1].err, context.Canceled) || got[2].err != nil {
		t.Fatalf("outcomes %+v: want the cancelled command alone failed", got)
	}
	if total, _, err := grp.Read(ctx, []byte("{}"), true); err != nil || string(total) != "7" {
		t.Fatalf("total %s (%v), want 7: the cancelled command was applied", total, err)
	}
}
