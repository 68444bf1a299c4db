package chaos

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Progress counts what the clients of a round achieved, phase by phase.
// As a scenario's minimums ([Scenario.Want]) the same fields say what
// every round of it must achieve at least, so that a run in which
// nothing got through fails instead of passing an empty check.
//
// A round has three phases. Before runs from the round's start to the
// first fault its script injects; During from there until the script
// returns (having lifted its faults); After from the moment the group is
// healthy again until the round ends. Recovery, between the script's
// return and health, counts in no phase. A call counts in a phase if it
// began and returned within it.
type Progress struct {
	// Before, During and After count the writes acknowledged (appends
	// that completed) in each phase. During counts those made through
	// members the fault did not cut off ([Env.CutOff]).
	Before, During, After int
	// CutOff counts the writes acknowledged through members while a
	// fault cut them off. Only availability-first mode has a cut-off side
	// re-form and serve, so under StrictQuorum it is never required.
	CutOff int
	// Strong and Weak count the reads completed over the whole round (the
	// checker's final reads left out).
	Strong, Weak int
	// CutOffStrong and CutOffWeak count the reads completed through
	// members while a fault cut them off. CutOffStrong, like CutOff, is
	// required in availability-first mode only; weak reads answer from
	// the member's copy in both modes.
	CutOffStrong, CutOffWeak int
}

// minimums returns the minimums that apply in a mode: StrictQuorum
// keeps a cut-off side offline, so its writes and strong reads are not
// required there.
func (p Progress) minimums(strict bool) Progress {
	if strict {
		p.CutOff, p.CutOffStrong = 0, 0
	}
	return p
}

// fields lists the counts with their names, in the order reports show
// them.
func (p Progress) fields() []struct {
	name string
	n    int
} {
	return []struct {
		name string
		n    int
	}{
		{"writes acknowledged before the fault", p.Before},
		{"writes acknowledged during the fault", p.During},
		{"writes acknowledged on the cut-off side", p.CutOff},
		{"writes acknowledged after the heal", p.After},
		{"strong reads completed", p.Strong},
		{"weak reads completed", p.Weak},
		{"strong reads completed on the cut-off side", p.CutOffStrong},
		{"weak reads completed on the cut-off side", p.CutOffWeak},
	}
}

// covers reports whether p reaches every minimum of want.
func (p Progress) covers(want Progress) bool { return len(p.shortOf(want)) == 0 }

// shortOf lists, one line each, the counts of p below want's.
func (p Progress) shortOf(want Progress) []string {
	var out []string
	got := p.fields()
	for i, w := range want.fields() {
		if got[i].n < w.n {
			out = append(out, fmt.Sprintf("%s: %d, want at least %d", w.name, got[i].n, w.n))
		}
	}
	return out
}

// String shows the counts compactly, for logs.
func (p Progress) String() string {
	return fmt.Sprintf("writes %d before, %d during (%d cut off), %d after; reads %d strong, %d weak (cut off: %d strong, %d weak)",
		p.Before, p.During, p.CutOff, p.After, p.Strong, p.Weak, p.CutOffStrong, p.CutOffWeak)
}

// never is a phase boundary not reached (yet).
const never = time.Duration(math.MaxInt64)

// phases are the boundaries of a round's phases, on its history's clock.
// The script's goroutine sets them; the cut-off members are named by
// Env.CutOff.
type phases struct {
	fault, scriptEnd, healthy time.Duration
	cut                       map[int]bool
	cutFrom, cutTo            time.Duration
}

func newPhases() phases {
	return phases{fault: never, scriptEnd: never, healthy: never, cut: map[int]bool{}, cutFrom: never, cutTo: never}
}

// measure counts the progress in cs.
func (p phases) measure(cs []call) Progress {
	var g Progress
	for _, c := range cs {
		if c.Outcome != Done || c.Final {
			continue
		}
		within := func(from, to time.Duration) bool { return c.Start >= from && c.End <= to }
		cut := p.cut[c.Member] && within(p.cutFrom, p.cutTo)
		if c.Append {
			switch {
			case within(0, p.fault):
				g.Before++
			case cut:
				g.CutOff++
			case within(p.fault, p.scriptEnd) && !p.cut[c.Member]:
				g.During++
			case within(p.healthy, never):
				g.After++
			}
			continue
		}
		if c.Weak {
			g.Weak++
		} else {
			g.Strong++
		}
		switch {
		case cut && c.Weak:
			g.CutOffWeak++
		case cut:
			g.CutOffStrong++
		}
	}
	return g
}

// now is the time on the round's history's clock.
func (e *Env) now() time.Duration { return time.Since(e.historyAt) }

// progress measures the round so far.
func (e *Env) progress() Progress { return e.phases.measure(calls(e.history.Operations())) }

// returned tells a waiter in awaitProgress that a call returned.
func (e *Env) returned() {
	select {
	case e.progressed <- struct{}{}:
	default:
	}
}

// Waits says how long each phase of a round ran past its own duration,
// waiting for its minimum progress (Scenario.Want): how far the machine
// fell short of the minimums in the time the phase takes by itself.
type Waits struct {
	Before, During, After time.Duration
}

// String lists the phases that waited, or "none".
func (w Waits) String() string {
	var parts []string
	for _, p := range []struct {
		name string
		d    time.Duration
	}{{"before", w.Before}, {"during", w.During}, {"after", w.After}} {
		if p.d > 0 {
			parts = append(parts, fmt.Sprintf("%s %.1f s", p.name, p.d.Seconds()))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// awaitProgress waits until the round's progress covers want, or
// Options.ProgressTimeout passes, and adds the time it waited to *waited.
// Falling short is not an error here: the round's check reports it, with
// the counts; only ctx's end is.
func (e *Env) awaitProgress(ctx context.Context, what string, want Progress, waited *time.Duration) error {
	if e.progress().covers(want) {
		return nil
	}
	began := time.Now()
	err := e.awaitCalls(ctx, func(cs []call) bool { return e.phases.measure(cs).covers(want) })
	*waited += time.Since(began)
	if errors.Is(err, errProgressTimeout) {
		e.Mark("%s: %v: %s", what, err, e.progress())
		return nil
	}
	return err
}

// awaitWritesThrough waits until n writes made through member i were
// acknowledged in the round, or Options.ProgressTimeout passes.
func (e *Env) awaitWritesThrough(ctx context.Context, i, n int) error {
	count := func(cs []call) int {
		acked := 0
		for _, c := range cs {
			if c.Append && c.Member == i && c.Outcome == Done {
				acked++
			}
		}
		return acked
	}
	if err := e.awaitCalls(ctx, func(cs []call) bool { return count(cs) >= n }); err != nil {
		return fmt.Errorf("chaos: node %d: %d of %d writes acknowledged: %w", i, count(calls(e.history.Operations())), n, err)
	}
	return nil
}

// errProgressTimeout: a wait for progress ran out of
// Options.ProgressTimeout.
var errProgressTimeout = errors.New("chaos: no progress in time")

// awaitCalls waits until cond holds for the round's calls so far,
// looking again each time a call returns, for at most
// Options.ProgressTimeout (scaled).
func (e *Env) awaitCalls(ctx context.Context, cond func([]call) bool) error {
	if cond(calls(e.history.Operations())) {
		return nil
	}
	timeout := time.Duration(float64(e.opts.ProgressTimeout) * e.opts.Scale)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case <-e.progressed:
			if cond(calls(e.history.Operations())) {
				return nil
			}
		case <-deadline.C:
			return fmt.Errorf("%w (%v)", errProgressTimeout, timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
