package chaos

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/mosaikgo/mosaik/rsm"
	"github.com/mosaikgo/mosaik/testkit"
)

// SoakOptions shape a soak run. Every zero field takes the default named.
type SoakOptions struct {
	// Options of the group and its load; Clients, Pace and Keys are set
	// from Rate.
	Options
	// Duration is how long faults keep being injected. Default 5 min.
	Duration time.Duration
	// Members is the group's size. Default 5.
	Members int
	// Rate is the calls per second of all clients together. Default 100.
	Rate int
	// Quiet is how long the load runs undisturbed before each fault.
	// Default 5 s.
	Quiet time.Duration
	// Faults names the scenarios whose scripts are injected, in turn.
	// Default SoakFaults().
	Faults []string
}

func (s SoakOptions) withDefaults() SoakOptions {
	s.Duration = cmp.Or(s.Duration, 5*time.Minute)
	s.Members = cmp.Or(s.Members, 5)
	s.Rate = cmp.Or(s.Rate, 100)
	s.Quiet = cmp.Or(s.Quiet, 5*time.Second)
	if len(s.Faults) == 0 {
		s.Faults = SoakFaults()
	}
	s.Clients = cmp.Or(s.Clients, 8)
	s.Keys = cmp.Or(s.Keys, 8)
	s.Pace = time.Duration(float64(time.Second) * float64(s.Clients) / float64(s.Rate))
	s.Options = s.Options.withDefaults()
	return s
}

// SoakFaults are the scenarios a soak cycles through: every fault that
// leaves a durable group of five as it found it.
func SoakFaults() []string {
	return []string{"leader-kill", "partition-minority", "lossy-links", "follower-kill", "partition-leader", "partition-bridge", "restart-durable", "rolling-restart"}
}

// Checkpoint is the process's footprint between two rounds, once the
// group is healthy again and the round's keys are deleted.
type Checkpoint struct {
	At         time.Duration // since Setup began, as Sample.At and Mark.At
	Goroutines int
	Heap       uint64 // bytes of live heap after a collection
}

// SoakReport is what a soak found.
type SoakReport struct {
	Options     SoakOptions
	Duration    time.Duration
	Rounds      []Result // one per fault injected; Scenario names the fault
	Checkpoints []Checkpoint
	// Violations are the soak's own findings (the ledger, growth); each
	// round's are in its Result.
	Violations []string
}

// Soak drives a durable group at a steady rate for Duration while it
// injects one fault per round, on a schedule: each round runs the load
// on fresh keys, lets it settle for Quiet, injects the next fault of
// Faults, heals, and checks the round's history as Run does. Between
// rounds it deletes the round's keys (so the state stays bounded),
// appends the round's number to a ledger key that is never deleted and
// must keep every acknowledged entry across all rounds, and records the
// goroutines and heap in use.
func Soak(t T, so SoakOptions) SoakReport {
	t.Helper()
	so = so.withDefaults()
	began := time.Now()
	sc := Scenario{Name: "soak", Members: so.Members, Durable: true}
	e := Setup(t, sc, so.Options)
	defer e.stopWatching()
	rep := SoakReport{Options: so}
	faults := make([]Scenario, len(so.Faults))
	for i, name := range so.Faults {
		f, ok := ScenarioNamed(name)
		if !ok || len(f.Split) > 0 || (f.InMemory && so.Loopback) {
			t.Fatalf("chaos: soak: %q is not a fault a running group can take", name)
		}
		faults[i] = f
	}
	ctx := context.Background()
	var ledger []call
	for i := 0; time.Since(began) < so.Duration; i++ {
		f := faults[i%len(faults)]
		res := e.Round(ctx, f.Want, func(ctx context.Context, e *Env) error {
			if err := e.Hold(ctx, so.Quiet); err != nil {
				return err
			}
			e.Mark("fault: %s", f.Name)
			return f.Script(ctx, e)
		})
		res.Scenario = f.Name
		t.Logf("chaos: soak round %d (%s): %d acknowledged, %d lost, %d violations", e.round, f.Name, res.Acked, res.Lost, len(res.Violations))
		rep.Rounds = append(rep.Rounds, res)
		var err error
		if ledger, err = e.closeRound(ctx, ledger); err != nil {
			rep.Violations = append(rep.Violations, fmt.Sprintf("round %d: %v", e.round, err))
		}
		rep.Checkpoints = append(rep.Checkpoints, checkpoint(time.Since(e.began)))
	}
	rep.Duration = time.Since(began)
	rep.Violations = append(rep.Violations, growth(rep.Checkpoints)...)
	return rep
}

// ledgerKey is the key soak runs never delete.
const ledgerKey = "ledger"

