package rsm_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/counter"
	"github.com/mosaikgo/mosaik/rsm"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/testkit"
)

// history records every command in the order it was applied; queries
// read the whole history. A counter is its sum.
type history struct{ applied []int64 }

func (*history) Signature() id.Digest { return id.Of("test/rsm/history/v1") }
func (h *history) Apply(_ statemachine.ApplyContext, cmds []int64) {
	h.applied = append(h.applied, cmds...)
}
func (h *history) Query(struct{}) []int64     { return slices.Clone(h.applied) }
func (h *history) Snapshot(w io.Writer) error { return json.NewEncoder(w).Encode(h.applied) }
func (h *history) Restore(r io.Reader) error  { return json.NewDecoder(r).Decode(&h.applied) }

func historyConfig(secret string) rsm.Config[int64, struct{}, []int64] {
	return rsm.Config[int64, struct{}, []int64]{
		Key:       groups.KeyFromSecret(secret),
		Consensus: groups.FastConsensus(),
		Machine:   func() statemachine.StateMachine[int64, struct{}, []int64] { return &history{} },
		Codecs: statemachine.Codecs[int64, struct{}, []int64]{
			Command: statemachine.JSON[int64](), Query: statemachine.JSON[struct{}](), Result: statemachine.JSON[[]int64](),
		},
	}
}

func joinAll[C, Q, R any](t *testing.T, c *testkit.Cluster, cfg rsm.Config[C, Q, R]) []*rsm.Group[C, Q, R] {
	t.Helper()
	var gs []*rsm.Group[C, Q, R]
	for _, i := range c.Live() {
		g, err := rsm.Join(context.Background(), c.Node(i), cfg)
		if err != nil {
			t.Fatalf("node %d: Join: %v", i, err)
		}
		gs = append(gs, g)
	}
	return gs
}

// waitLeader waits until every member is online and knows the same
// leader (every member online means the committee is complete), and
// returns the index of the leader and of a follower (or of the leader if
// alone).
func waitLeader[C, Q, R any](t *testing.T, ctx context.Context, gs []*rsm.Group[C, Q, R]) (leader, follower int) {
	t.Helper()
	cores := make([]*cluster.Group, len(gs))
	for i, g := range gs {
		cores[i] = g.Core()
	}
	agreed, err := testkit.WaitLeader(ctx, cores)
	if err != nil {
		t.Fatal(err)
	}
	leader, follower = -1, -1
	for i, g := range gs {
		if g.Self() == agreed {
			leader = i
		} else if follower < 0 {
			follower = i
		}
	}
	if follower < 0 {
		follower = leader
	}
	return leader, follower
}

func TestExecuteOnAFollowerAndQuery(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	gs := joinAll(t, c, counter.Typed("execute"))
	leader, follower := waitLeader(t, ctx, gs)
	if !gs[leader].IsLeader() || gs[follower].IsLeader() || gs[follower].Leader() != gs[leader].Self() {
		t.Fatalf("leader views: leader %v follower %v", gs[leader].IsLeader(), gs[follower].IsLeader())
	}
	first, err := gs[follower].Execute(ctx, 2)
	if err != nil || first == 0 {
		t.Fatalf("Execute = %d, %v", first, err)
	}
	last, err := gs[follower].Execute(ctx, 40)
	if err != nil || last <= first {
		t.Fatalf("Execute = %d, %v (after %d)", last, err, first)
	}
	if got := gs[follower].Committed(); got < last {
		t.Fatalf("Committed = %d right after Execute returned %d", got, last)
	}
	// Every member's strong query reflects every acknowledged write.
	for i, g := range gs {
		v, applied, err := g.Query(ctx, struct{}{}, rsm.Strong)
		if err != nil || v != 42 || applied < last {
			t.Fatalf("member %d: Strong = %d at %d, %v; want 42 at >= %d", i, v, applied, err, last)
		}
	}
	// The proposer applied it before Execute returned: a weak read sees it.
	v, applied, err := gs[follower].Query(ctx, struct{}{}, rsm.Weak)
	if err != nil || v != 42 || applied < last {
		t.Fatalf("Weak on the proposer = %d at %d, %v", v, applied, err)
	}
}

