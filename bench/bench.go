package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// ErrNotSettled is returned by [Settle] (and so by [RunPair]) when
// goroutines a measured side started are still running at the deadline:
// either a leak, or teardown so slow that the next side would pay for it.
var ErrNotSettled = errors.New("bench: goroutines did not settle")

// SettleTimeout bounds how long [RunPair] waits after each side for the
// goroutines it started to end. memberlist's end within one probe interval
// (1 s on the LAN profile) of Shutdown; the rest is slack for a loaded
// machine.
const SettleTimeout = 10 * time.Second

// Measure runs one side of one round and returns the figure it measured,
// in the unit of its [Spec] (a time, a rate). It times itself, so that
// setup and teardown stay outside the figure, and it releases everything
// it started before returning: the other side runs next in the same
// process.
type Measure func(ctx context.Context) (float64, error)

// Millis converts a duration to the float milliseconds a Measure returns
// for unit "ms".
func Millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Micros converts a duration to the float microseconds a Measure returns
// for unit "us".
func Micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// Pair is one round of a comparison: ours and the baseline, measured back
// to back in the same process.
type Pair struct {
	Ours float64 `json:"ours"`
	Base float64 `json:"base"`
}

// Ratio is ours over base. Whether lower or higher is better depends on
// the unit: see [Spec.Goal].
func (p Pair) Ratio() float64 { return p.Ours / p.Base }

// RunPair runs round number round of a comparison. Even rounds run ours
// first, odd rounds the baseline first, so that neither side always
// inherits the other's leftovers (sockets in TIME_WAIT, a warm cache, a
// busy CPU). After each side it waits until the process is back to the
// goroutines it had before (see [Settle]) and collects garbage, so each
// side starts from a quiet process.
func RunPair(ctx context.Context, round int, ours, base Measure) (Pair, error) {
	var p Pair
	sides := []struct {
		name string
		m    Measure
		into *float64
	}{{"ours", ours, &p.Ours}, {"base", base, &p.Base}}
	if round%2 == 1 {
		sides[0], sides[1] = sides[1], sides[0]
	}
	for _, s := range sides {
		before := runtime.NumGoroutine()
		var (
			v   float64
			err error
		)
		// The label follows every goroutine the side starts (its nodes,
		// engines and transports), so a CPU profile of a run splits by
		// side: go tool pprof -tagfocus side=ours.
		pprof.Do(ctx, pprof.Labels("side", s.name), func(ctx context.Context) { v, err = s.m(ctx) })
		if err != nil {
			return Pair{}, fmt.Errorf("bench: round %d, %s: %w", round, s.name, err)
		}
		if !(v > 0) || math.IsInf(v, 0) {
			return Pair{}, fmt.Errorf("bench: round %d, %s measured %v; want a positive finite figure", round, s.name, v)
		}
		*s.into = v
		if err := quiesce(ctx, before); err != nil {
			return Pair{}, fmt.Errorf("bench: round %d, after %s: %w", round, s.name, err)
		}
	}
	return p, nil
}

// RunAlone runs one measurement that has no baseline run beside it (B12's
// baseline is a configured bound, not a measurement; run keeps its own
// figures), then, as [RunPair] does after each side, waits until the
// goroutines run started have ended and collects garbage.
func RunAlone(ctx context.Context, run func(context.Context) error) error {
	before := runtime.NumGoroutine()
	if err := run(ctx); err != nil {
		return err
	}
	if err := quiesce(ctx, before); err != nil {
		return fmt.Errorf("bench: after the measurement: %w", err)
	}
	return nil
}

// quiesce waits, at most SettleTimeout, until the process runs no more
// than goroutines goroutines (see [Settle]), then collects garbage, so
// that the next measurement starts from a quiet process.
func quiesce(ctx context.Context, goroutines int) error {
	sctx, cancel := context.WithTimeout(ctx, SettleTimeout)
	defer cancel()
	if err := Settle(sctx, goroutines); err != nil {
		return err
	}
	runtime.GC()
	return nil
}

// Interleave runs rounds rounds of [RunPair] and returns their pairs.
// Benchmarks driven by testing.B.Loop call RunPair themselves.
func Interleave(ctx context.Context, rounds int, ours, base Measure) ([]Pair, error) {
	pairs := make([]Pair, 0, rounds)
	for round := range rounds {
		p, err := RunPair(ctx, round, ours, base)
		if err != nil {
			return pairs, err
		}
		pairs = append(pairs, p)
	}
	return pairs, nil
}