// closeRound deletes the round's keys, appends the round to the ledger
// and checks that the ledger still holds every acknowledged entry, in
// order. It returns the ledger's calls so far.
func (e *Env) closeRound(ctx context.Context, ledger []call) ([]call, error) {
	ctx, cancel := context.WithTimeout(ctx, testkit.DefaultTimeout)
	defer cancel()
	for k := range e.opts.Keys {
		if _, err := e.retry(ctx, Append{Key: e.key(k), Delete: true}); err != nil {
			return ledger, fmt.Errorf("delete %s: %w", e.key(k), err)
		}
	}
	// Each attempt writes its own value: one whose call failed may still
	// land, and the ledger must then show it once, not a duplicate.
	for attempt := int64(0); ; attempt++ {
		in := Input{Append: true, Key: ledgerKey, Value: int64(e.round)*1000 + attempt}
		_, h := e.anyLive()
		if h == nil {
			return ledger, fmt.Errorf("ledger: no live member")
		}
		cctx, ccancel := context.WithTimeout(ctx, e.opts.OpTimeout)
		_, err := h.Execute(cctx, Append{Key: in.Key, Value: in.Value})
		ccancel()
		c := call{Call: Call{Input: in}, Outcome: Classify(true, false, err), Err: err}
		ledger = append(ledger, c)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ledger, fmt.Errorf("ledger: %w", err)
		}
	}
	list, err := e.readStrong(ctx, ledgerKey)
	if err != nil {
		return ledger, fmt.Errorf("ledger: read: %w", err)
	}
	if d := checkDurability(ledger, map[string][]int64{ledgerKey: list}); !d.OK() {
		return ledger, fmt.Errorf("ledger: lost %v, phantoms %v, duplicates %v", d.Lost, d.Phantoms, d.Duplicates)
	}
	if !ackedInOrder(ledger, list) {
		return ledger, fmt.Errorf("ledger: acknowledged entries out of order in %s", brief(list))
	}
	return ledger, nil
}

// ackedInOrder reports whether the acknowledged appends of cs, issued one
// after the other, appear in list in the order they were acknowledged.
func ackedInOrder(cs []call, list []int64) bool {
	var acked []int64
	for _, c := range cs {
		if c.Outcome == Done {
			acked = append(acked, c.Value)
		}
	}
	var seen []int64
	for _, v := range list {
		if slices.Contains(acked, v) {
			seen = append(seen, v)
		}
	}
	return slices.Equal(seen, acked)
}

// retry executes cmd through live members until one acknowledges it or
// ctx ends. Only for commands that may apply twice (deletes).
func (e *Env) retry(ctx context.Context, cmd Append) (uint64, error) {
	for {
		_, h := e.anyLive()
		if h == nil {
			return 0, fmt.Errorf("no live member")
		}
		cctx, cancel := context.WithTimeout(ctx, e.opts.OpTimeout)
		idx, err := h.Execute(cctx, cmd)
		cancel()
		if err == nil || ctx.Err() != nil {
			return idx, err
		}
	}
}

// readStrong reads key through live members until one answers.
func (e *Env) readStrong(ctx context.Context, key string) ([]int64, error) {
	for {
		_, h := e.anyLive()
		if h == nil {
			return nil, fmt.Errorf("no live member")
		}
		cctx, cancel := context.WithTimeout(ctx, e.opts.OpTimeout)
		list, _, err := h.Query(cctx, Read{Key: key}, rsm.Strong)
		cancel()
		if err == nil || ctx.Err() != nil {
			return list, err
		}
	}
}

// anyLive returns a live member at random.
func (e *Env) anyLive() (int, *Group) {
	live := e.Live()
	if len(live) == 0 {
		return -1, nil
	}
	i := e.Pick(live)
	return i, e.Handle(i)
}

// checkpoint measures the process: goroutines, and live heap after a
// full collection.
func checkpoint(at time.Duration) Checkpoint {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return Checkpoint{At: at, Goroutines: runtime.NumGoroutine(), Heap: m.HeapAlloc}
}

// growth judges whether goroutines and heap stayed flat: the last third
// of the checkpoints against the first third (the very first, taken
// while caches fill, left out). Goroutines may grow by a tenth plus 20
// (timers and probes come and go), the heap by a quarter plus 16 MiB
// (the rounds' latency samples are kept for the report, and collections
// leave garbage of their own).
func growth(cps []Checkpoint) []string {
	if len(cps) < 4 {
		return nil
	}
	cps = cps[1:]
	third := max(len(cps)/3, 1)
	first, last := cps[:third], cps[len(cps)-third:]
	peak := func(cs []Checkpoint, f func(Checkpoint) uint64) uint64 {
		var m uint64
		for _, c := range cs {
			m = max(m, f(c))
		}
		return m
	}
	goroutines := func(c Checkpoint) uint64 { return uint64(c.Goroutines) }
	heap := func(c Checkpoint) uint64 { return c.Heap }
	var out []string
	if g0, g1 := peak(first, goroutines), peak(last, goroutines); g1 > g0+g0/10+20 {
		out = append(out, fmt.Sprintf("goroutines grew from %d to %d", g0, g1))
	}
	if h0, h1 := peak(first, heap), peak(last, heap); h1 > h0+h0/4+16<<20 {
		out = append(out, fmt.Sprintf("heap grew from %.1f MiB to %.1f MiB", float64(h0)/(1<<20), float64(h1)/(1<<20)))
	}
	return out
}
