package chaos

import (
	"slices"
	"testing"
	"time"
)

func timedCall(member int, append, weak bool, out Outcome, start, end time.Duration) call {
	return call{Call: Call{Input: Input{Append: append, Key: "k"}, Member: member, Weak: weak}, Outcome: out, Start: start, End: end}
}

// TestPhasesMeasure: a call counts in the phase it began and returned
// in, on the side it was made, and only if it completed.
func TestPhasesMeasure(t *testing.T) {
	s := time.Second
	p := newPhases()
	p.fault, p.scriptEnd, p.healthy = 2*s, 6*s, 7*s
	p.cut[2], p.cutFrom, p.cutTo = true, 2*s, 5*s
	cs := []call{
		timedCall(0, true, false, Done, 1*s, 1*s+1),                                                  // before
		timedCall(0, true, false, Done, 1*s, 3*s),                                                    // spans the fault: no phase
		timedCall(0, true, false, Dropped, 1*s, 1*s+1),                                               // refused: not progress
		timedCall(0, true, false, Indefinite, 1*s, 0),                                                // unknown: not progress
		timedCall(1, true, false, Done, 3*s, 4*s),                                                    // during
		timedCall(2, true, false, Done, 3*s, 4*s),                                                    // cut off
		timedCall(2, true, false, Done, 5*s+1, 5*s+2),                                                // after the heal, before the script ended: no phase
		timedCall(2, false, false, Done, 3*s, 4*s),                                                   // cut-off strong read
		timedCall(2, false, true, Done, 3*s, 3*s+1),                                                  // cut-off weak read
		timedCall(1, false, true, Done, 3*s, 3*s+1),                                                  // weak read elsewhere
		timedCall(1, false, false, Dropped, 3*s, 4*s),                                                // failed read
		timedCall(0, true, false, Done, 6*s+1, 6*s+2),                                                // recovery: no phase
		timedCall(0, true, false, Done, 8*s, 8*s+1),                                                  // after
		{Call: Call{Input: Input{Key: "k"}, Final: true}, Outcome: Done, Start: 9 * s, End: 9*s + 1}, // the checker's
	}
	got := p.measure(cs)
	want := Progress{Before: 1, During: 1, CutOff: 1, After: 1, Strong: 1, Weak: 2, CutOffStrong: 1, CutOffWeak: 1}
	if got != want {
		t.Fatalf("measure = %s\nwant      %s", got, want)
	}
}

func TestProgressShortOf(t *testing.T) {
	want := Progress{Before: 5, During: 5, CutOff: 3, After: 5, Strong: 5, Weak: 5, CutOffStrong: 2, CutOffWeak: 5}
	got := Progress{Before: 5, During: 0, CutOff: 3, After: 9, Strong: 5, Weak: 4, CutOffStrong: 2, CutOffWeak: 5}
	short := got.shortOf(want)
	if !slices.Equal(short, []string{
		"writes acknowledged during the fault: 0, want at least 5",
		"weak reads completed: 4, want at least 5",
	}) {
		t.Fatalf("shortOf = %q", short)
	}
	if got.covers(want) || !want.covers(want) || !(Progress{}).covers(Progress{}) {
		t.Fatal("covers disagrees with shortOf")
	}
	// StrictQuorum keeps a cut-off side offline: its writes and strong
	// reads are not required there, its weak reads are.
	if m := want.minimums(true); m.CutOff != 0 || m.CutOffStrong != 0 || m.CutOffWeak != 5 || m.During != 5 {
		t.Fatalf("strict minimums %s", m)
	}
	if m := want.minimums(false); m != want {
		t.Fatalf("availability-first minimums %s", m)
	}
}

// TestScenariosRequireProgress: every scenario requires writes during
// its fault and after the heal, and reads; every one but the one that
// begins partitioned requires writes before it.
func TestScenariosRequireProgress(t *testing.T) {
	for _, sc := range Scenarios() {
		w := sc.Want
		if w.During == 0 || w.After == 0 || w.Strong == 0 || w.Weak == 0 || (w.Before == 0) != (len(sc.Split) > 0) {
			t.Errorf("%s requires too little: %s", sc.Name, w)
		}
	}
}
