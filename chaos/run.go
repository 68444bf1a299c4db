package chaos

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/testkit"
)

// Options shape a run. Every zero field takes the default named.
type Options struct {
	// Seed drives the script's choices, every client's calls and the
	// in-memory network's drops and jitter: a failing run replays with
	// the same seed. Default 1.
	Seed int64
	// Strict runs the group with StrictQuorum: no acknowledged write may
	// ever be lost. Otherwise availability first: a lone member re-forms
	// the group, and rival merges discard (and report) writes.
	Strict bool
	// Loopback runs the nodes on real QUIC and memberlist sockets over
	// 127.0.0.1; scenarios that partition or degrade the network need
	// the in-memory network.
	Loopback bool
	// Scale multiplies how long faults and the load last. Default 1 (the
	// sizes CI runs); long runs use more.
	Scale float64
	// Clients is the number of concurrent clients. Default 4.
	Clients int
	// Keys is the number of keys they write. Default 3.
	Keys int
	// Pace is each client's interval between calls. Default 20 ms.
	Pace time.Duration
	// ReadFraction is the share of calls that are strong reads.
	// Default 0.3.
	ReadFraction float64
	// WeakReadFraction is the share of calls that are weak reads, which
	// answer from the member's copy. Default 0.1; the rest are writes.
	WeakReadFraction float64
	// OpTimeout bounds each call. Default 2 s: an election and a retry.
	OpTimeout time.Duration
	// SnapshotEvery is the group's SnapshotEntries. Default 64, so that
	// members catch up from snapshots during the runs.
	SnapshotEvery uint64
	// VisDir receives the porcupine visualization of a history that is
	// not linearizable. Default <os.TempDir>/mosaik-chaos.
	VisDir string
	// CheckTimeout bounds the linearizability check of one history.
	// Default one minute; a check that runs out counts as a violation.
	CheckTimeout time.Duration
	// ProgressTimeout bounds each wait for a phase's minimum progress
	// (Scenario.Want), beyond the phase's own duration; scaled by Scale.
	// Default 15 s, over three failover bounds of the fast consensus
	// timings (groups.FailoverBound: 4.5 s), so that only a group that is
	// stuck falls short.
	ProgressTimeout time.Duration
}

func (o Options) withDefaults() Options {
	o.Seed = cmp.Or(o.Seed, 1)
	o.Scale = cmp.Or(o.Scale, 1)
	o.Clients = cmp.Or(o.Clients, 4)
	o.Keys = cmp.Or(o.Keys, 3)
	o.Pace = cmp.Or(o.Pace, 20*time.Millisecond)
	o.ReadFraction = cmp.Or(o.ReadFraction, 0.3)
	o.WeakReadFraction = cmp.Or(o.WeakReadFraction, 0.1)
	o.OpTimeout = cmp.Or(o.OpTimeout, 2*time.Second)
	o.SnapshotEvery = cmp.Or(o.SnapshotEvery, 64)
	o.VisDir = cmp.Or(o.VisDir, filepath.Join(os.TempDir(), "mosaik-chaos"))
	o.CheckTimeout = cmp.Or(o.CheckTimeout, time.Minute)
	o.ProgressTimeout = cmp.Or(o.ProgressTimeout, 15*time.Second)
	return o
}

// Scenario is a fault schedule run against a KV group under load.
type Scenario struct {
	// Name names the scenario in test names, reports and -run patterns.
	Name string
	// About says in one line what the scenario does.
	About string
	// Members is the number of nodes the group starts with.
	Members int
	// Durable nodes keep their group state in a data directory, so a
	// restarted node restarts its replica from its log.
	Durable bool
	// InMemory scenarios partition or degrade the network, which only
	// the in-memory network can do.
	InMemory bool
	// Split, when set, partitions the nodes this way before the group
	// forms, so that each part bootstraps its own genesis (rivals).
	// Availability-first mode only: StrictQuorum does not stop rivals
	// that form before members ever meet.
	Split [][]int
	// Script injects the faults while the load runs, and must leave
	// every node it killed running again. The run heals the network
	// afterwards.
	Script func(ctx context.Context, e *Env) error
	// Want is the least progress every round of the scenario must make,
	// by phase (see Progress; the cut-off side's writes and strong reads
	// apply in availability-first mode only). Rounds wait for it, up to
	// Options.ProgressTimeout, before they move on from a phase.
	Want Progress
}

