package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/mosaikgo/mosaik/chaos"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

type flags struct {
	duration, quiet          time.Duration
	rate, members, seeds     int
	seed                     int64
	scale                    float64
	scenarios, out, plotPath string
	availability, verbose    bool
}

func parseFlags() flags {
	var f flags
	flag.DurationVar(&f.duration, "duration", 5*time.Minute, "how long the soak injects faults (0: no soak)")
	flag.DurationVar(&f.quiet, "quiet", 5*time.Second, "steady load before each fault of the soak")
	flag.IntVar(&f.rate, "rate", 100, "soak calls per second, all clients together")
	flag.IntVar(&f.members, "members", 5, "soak group size")
	flag.Int64Var(&f.seed, "seed", 1, "soak seed")
	flag.BoolVar(&f.availability, "availability-first", false, "soak without StrictQuorum (writes may then be discarded by reported rival merges)")
	flag.StringVar(&f.scenarios, "scenarios", "", `scenarios to run before the soak: "all" or a comma-separated list of names`)
	flag.IntVar(&f.seeds, "seeds", 3, "seeds per scenario (1..N)")
	flag.Float64Var(&f.scale, "scale", 3, "how much longer the scenarios' faults last than in CI")
	flag.StringVar(&f.out, "out", "docs/reliability.md", "report file")
	flag.StringVar(&f.plotPath, "plot", "docs/reliability/latency.png", "latency plot (PNG)")
	flag.BoolVar(&f.verbose, "v", false, "log every fault and check as it happens")
	flag.Parse()
	return f
}

func run() error {
	f := parseFlags()
	log.SetFlags(log.Ltime)
	rep := chaos.Report{
		Command:   "go run ./chaos/cmd/soak " + strings.Join(os.Args[1:], " "),
		Generated: time.Now(),
		Platform:  fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version()),
	}
	scenarios, err := pick(f.scenarios)
	if err != nil {
		return err
	}
	for _, sc := range scenarios {
		for _, strict := range modes(sc) {
			for seed := int64(1); seed <= int64(f.seeds); seed++ {
				o := chaos.Options{Seed: seed, Strict: strict, Scale: f.scale}
				res, err := runOne(f.verbose, func(t chaos.T) chaos.Result { return chaos.Run(t, sc, o) })
				if err != nil {
					return fmt.Errorf("%s seed %d: %w", sc.Name, seed, err)
				}
				log.Printf("%s (strict %v) seed %d: %d done, %d dropped, %d unknown, %d checked, %d weak checked; %d acknowledged, %d lost, %d discarded; progress %s; %d violations, %.1fs",
					sc.Name, strict, seed, res.Done, res.Dropped, res.Indefinite, res.Checked, res.WeakChecked,
					res.Acked, res.Lost, res.Discarded, res.Progress, len(res.Violations), res.Duration.Seconds())
				res.Samples = nil // the report plots the soak only
				rep.Scenarios = append(rep.Scenarios, res)
			}
		}
	}
	if f.duration > 0 {
		so := chaos.SoakOptions{
			Options:  chaos.Options{Seed: f.seed, Strict: !f.availability},
			Duration: f.duration, Members: f.members, Rate: f.rate, Quiet: f.quiet,
		}
		var soak chaos.SoakReport
		if _, err := runOne(f.verbose, func(t chaos.T) chaos.Result { soak = chaos.Soak(t, so); return chaos.Result{} }); err != nil {
			return fmt.Errorf("soak: %w", err)
		}
		rep.Soak = &soak
		if rep.Plot, err = plot(f, soak); err != nil {
			return err
		}
	}
	if err := write(f.out, rep); err != nil {
		return err
	}
	log.Printf("wrote %s: %d violations", f.out, rep.Violations())
	if rep.Violations() > 0 {
		return fmt.Errorf("%d violations; see %s", rep.Violations(), f.out)
	}
	return nil
}

// pick resolves the -scenarios flag.
func pick(names string) ([]chaos.Scenario, error) {
	if names == "" {
		return nil, nil
	}
	if names == "all" {
		return chaos.Scenarios(), nil
	}
	var out []chaos.Scenario
	for _, name := range strings.Split(names, ",") {
		sc, ok := chaos.ScenarioNamed(strings.TrimSpace(name))
		if !ok {
			return nil, fmt.Errorf("no scenario %q", name)
		}
		out = append(out, sc)
	}
	return out, nil
}

// modes lists the quorum modes a scenario runs in, as the tests run it:
// rival geneses that predate the group are outside StrictQuorum's promise.
func modes(sc chaos.Scenario) []bool {
	if len(sc.Split) > 0 {
		return []bool{false}
	}
	return []bool{true, false}
}

// plot draws the soak's latency and returns the plot's path relative to
// the report.
func plot(f flags, soak chaos.SoakReport) (string, error) {
	var marks []chaos.Mark
	for _, r := range soak.Rounds {
		marks = append(marks, r.Marks...)
	}
	title := fmt.Sprintf("%d members, %d calls/s, one fault every ~%s", soak.Options.Members, soak.Options.Rate, soak.Options.Quiet)
	if err := chaos.PlotLatency(f.plotPath, chaos.Latencies(soak.Rounds), marks, title); err != nil {
		return "", err
	}
	out, err := filepath.Abs(filepath.Dir(f.out))
	if err != nil {
		return "", err
	}
	png, err := filepath.Abs(f.plotPath)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(out, png)
	if err != nil {
		return "", err
	}
	return filepath.ToSlash(rel), nil
}

// write renders the report to path, keeping the hand-written part of the
// report it replaces.
func write(path string, rep chaos.Report) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	rep.Kept = chaos.KeptPart(string(old))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := chaos.WriteMarkdown(file, rep); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

// runOne runs fn with a chaos.T of its own and then its cleanups (the
// cluster's close and leak check). A Fatal inside fn ends it and becomes
// the error returned.
func runOne(verbose bool, fn func(chaos.T) chaos.Result) (res chaos.Result, err error) {
	t := &runner{verbose: verbose}
	defer func() {
		if err == nil && len(t.errors) > 0 {
			err = errors.New(strings.Join(t.errors, "; "))
		}
	}()
	defer t.cleanup()
	defer func() {
		if v := recover(); v != nil {
			f, ok := v.(fatal)
			if !ok {
				panic(v)
			}
			err = f
		}
	}()
	return fn(t), nil
}

// runner is the chaos.T of a run outside "go test".
type runner struct {
	verbose  bool
	cleanups []func()
	errors   []string
}

// fatal carries a Fatal out of the run, to runOne.
type fatal struct{ msg string }

func (f fatal) Error() string { return f.msg }

var _ chaos.T = (*runner)(nil)

func (r *runner) Helper()           {}
func (r *runner) Cleanup(fn func()) { r.cleanups = append(r.cleanups, fn) }
func (r *runner) Errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	log.Print(msg)
	r.errors = append(r.errors, msg)
}
func (r *runner) Fatal(args ...any) { panic(fatal{fmt.Sprint(args...)}) }
func (r *runner) Fatalf(format string, args ...any) {
	panic(fatal{fmt.Sprintf(format, args...)})
}
func (r *runner) Logf(format string, args ...any) {
	if r.verbose {
		log.Printf(format, args...)
	}
}

// cleanup runs the cleanups, last registered first, as testing does.
func (r *runner) cleanup() {
	for _, fn := range slices.Backward(r.cleanups) {
		fn()
	}
	r.cleanups = nil
}
