package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/rsm"
	"github.com/mosaikgo/mosaik/testkit"
)

// T is what a run needs of its caller: the test kit's T and logging.
// *testing.T satisfies it.
type T interface {
	testkit.T
	Logf(format string, args ...any)
}

// Mark is one fault injected (or lifted) during a run, for reports,
// plots and the checker's visualization.
type Mark struct {
	At   time.Duration // since Setup began
	What string
}

// Env is what a scenario's fault script works with: the cluster, the KV
// group's handle on every live node, a seeded source for the script's
// choices, and the log of faults. Its methods are for the script's one
// goroutine; the workload's clients only read the handles.
type Env struct {
	t       T
	name    string
	opts    Options
	Cluster *testkit.Cluster
	cfg     rsm.Config[Append, Read, []int64]
	rng     *rand.Rand
	began   time.Time

	// The current round: its number (keys are named after it), its
	// history, when it began since the run began, and when on the clock
	// its history's times count from. The fields below are the script's
	// goroutine's, like the Env's methods.
	round     int
	history   *testkit.History
	roundAt   time.Duration
	historyAt time.Time
	// phases divide the round for the progress it must show (want, for
	// the mode); load is its workload, split whether the network is still
	// partitioned by Scenario.Split.
	phases phases
	want   Progress
	waited Waits
	load   *workload
	split  bool
	// progressed is signalled whenever a call returns, for waits on the
	// round's progress.
	progressed chan struct{}
	// wrap, when set, wraps the handle each workload call goes through:
	// the self-test injects bugs there. The checker's own reads bypass it.
	wrap func(member int, h *Group) client

	mu struct {
		sync.Mutex
		handles map[int]*Group // by node index; absent while the node is down
		marks   []Mark
		rivals  []cluster.RivalLoss
	}
	watchers  sync.WaitGroup // rival-event readers, one per handle
	stopWatch context.CancelFunc
	watchCtx  context.Context
}

// Rand is the script's seeded random source.
func (e *Env) Rand() *rand.Rand { return e.rng }

// faultBegins records the first fault of the round, where its Before
// phase ends and its During phase begins.
func (e *Env) faultBegins() {
	if e.phases.fault == never {
		e.phases.fault = e.now()
	}
}

// CutOff names the members a partition cuts off from the rest, until
// Heal: the round counts their calls apart (Progress.CutOff and the
// cut-off reads), and readers pinned to each of them read it weakly and
// strongly for the rest of the round. In availability-first mode a
// cut-off side re-forms and must serve; under StrictQuorum it must stay
// offline, and whatever it answers is checked.
func (e *Env) CutOff(members ...int) {
	e.Mark("cut off: %v", members)
	if e.phases.cutFrom == never {
		e.phases.cutFrom = e.now()
	}
	for _, i := range members {
		e.phases.cut[i] = true
		if e.load != nil {
			e.load.readOn(i)
		}
	}
}

// Endure lets a fault last for d (scaled by Options.Scale), and then
// until the round has made the progress its scenario requires during
// the fault (Scenario.Want: During, and the cut-off side's), or
// Options.ProgressTimeout passes; the round's check reports a shortfall.
// Scripts call it where the fault holds, instead of Hold, so that a slow
// machine lengthens the fault rather than failing the round, while a
// group that makes no progress still fails it.
func (e *Env) Endure(ctx context.Context, d time.Duration) error {
	if err := e.Hold(ctx, d); err != nil {
		return err
	}
	w := e.want
	return e.awaitProgress(ctx, "during the fault", Progress{During: w.During, CutOff: w.CutOff, CutOffStrong: w.CutOffStrong, CutOffWeak: w.CutOffWeak}, &e.waited.During)
}

// Mark logs a fault.
func (e *Env) Mark(format string, args ...any) {
	m := Mark{At: time.Since(e.began), What: fmt.Sprintf(format, args...)}
	e.mu.Lock()
	e.mu.marks = append(e.mu.marks, m)
	e.mu.Unlock()
	e.t.Logf("chaos: %6.2fs %s", m.At.Seconds(), m.What)
}

func (e *Env) marks() []Mark {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.mu.marks)
}