// Sample is one call's latency, for plots.
type Sample struct {
	At      time.Duration // when the call began, since Setup began
	Latency time.Duration
	Append  bool
	Weak    bool // a weak read, answered from the member's copy
	Outcome Outcome
}

// Result is what a run found.
type Result struct {
	Scenario string
	Seed     int64
	Strict   bool
	Duration time.Duration
	// Calls by outcome, appends and reads together: done (completed with
	// a result), dropped (certainly without effect: appends refused
	// before submission, such as ErrOffline, and failed reads) and
	// indefinite (appends of unknown outcome, such as timeouts: possibly
	// applied).
	Done, Dropped, Indefinite int
	// Checked counts the operations the linearizability checker verified
	// (summed over the histories checked: one, or one per genesis);
	// WeakChecked the weak reads checked against the states of their
	// genesis's log.
	Checked, WeakChecked int
	// Progress is what the clients achieved, by phase; Want the
	// minimums the round had to meet (the scenario's, for the mode);
	// Waited how long phases ran past their own duration to meet them.
	Progress, Want Progress
	Waited         Waits
	// Acked counts acknowledged appends; Lost those missing at the end
	// that no rival merge reported; Discarded those a reported rival
	// merge discarded (availability-first mode only).
	Acked, Lost, Discarded int
	// Geneses is the number of geneses the calls ran in.
	Geneses int
	// Rivals are the rival losses members reported.
	Rivals []cluster.RivalLoss
	// Violations lists every check that failed, one line each.
	Violations []string
	// Visualizations are the files showing non-linearizable histories.
	Visualizations []string
	Marks          []Mark
	Samples        []Sample
}

// Run runs one scenario under load and checks what the clients saw:
// linearizability (of the whole history with StrictQuorum, of each
// genesis's history otherwise), that every acknowledged write survives
// or was reported discarded by a rival merge, and that every member ends
// with the same state. Setup failures end the test through t; check
// failures are returned as Result.Violations for the caller to judge.
func Run(t T, sc Scenario, o Options) Result {
	t.Helper()
	e := Setup(t, sc, o)
	defer e.stopWatching()
	return e.Round(context.Background(), sc.Want, sc.Script)
}

// Setup starts the cluster of a scenario and forms its KV group (each
// part of Scenario.Split on its own), ready for rounds. Everything is
// closed in t's cleanup.
func Setup(t T, sc Scenario, o Options) *Env {
	t.Helper()
	o = o.withDefaults()
	if sc.InMemory && o.Loopback {
		t.Fatalf("chaos: scenario %s needs the in-memory network", sc.Name)
	}
	t.Logf("chaos: scenario %s, seed %d, strict %v, loopback %v, scale %v", sc.Name, o.Seed, o.Strict, o.Loopback, o.Scale)
	e := newEnv(t, sc, o)
	if err := e.form(context.Background(), sc); err != nil {
		t.Fatalf("chaos: %s: the group never formed: %v", sc.Name, err)
	}
	return e
}