// Settle waits until the process runs at most goroutines goroutines, or
// until ctx ends (then it returns [ErrNotSettled]). It polls: the runtime
// has no notification for a goroutine's end.
func Settle(ctx context.Context, goroutines int) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		n := runtime.NumGoroutine()
		if n <= goroutines {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("%w: %d running, want at most %d", ErrNotSettled, n, goroutines)
		}
	}
}

// Spec names a comparison; docs/performance.md lists them by ID.
type Spec struct {
	ID       string `json:"id"`       // "B4"
	Name     string `json:"name"`     // "discovery/converge-50"
	Variant  string `json:"variant"`  // what distinguishes results of one ID: a profile, a size
	Baseline string `json:"baseline"` // what base measures
	Unit     string `json:"unit"`     // of Pair values: "ms", "commits/s"
	Goal     string `json:"goal"`     // the goal on the ratio, e.g. "<= 0.25"
	Fsync    string `json:"fsync"`    // "on", "off", or "n/a" when nothing is written
}

// Result summarizes the pairs of one comparison.
type Result struct {
	Spec
	// Ratio is the median of the per-pair ratios ours/base: each pair
	// shares the machine's state at its time, so its ratio is the figure
	// that drifts least between runs.
	Ratio float64 `json:"ratio"`
	// Ours and Base are the medians of each side's figures, in Unit: for
	// orientation only, they drift 1.5-2x between runs on shared machines.
	Ours       float64 `json:"ours"`
	Base       float64 `json:"base"`
	Rounds     int     `json:"rounds"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	Pairs      []Pair  `json:"pairs"`
}

// Summarize computes the medians of pairs. It records GOMAXPROCS now, so
// call it in the process that ran the pairs.
func Summarize(spec Spec, pairs []Pair) Result {
	ratios := make([]float64, len(pairs))
	ours := make([]float64, len(pairs))
	base := make([]float64, len(pairs))
	for i, p := range pairs {
		ratios[i], ours[i], base[i] = p.Ratio(), p.Ours, p.Base
	}
	return Result{
		Spec:       spec,
		Ratio:      Median(ratios),
		Ours:       Median(ours),
		Base:       Median(base),
		Rounds:     len(pairs),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Pairs:      slices.Clone(pairs),
	}
}

// Median is the middle value of xs (the mean of the two middle ones for
// even lengths), NaN for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// String is the result's one line.
func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.ID, r.Name)
	if r.Variant != "" {
		fmt.Fprintf(&b, " [%s]", r.Variant)
	}
	fmt.Fprintf(&b, ": ratio %.3f (goal %s), ours %s %s, base %s %s (%s), %d rounds, GOMAXPROCS=%d, fsync %s",
		r.Ratio, r.Goal, figure(r.Ours), r.Unit, figure(r.Base), r.Unit, r.Baseline, r.Rounds, r.GOMAXPROCS, r.Fsync)
	return b.String()
}

// figure prints v with three significant digits but never in exponent
// form: 10767 ms reads better than 1.08e+04.
func figure(v float64) string {
	if math.Abs(v) >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// MetricReporter is what Report writes to; *testing.B is one.
type MetricReporter interface {
	ReportMetric(n float64, unit string)
}

// Report writes the result as benchmark metrics: "ratio", "ours-<unit>"
// and "base-<unit>".
func (r Result) Report(m MetricReporter) {
	m.ReportMetric(r.Ratio, "ratio")
	m.ReportMetric(r.Ours, "ours-"+r.Unit)
	m.ReportMetric(r.Base, "base-"+r.Unit)
}

// WriteJSON writes results as one indented JSON array.
func WriteJSON(w io.Writer, results []Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(results)
}

// WriteTable writes results as an aligned summary table.
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "id\tname\tvariant\tratio\tgoal\tours\tbase\tunit\trounds\tGOMAXPROCS\tfsync\tbaseline")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n",
			r.ID, r.Name, r.Variant, r.Ratio, r.Goal, figure(r.Ours), figure(r.Base), r.Unit, r.Rounds, r.GOMAXPROCS, r.Fsync, r.Baseline)
	}
	return tw.Flush()
}

// Collector gathers the results of one process for the summary at its
// end. It is safe for concurrent use.
type Collector struct {
	mu struct {
		sync.Mutex
		results []Result
	}
}

// Add records r.
func (c *Collector) Add(r Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.results = append(c.mu.results, r)
}

// Results returns what was recorded, in order.
func (c *Collector) Results() []Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.mu.results)
}