// Hold lets a fault last for d (scaled by Options.Scale). This is the
// fault's duration, not a wait for a condition.
func (e *Env) Hold(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(time.Duration(float64(d) * e.opts.Scale)):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Pick returns one of xs at random.
func (e *Env) Pick(xs []int) int { return xs[e.rng.IntN(len(xs))] }

// Live returns the indexes of the nodes whose group handle is up.
func (e *Env) Live() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]int, 0, len(e.mu.handles))
	for i := range e.mu.handles {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

// Handle returns node i's group handle, or nil while it is down.
func (e *Env) Handle(i int) *Group {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.mu.handles[i]
}

// join joins the KV group on node i and starts following its rival
// events.
func (e *Env) join(ctx context.Context, i int) error {
	g, err := rsm.Join(ctx, e.Cluster.Node(i), e.cfg)
	if err != nil {
		return fmt.Errorf("chaos: node %d: join: %w", i, err)
	}
	sub := g.Core().SubscribeRivals()
	e.watchers.Go(func() {
		defer sub.Close()
		for {
			ev, err := sub.Next(e.watchCtx)
			if err != nil {
				return
			}
			e.mu.Lock()
			e.mu.rivals = append(e.mu.rivals, ev)
			e.mu.Unlock()
			e.Mark("node %d: genesis %s lost to %s, %d commands discarded", i, ev.Lost.Short(), ev.Winner.Short(), ev.Commands)
		}
	})
	e.mu.Lock()
	e.mu.handles[i] = g
	e.mu.Unlock()
	return nil
}

func (e *Env) rivals() []cluster.RivalLoss {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.mu.rivals)
}

// Leader waits until every live member agrees on one leader, itself a
// live member, and returns its node index.
func (e *Env) Leader(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, testkit.DefaultTimeout)
	defer cancel()
	leader := -1
	err := testkit.WaitFor(ctx, func() bool {
		leader = e.agreedLeader(e.Live())
		return leader >= 0
	})
	if err != nil {
		return -1, fmt.Errorf("chaos: no agreed leader among %d: %w", e.Live(), err)
	}
	return leader, nil
}

// agreedLeader returns the node index of the leader every one of members
// knows, if it is one of them and online, or -1.
func (e *Env) agreedLeader(members []int) int {
	var leader id.PeerID
	for n, i := range members {
		h := e.Handle(i)
		if h == nil {
			return -1
		}
		c := h.Core().Consensus()
		if !c.Online() || (n > 0 && c.Leader != leader) {
			return -1
		}
		leader = c.Leader
	}
	for _, i := range members {
		if e.Handle(i).Self() == leader {
			return i
		}
	}
	return -1
}

// Followers returns the live members other than the leader.
func (e *Env) Followers(ctx context.Context) (leader int, followers []int, err error) {
	leader, err = e.Leader(ctx)
	if err != nil {
		return -1, nil, err
	}
	for _, i := range e.Live() {
		if i != leader {
			followers = append(followers, i)
		}
	}
	return leader, followers, nil
}

// Kill crashes node i (on loopback: closes it).
func (e *Env) Kill(i int) {
	e.Mark("kill node %d", i)
	e.faultBegins()
	e.mu.Lock()
	h := e.mu.handles[i]
	delete(e.mu.handles, i)
	e.mu.Unlock()
	start := time.Now()
	e.Cluster.Kill(i)
	if h != nil {
		h.Close()
	}
	if d := time.Since(start); d > time.Second {
		e.Mark("node %d took %.1fs to stop", i, d.Seconds())
	}
}

// Restart starts node i again (from its data directory in durable
// scenarios), joins the group and waits until it is online.
func (e *Env) Restart(ctx context.Context, i int) error {
	e.Mark("restart node %d", i)
	e.Cluster.Restart(i)
	if err := e.join(ctx, i); err != nil {
		return err
	}
	return e.waitOnline(ctx, i)
}

// Add starts a new node, joins it to the group and waits until it is
// online; it returns the node's index.
func (e *Env) Add(ctx context.Context) (int, error) {
	i := e.Cluster.Len()
	e.Mark("add node %d", i)
	e.faultBegins()
	e.Cluster.Add()
	if err := e.join(ctx, i); err != nil {
		return -1, err
	}
	return i, e.waitOnline(ctx, i)
}