// Round runs the load on fresh keys while script injects faults, then
// lifts every fault, waits for the group to heal, reads the final state
// and checks the round's history and its progress against want (for
// the mode: see Progress.minimums). Each phase lasts its own time and
// then until its minimums are met or Options.ProgressTimeout passes:
// warm-up (Before), the script (During, by Endure), cool-down (After
// and the round's reads).
func (e *Env) Round(ctx context.Context, want Progress, script func(context.Context, *Env) error) Result {
	began := time.Now()
	e.round++
	e.history, e.roundAt = testkit.NewHistory(), time.Since(e.began)
	e.historyAt = time.Now()
	e.phases, e.want, e.waited = newPhases(), want.minimums(e.opts.Strict), Waits{}
	if e.split {
		// The round begins partitioned: there is no Before.
		e.phases.fault = 0
	}
	marksFrom, rivalsFrom := len(e.marks()), len(e.rivals())
	initial := e.geneses()
	e.load = startWorkload(e)
	var violations []string
	fail := func(format string, args ...any) { violations = append(violations, fmt.Sprintf(format, args...)) }
	if err := e.Hold(ctx, 300*time.Millisecond); err != nil {
		fail("warm-up: %v", err)
	}
	if err := e.awaitProgress(ctx, "before the fault", Progress{Before: e.want.Before}, &e.waited.Before); err != nil {
		fail("warm-up: %v", err)
	}
	if err := script(ctx, e); err != nil {
		fail("fault script: %v", err)
	}
	e.phases.scriptEnd = e.now()
	e.recover()
	if err := e.Healthy(ctx); err != nil {
		fail("recovery: %v", err)
	}
	e.phases.healthy = e.now()
	// Short: After's minimum, not the hold, is what makes the group show
	// it serves again.
	if err := e.Hold(ctx, 150*time.Millisecond); err != nil {
		fail("cool-down: %v", err)
	}
	if err := e.awaitProgress(ctx, "after the heal", Progress{After: e.want.After, Strong: e.want.Strong, Weak: e.want.Weak}, &e.waited.After); err != nil {
		fail("cool-down: %v", err)
	}
	e.load.Stop()
	e.load = nil
	res := e.check(ctx, initial, e.rivals()[rivalsFrom:], fail)
	res.Progress, res.Want, res.Waited = e.phases.measure(calls(e.history.Operations())), e.want, e.waited
	for _, short := range res.Progress.shortOf(res.Want) {
		fail("progress: %s", short)
	}
	res.Scenario, res.Seed, res.Strict = e.name, e.opts.Seed, e.opts.Strict
	res.Duration = time.Since(began)
	res.Violations = violations
	res.Rivals, res.Marks = e.rivals()[rivalsFrom:], e.marks()[marksFrom:]
	return res
}

func newEnv(t T, sc Scenario, o Options) *Env {
	e := &Env{
		t:    t,
		name: sc.Name,
		opts: o,
		rng:  rand.New(rand.NewPCG(uint64(o.Seed), 0)),
		Cluster: testkit.NewCluster(t, sc.Members, testkit.Options{
			Network:  "chaos/" + sc.Name,
			Loopback: o.Loopback,
			Seed:     o.Seed,
			Durable:  sc.Durable,
		}),
		cfg:   KVConfig("chaos/"+sc.Name, o.Strict, o.SnapshotEvery),
		began: time.Now(),
	}
	if sc.Durable {
		// A restarting node must find its place in the committee still
		// there, however slow the machine, to restart from its log.
		e.cfg.ReplaceAfter = 20 * time.Second
	}
	e.mu.handles = map[int]*Group{}
	e.progressed = make(chan struct{}, 1)
	e.watchCtx, e.stopWatch = context.WithCancel(context.Background())
	t.Cleanup(e.stopWatching)
	return e
}

func (e *Env) stopWatching() {
	e.stopWatch()
	e.watchers.Wait()
}

// form joins the group on every node (each part of Split on its own) and
// waits until it is healthy.
func (e *Env) form(ctx context.Context, sc Scenario) error {
	parts := sc.Split
	if len(parts) == 0 {
		parts = [][]int{e.Cluster.Live()}
	} else {
		e.Cluster.Partition(parts...)
		e.split = true
	}
	for i := range sc.Members {
		if err := e.join(ctx, i); err != nil {
			return err
		}
	}
	for _, part := range parts {
		if err := e.healthy(ctx, part); err != nil {
			return err
		}
	}
	return nil
}

// geneses returns the geneses the live members are in.
func (e *Env) geneses() map[groups.Genesis]bool {
	out := map[groups.Genesis]bool{}
	for _, i := range e.Live() {
		out[e.Handle(i).Core().Consensus().Genesis] = true
	}
	return out
}

// recover lifts every network fault.
func (e *Env) recover() {
	if e.Cluster.Net != nil {
		e.Cluster.Net.SetDropRate(0)
		e.Cluster.Net.SetDelay(0)
		e.Cluster.Net.SetJitter(0)
		e.Cluster.Heal()
	}
	e.healed()
	e.Mark("recovered")
}

// samples returns every call's latency, indefinite ones up to end, with
// times shifted by offset (where the round began in the run).
func samples(cs []call, end, offset time.Duration) []Sample {
	out := make([]Sample, 0, len(cs))
	for _, c := range cs {
		ret := c.End
		if ret == 0 {
			ret = end
		}
		out = append(out, Sample{At: offset + c.Start, Latency: ret - c.Start, Append: c.Append, Weak: c.Weak, Outcome: c.Outcome})
	}
	slices.SortFunc(out, func(a, b Sample) int { return cmp.Compare(a.At, b.At) })
	return out
}