// A strong query started after writes on other members were acknowledged
// reflects them all, on any member.
func TestStrongQueryReflectsAcknowledgedWrites(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	gs := joinAll(t, c, counter.Typed("strong"))
	waitLeader(t, ctx, gs)
	var want int64
	for round := range 6 {
		writer, reader := gs[round%3], gs[(round+1)%3]
		n := int64(round + 1)
		idx, err := writer.Execute(ctx, n)
		if err != nil {
			t.Fatalf("round %d: Execute: %v", round, err)
		}
		want += n
		v, applied, err := reader.Query(ctx, struct{}{}, rsm.Strong)
		if err != nil || v != want || applied < idx {
			t.Fatalf("round %d: Strong on another member = %d at %d, %v; want %d at >= %d", round, v, applied, err, want, idx)
		}
	}
}

func TestExecuteManyCommitsOneEntryInOrder(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	gs := joinAll(t, c, historyConfig("batch"))
	_, follower := waitLeader(t, ctx, gs)
	// Batches from every member at once: each stays contiguous and in order.
	batches := [][]int64{{1, 2, 3, 4, 5}, {10, 20, 30}, {100, 200, 300, 400}}
	ranges := make([]rsm.IndexRange, len(batches))
	errs := make([]error, len(batches))
	var wg sync.WaitGroup
	for i, b := range batches {
		wg.Go(func() { ranges[i], errs[i] = gs[i].ExecuteMany(ctx, b) })
	}
	wg.Wait()
	for i := range batches {
		if errs[i] != nil || ranges[i].First == 0 || ranges[i].First != ranges[i].Last {
			t.Fatalf("batch %d: range %+v, %v", i, ranges[i], errs[i])
		}
	}
	log, applied, err := gs[follower].Query(ctx, struct{}{}, rsm.Strong)
	if err != nil || len(log) != 12 {
		t.Fatalf("history = %v at %d, %v", log, applied, err)
	}
	for i, b := range batches {
		at := slices.Index(log, b[0])
		if at < 0 || at+len(b) > len(log) || !slices.Equal(log[at:at+len(b)], b) {
			t.Fatalf("batch %d %v not contiguous in %v", i, b, log)
		}
	}
}

func TestFeedThenWaitKeepsIssueOrder(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	cfg := historyConfig("feed")
	// Fed commands have no deadline of their own, so each gets the
	// ForwardTimeout; the fast profile's second is shorter than a stall
	// of a loaded 2-core machine under -race, and the test is about
	// order, not timing.
	cfg.Consensus.ForwardTimeout = 10 * time.Second
	gs := joinAll(t, c, cfg)
	_, follower := waitLeader(t, ctx, gs)
	g := gs[follower]
	var pending []*rsm.Pending
	var want []int64
	for n := range int64(20) {
		if n%5 == 4 {
			p, err := g.FeedMany(ctx, []int64{n * 100, n*100 + 1})
			if err != nil {
				t.Fatalf("FeedMany: %v", err)
			}
			pending, want = append(pending, p), append(want, n*100, n*100+1)
			continue
		}
		p, err := g.Feed(ctx, n)
		if err != nil {
			t.Fatalf("Feed(%d): %v", n, err)
		}
		pending, want = append(pending, p), append(want, n)
	}
	var last uint64
	for i, p := range pending {
		idx, err := p.Wait(ctx)
		if err != nil || idx <= last {
			t.Fatalf("pending %d: index %d, %v (previous %d)", i, idx, err, last)
		}
		select {
		case <-p.Done():
		default:
			t.Fatalf("pending %d: Done not closed after Wait", i)
		}
		last = idx
	}
	log, applied, err := g.Query(ctx, struct{}{}, rsm.Weak)
	if err != nil || applied < last || !slices.Equal(log, want) {
		t.Fatalf("history %v at %d, %v; want %v at >= %d", log, applied, err, want, last)
	}
}

func TestConcurrentExecutes(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	gs := joinAll(t, c, counter.Typed("concurrent"))
	waitLeader(t, ctx, gs)
	const workers, each = 16, 20
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				if _, err := gs[w%len(gs)].Execute(ctx, 1); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Execute: %v", err)
	}
	for i, g := range gs {
		if v, _, err := g.Query(ctx, struct{}{}, rsm.Strong); err != nil || v != workers*each {
			t.Fatalf("member %d: total %d, %v; want %d", i, v, err, workers*each)
		}
	}
}