func (e *Env) waitOnline(ctx context.Context, i int) error {
	ctx, cancel := context.WithTimeout(ctx, testkit.DefaultTimeout)
	defer cancel()
	h := e.Handle(i)
	if err := h.When().Online(ctx); err != nil {
		return fmt.Errorf("chaos: node %d never came online (%+v): %w", i, h.Core().Consensus(), err)
	}
	return nil
}

// Partition splits the nodes into groups that cannot reach each other;
// nodes named in no group reach everyone.
func (e *Env) Partition(parts ...[]int) {
	e.Mark("partition %v", parts)
	e.faultBegins()
	e.Cluster.Partition(parts...)
}

// Heal removes the partition; members cut off are no longer.
func (e *Env) Heal() {
	e.Mark("heal")
	e.Cluster.Heal()
	e.healed()
}

// healed ends the cut-off window and the split a round began with.
func (e *Env) healed() {
	if e.phases.cutFrom != never && e.phases.cutTo == never {
		e.phases.cutTo = e.now()
	}
	e.split = false
}

// Lossy makes every frame and gossip packet vanish with probability drop
// and arrive after delay plus up to jitter.
func (e *Env) Lossy(drop float64, delay, jitter time.Duration) {
	e.Mark("lossy network: drop %.0f%%, delay %v, jitter %v", drop*100, delay, jitter)
	e.faultBegins()
	e.Cluster.Net.SetDropRate(drop)
	e.Cluster.Net.SetDelay(delay)
	e.Cluster.Net.SetJitter(jitter)
}

// Clean lifts Lossy.
func (e *Env) Clean() {
	e.Mark("clean network")
	e.Cluster.Net.SetDropRate(0)
	e.Cluster.Net.SetDelay(0)
	e.Cluster.Net.SetJitter(0)
}

// Healthy waits until every live member is online in one genesis under
// one leader, and the leader's committee has as many voters as the group
// can have (every live member, at most five, an odd number).
func (e *Env) Healthy(ctx context.Context) error { return e.healthy(ctx, e.Live()) }

// healthy is Healthy for some of the members, as if they were alone.
func (e *Env) healthy(ctx context.Context, members []int) error {
	ctx, cancel := context.WithTimeout(ctx, testkit.DefaultTimeout)
	defer cancel()
	want := min(len(members), groups.DefaultMaxVoters)
	if want%2 == 0 {
		want--
	}
	var last string
	nextLog := time.Now().Add(5 * time.Second)
	err := testkit.WaitFor(ctx, func() bool {
		last = e.unhealthy(members, want)
		if last != "" && time.Now().After(nextLog) {
			// A slow recovery is worth seeing in the log as it happens.
			nextLog = time.Now().Add(5 * time.Second)
			e.t.Logf("chaos: still waiting for members %v: %s (%s)", members, last, e.describe(members))
		}
		return last == ""
	})
	if err != nil {
		return fmt.Errorf("chaos: members %d: %s (%s): %w", members, last, e.describe(members), err)
	}
	return nil
}

// describe shows each member's view of the group's consensus.
func (e *Env) describe(members []int) string {
	var parts []string
	for _, i := range members {
		h := e.Handle(i)
		if h == nil {
			parts = append(parts, fmt.Sprintf("%d: down", i))
			continue
		}
		c := h.Core().Consensus()
		parts = append(parts, fmt.Sprintf("%d (%s): genesis %s, running %v, leader %s, term %d, voters %d, bonds %d",
			i, h.Self().Short(), c.Genesis.Short(), c.Running, c.Leader.Short(), c.Term, c.Voters, len(h.Core().Bonds().Peers)))
	}
	return strings.Join(parts, "; ")
}

// unhealthy says why members are not healthy, or "" if they are.
func (e *Env) unhealthy(members []int, voters int) string {
	leader := e.agreedLeader(members)
	if leader < 0 {
		return "no agreed leader among them"
	}
	lc := e.Handle(leader).Core().Consensus()
	if lc.Voters != voters {
		return fmt.Sprintf("leader %d has %d voters, want %d", leader, lc.Voters, voters)
	}
	for _, i := range members {
		if c := e.Handle(i).Core().Consensus(); c.Genesis != lc.Genesis {
			return fmt.Sprintf("node %d is in genesis %s, the leader in %s", i, c.Genesis.Short(), lc.Genesis.Short())
		}
	}
	return ""
}