func TestWhenFiresAtOnceWhenItHolds(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	gs := joinAll(t, c, counter.Typed("when"))
	// Waiting for what is not yet true works too.
	if err := gs[0].When().Online(ctx); err != nil {
		t.Fatalf("Online: %v", err)
	}
	leader, follower := waitLeader(t, ctx, gs)
	idx, err := gs[follower].Execute(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	// With a context that has already ended, only a condition that
	// already holds can succeed.
	done, cancel := context.WithCancel(ctx)
	cancel()
	w := gs[follower].When()
	for name, wait := range map[string]func(context.Context) error{
		"LeaderElected":     w.LeaderElected,
		"Online":            w.Online,
		"IsFollower":        w.IsFollower,
		"LeaderIs":          func(ctx context.Context) error { return w.LeaderIs(ctx, gs[leader].Self()) },
		"IsLeader(leader)":  gs[leader].When().IsLeader,
		"Committed.Reaches": func(ctx context.Context) error { return w.Committed().Reaches(ctx, idx) },
	} {
		if err := wait(done); err != nil {
			t.Errorf("%s with an ended context: %v", name, err)
		}
	}
	for name, wait := range map[string]func(context.Context) error{
		"Offline":  w.Offline,
		"IsLeader": w.IsLeader,
		"LeaderChanged": func(ctx context.Context) error {
			_, err := w.LeaderChanged(ctx)
			return err
		},
		"Advanced":       w.Committed().Advanced,
		"Reaches(idx+1)": func(ctx context.Context) error { return w.Committed().Reaches(ctx, idx+1) },
	} {
		if err := wait(done); !errors.Is(err, context.Canceled) {
			t.Errorf("%s does not hold, yet returned %v", name, err)
		}
	}
	// Reaches and Advanced fire once a later command is applied here.
	reached := make(chan error, 2)
	go func() { reached <- w.Committed().Reaches(ctx, idx+1) }()
	go func() { reached <- w.Committed().Changed(ctx) }()
	if _, err := gs[leader].Execute(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-reached; err != nil {
			t.Fatalf("Committed wait: %v", err)
		}
	}
}

func TestErrors(t *testing.T) {
	c := testkit.NewCluster(t, 1, testkit.Options{})
	ctx := testkit.Context(t)
	cfg := counter.Typed("errors")
	cfg.Consensus = groups.DefaultConsensus() // a 3 s bootstrap delay: surely still offline
	g, err := rsm.Join(ctx, c.Node(0), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var offline *rsm.OfflineError[int64]
	if _, err := g.Execute(ctx, 7); !errors.Is(err, rsm.ErrOffline) || !errors.As(err, &offline) || !slices.Equal(offline.Commands, []int64{7}) {
		t.Fatalf("Execute before online: %v, want an OfflineError carrying [7]", err)
	}
	if _, err := g.ExecuteMany(ctx, []int64{1, 2}); !errors.As(err, &offline) || !slices.Equal(offline.Commands, []int64{1, 2}) {
		t.Fatalf("ExecuteMany before online: %v", err)
	}
	if _, err := g.Feed(ctx, 3); !errors.As(err, &offline) || !slices.Equal(offline.Commands, []int64{3}) {
		t.Fatalf("Feed before online: %v", err)
	}
	if _, _, err := g.Query(ctx, struct{}{}, rsm.Strong); !errors.Is(err, rsm.ErrOffline) {
		t.Fatalf("Strong query before online: %v", err)
	}
	if _, err := g.ExecuteMany(ctx, nil); !errors.Is(err, rsm.ErrNoCommands) {
		t.Fatalf("ExecuteMany(nil): %v", err)
	}
	if _, err := g.FeedMany(ctx, []int64{}); !errors.Is(err, rsm.ErrNoCommands) {
		t.Fatalf("FeedMany(empty): %v", err)
	}
	// Join is idempotent per group id: a second handle, the same group.
	again, err := rsm.Join(ctx, c.Node(0), cfg)
	if err != nil || again.Core() != g.Core() {
		t.Fatalf("second Join: %v (same core: %v)", err, err == nil && again.Core() == g.Core())
	}
	again.Close()
	if _, err := again.Execute(ctx, 1); !errors.Is(err, rsm.ErrGroupTerminated) {
		t.Fatalf("Execute on a closed handle: %v", err)
	}
	bad := cfg
	bad.Machine = nil
	if _, err := rsm.Join(ctx, c.Node(0), bad); err == nil {
		t.Fatal("Join without a machine succeeded")
	}
	// Codecs left out default to JSON for these plain types.
	defaults := cfg
	defaults.Codecs = statemachine.Codecs[int64, struct{}, int64]{}
	h, err := rsm.Join(ctx, c.Node(0), defaults)
	if err != nil {
		t.Fatalf("Join with default codecs: %v", err)
	}
	defer h.Close()
	if err := h.When().Online(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Execute(ctx, 1); err != nil {
		t.Fatalf("Execute with default codecs: %v", err)
	}
}

func TestCallsAfterLeaveAreTerminated(t *testing.T) {
	c := testkit.NewCluster(t, 1, testkit.Options{})
	ctx := testkit.Context(t)
	g := joinAll(t, c, counter.Typed("leave"))[0]
	waitLeader(t, ctx, []*rsm.Group[int64, struct{}, int64]{g})
	if _, err := g.Execute(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := g.Leave(ctx); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	if err := g.Leave(ctx); err != nil {
		t.Fatalf("second Leave: %v", err)
	}
	if _, err := g.Execute(ctx, 1); !errors.Is(err, rsm.ErrGroupTerminated) {
		t.Fatalf("Execute: %v", err)
	}
	if _, err := g.ExecuteMany(ctx, []int64{1}); !errors.Is(err, rsm.ErrGroupTerminated) {
		t.Fatalf("ExecuteMany: %v", err)
	}
	if _, err := g.Feed(ctx, 1); !errors.Is(err, rsm.ErrGroupTerminated) {
		t.Fatalf("Feed: %v", err)
	}
	if _, _, err := g.Query(ctx, struct{}{}, rsm.Weak); !errors.Is(err, rsm.ErrGroupTerminated) {
		t.Fatalf("Query: %v", err)
	}
	if err := g.When().Online(ctx); !errors.Is(err, rsm.ErrGroupTerminated) {
		t.Fatalf("When().Online: %v", err)
	}
	if err := g.When().Committed().Reaches(ctx, 1<<40); !errors.Is(err, rsm.ErrGroupTerminated) {
		t.Fatalf("Committed().Reaches: %v", err)
	}
}

// Commands fed just before Leave each end one way or the other: applied
// with an index, or ErrGroupTerminated; none is left waiting.
func TestLeaveResolvesEveryPending(t *testing.T) {
	c := testkit.NewCluster(t, 1, testkit.Options{})
	ctx := testkit.Context(t)
	g := joinAll(t, c, counter.Typed("leave-pending"))[0]
	waitLeader(t, ctx, []*rsm.Group[int64, struct{}, int64]{g})
	var pending []*rsm.Pending
	for range 50 {
		p, err := g.Feed(ctx, 1)
		if err != nil {
			t.Fatalf("Feed: %v", err)
		}
		pending = append(pending, p)
	}
	if err := g.Leave(ctx); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	for i, p := range pending {
		if idx, err := p.Wait(ctx); (err == nil) == (idx == 0) || (err != nil && !errors.Is(err, rsm.ErrGroupTerminated)) {
			t.Fatalf("pending %d: %d, %v", i, idx, err)
		}
	}
}

// TestLeaderChangedNamesTheNewLeader: LeaderChanged hands back the leader
// that met it, and every member (not only the leader) reads the
// committee's size.
func TestLeaderChangedNamesTheNewLeader(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	gs := joinAll(t, c, counter.Typed("leader-changed"))
	leader, follower := waitLeader(t, ctx, gs)
	// The follower reads the committee from the configuration its own
	// replica has applied.
	if err := testkit.WaitFor(ctx, func() bool { return gs[follower].Voters() == 3 && gs[follower].IsVoter() }); err != nil {
		t.Fatalf("a follower reads a committee of %d (voting: %v), want 3 with itself: %v", gs[follower].Voters(), gs[follower].IsVoter(), err)
	}
	changed := make(chan id.PeerID, 1)
	go func() {
		next, err := gs[follower].When().LeaderChanged(ctx)
		if err != nil {
			t.Errorf("LeaderChanged: %v", err)
		}
		changed <- next
	}()
	old := gs[leader].Self()
	c.Close(leader)
	var cores []*cluster.Group
	for i, g := range gs {
		if i != leader {
			cores = append(cores, g.Core())
		}
	}
	next, err := testkit.WaitNewLeader(ctx, cores, old)
	if err != nil {
		t.Fatal(err)
	}
	if got := <-changed; got != next {
		t.Fatalf("LeaderChanged returned %s, the survivors agree on %s", got.Short(), next.Short())
	}
}
