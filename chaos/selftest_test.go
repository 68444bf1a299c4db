package chaos

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/rsm"
)

// TestCheckerCatchesInjectedBugs is the suite's self-test: it runs rounds
// of a short scenario on one group, each with a bug injected between the
// clients and the group, and asserts that the round's check reports it,
// so that a suite that passes is known to be able to fail. Each
// injection fires on a fixed call, and the test asserts that it fired
// (and, for the stale read, that the history holds a read that really
// is stale), so it can never pass without having injected anything. An
// honest round comes first, to show that the rest fail for their bug
// alone.
func TestCheckerCatchesInjectedBugs(t *testing.T) {
	sc := Scenario{
		Name: "self-test", Members: 3, InMemory: true,
		Want: Progress{Before: 5, During: 5, After: 5, Strong: 5, Weak: 5},
		// No fault: the bugs are the clients' own.
		Script: func(ctx context.Context, e *Env) error {
			e.Mark("fault: none, the clients inject bugs")
			e.faultBegins()
			return e.Endure(ctx, 300*time.Millisecond)
		},
	}
	e := Setup(t, sc, Options{Seed: 1, Strict: true, VisDir: t.TempDir()})
	defer e.stopWatching()
	round := func(t *testing.T, wrap func(member int, h *Group) client) Result {
		t.Helper()
		e.wrap = wrap
		defer func() { e.wrap = nil }()
		res := e.Round(context.Background(), sc.Want, sc.Script)
		t.Logf("calls %d done, %d dropped, %d of unknown outcome; checked %d, %d weak; progress %s; violations:\n  %s",
			res.Done, res.Dropped, res.Indefinite, res.Checked, res.WeakChecked, res.Progress, strings.Join(res.Violations, "\n  "))
		return res
	}

	t.Run("honest", func(t *testing.T) {
		res := round(t, nil)
		if len(res.Violations) > 0 {
			t.Fatalf("an honest round has violations: %v", res.Violations)
		}
		if res.Checked == 0 || res.WeakChecked == 0 {
			t.Fatalf("checked %d operations and %d weak reads, want some of each", res.Checked, res.WeakChecked)
		}
	})

	t.Run("lost write", func(t *testing.T) {
		// The 10th append is acknowledged without being submitted.
		inj := &lostWrite{nth: 10}
		res := round(t, inj.wrap)
		lost, ok := inj.injected()
		if !ok {
			t.Fatal("no write was lost: the injection never fired")
		}
		t.Logf("injected: append(%s, %d) acknowledged, never submitted", lost.Key, lost.Value)
		wantViolation(t, res, fmt.Sprintf("lost write: acknowledged append(%s, %d) is missing", lost.Key, lost.Value))
		wantViolation(t, res, "linearizability of all: Illegal")
	})

	t.Run("stale strong read", func(t *testing.T) {
		inj := &staleRead{acked: map[string][]ack{}}
		res := round(t, inj.wrap)
		stale := inj.injected()
		if len(stale) == 0 {
			t.Fatal("no strong read was answered stale: the injection never fired")
		}
		for _, s := range stale {
			t.Logf("injected: a strong read of %s answered %s, without %d (acknowledged at least %v earlier)", s.Key, brief(s.List), s.Dropped, staleAge)
		}
		// The wrapper judged staleness by its own clock; the history's
		// must agree for at least one of them, or the check had nothing
		// to find.
		if !historyHoldsStaleRead(calls(e.history.Operations()), stale) {
			t.Fatalf("none of the %d stale answers is stale in the history: %+v", len(stale), stale)
		}
		wantViolation(t, res, "linearizability of all: Illegal")
		noViolation(t, res, "lost write")
	})

	t.Run("weak read out of order", func(t *testing.T) {
		// The 5th weak read of a list of two or more shows its last two
		// values swapped: a state no log ever had.
		inj := &disorderedRead{nth: 5}
		res := round(t, inj.wrap)
		if !inj.fired() {
			t.Fatal("no weak read was disordered: the injection never fired")
		}
		wantViolation(t, res, "read state: reads of ")
		noViolation(t, res, "linearizability")
	})

	t.Run("strong reads served from the local copy", func(t *testing.T) {
		// The bug that the suite once caught in two runs of seven:
		// strong reads answered from the member's copy, as weak ones.
		// Here a partition cuts the leader off, so that its copy goes
		// stale while the others go on, and the readers pinned to it
		// read it (partition-leader's script).
		inj := &localReads{}
		e.wrap = inj.wrap
		defer func() { e.wrap = nil }()
		res := e.Round(context.Background(), sc.Want, partitionLeader)
		t.Logf("%d strong reads served from the local copy; progress %s; violations:\n  %s", inj.served.Load(), res.Progress, strings.Join(res.Violations, "\n  "))
		if inj.served.Load() == 0 {
			t.Fatal("no strong read was served from the local copy: the injection never fired")
		}
		wantViolation(t, res, "linearizability of all: Illegal")
	})

	t.Run("no progress", func(t *testing.T) {
		// Every call is refused as offline: nothing is wrong with what
		// the clients saw, only nothing got through, which must fail
		// too. The phases wait for progress only briefly.
		timeout := e.opts.ProgressTimeout
		e.opts.ProgressTimeout = 300 * time.Millisecond
		defer func() { e.opts.ProgressTimeout = timeout }()
		res := round(t, func(int, *Group) client { return offline{} })
		if res.Acked != 0 || res.Dropped == 0 {
			t.Fatalf("%d writes acknowledged, %d calls dropped: the clients were not refused", res.Acked, res.Dropped)
		}
		for _, want := range []string{
			"progress: writes acknowledged before the fault: 0, want at least 5",
			"progress: writes acknowledged during the fault: 0, want at least 5",
			"progress: writes acknowledged after the heal: 0, want at least 5",
			"progress: strong reads completed: 0, want at least 5",
			"progress: weak reads completed: 0, want at least 5",
		} {
			wantViolation(t, res, want)
		}
		for _, v := range res.Violations {
			if !strings.HasPrefix(v, "progress: ") {
				t.Errorf("violation other than progress: %s", v)
			}
		}
	})
}

func wantViolation(t *testing.T, res Result, prefix string) {
	t.Helper()
	if !slices.ContainsFunc(res.Violations, func(v string) bool { return strings.Contains(v, prefix) }) {
		t.Errorf("the checker did not report %q; it reported:\n  %s", prefix, strings.Join(res.Violations, "\n  "))
	}
}

func noViolation(t *testing.T, res Result, kind string) {
	t.Helper()
	for _, v := range res.Violations {
		if strings.Contains(v, kind) {
			t.Errorf("unexpected violation: %s", v)
		}
	}
}

// lostWrite acknowledges its nth append without submitting it.
type lostWrite struct {
	nth int
	mu  struct {
		sync.Mutex
		appends int
		lost    *Input
	}
}

func (l *lostWrite) wrap(_ int, h *Group) client { return lostWriteClient{h, l} }

func (l *lostWrite) injected() (Input, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.lost == nil {
		return Input{}, false
	}
	return *l.mu.lost, true
}

type lostWriteClient struct {
	*Group
	l *lostWrite
}

func (c lostWriteClient) Execute(ctx context.Context, cmd Append) (uint64, error) {
	c.l.mu.Lock()
	c.l.mu.appends++
	if c.l.mu.appends == c.l.nth {
		c.l.mu.lost = &Input{Append: true, Key: cmd.Key, Value: cmd.Value}
		c.l.mu.Unlock()
		return 1, nil
	}
	c.l.mu.Unlock()
	return c.Group.Execute(ctx, cmd)
}

// staleRead answers every fifth strong read, from the tenth on and up to
// three times, with the list as it was before the last value whose
// append it saw acknowledged at least staleAge earlier: an old value,
// missing a write that completed before the read began.
type staleRead struct {
	mu     sync.Mutex
	acked  map[string][]ack // by key
	reads  int
	served []staleAnswer
}

// staleAge is how long before a read a write must have been acknowledged
// for its absence to be stale on the history's clock too: the history
// records the acknowledgment a moment after the wrapper sees it.
const staleAge = 100 * time.Millisecond

type ack struct {
	value int64
	at    time.Time
}

// staleAnswer is one stale read served: its key, the value it left out,
// and the list it returned.
type staleAnswer struct {
	Key     string
	Dropped int64
	List    []int64
}

func (s *staleRead) wrap(_ int, h *Group) client { return staleReadClient{h, s} }

func (s *staleRead) injected() []staleAnswer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.served)
}

type staleReadClient struct {
	*Group
	s *staleRead
}

func (c staleReadClient) Execute(ctx context.Context, cmd Append) (uint64, error) {
	idx, err := c.Group.Execute(ctx, cmd)
	if err == nil {
		c.s.mu.Lock()
		c.s.acked[cmd.Key] = append(c.s.acked[cmd.Key], ack{cmd.Value, time.Now()})
		c.s.mu.Unlock()
	}
	return idx, err
}

func (c staleReadClient) Query(ctx context.Context, q Read, consistency rsm.Consistency) ([]int64, uint64, error) {
	old := time.Now().Add(-staleAge)
	list, idx, err := c.Group.Query(ctx, q, consistency)
	if err != nil || consistency != rsm.Strong {
		return list, idx, err
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.reads++
	if c.s.reads < 10 || c.s.reads%5 != 0 || len(c.s.served) >= 3 {
		return list, idx, nil
	}
	ackedBefore := map[int64]bool{}
	for _, a := range c.s.acked[q.Key] {
		if a.at.Before(old) {
			ackedBefore[a.value] = true
		}
	}
	for i := len(list) - 1; i >= 0; i-- {
		if ackedBefore[list[i]] {
			stale := slices.Clone(list[:i])
			c.s.served = append(c.s.served, staleAnswer{Key: q.Key, Dropped: list[i], List: stale})
			return stale, idx, nil
		}
	}
	return list, idx, nil
}

// historyHoldsStaleRead reports whether one of the stale answers appears
// in the history as a strong read that began after the append of the
// value it left out was acknowledged.
func historyHoldsStaleRead(cs []call, stale []staleAnswer) bool {
	for _, s := range stale {
		var ackedAt time.Duration = -1
		for _, c := range cs {
			if c.Append && c.Outcome == Done && c.Key == s.Key && c.Value == s.Dropped {
				ackedAt = c.End
			}
		}
		for _, c := range cs {
			if ackedAt >= 0 && !c.Append && !c.Weak && c.Outcome == Done && c.Key == s.Key &&
				slices.Equal(c.Output.List, s.List) && c.Start > ackedAt {
				return true
			}
		}
	}
	return false
}

// disorderedRead swaps the last two values of its nth weak read that
// returns two or more.
type disorderedRead struct {
	nth int
	mu  struct {
		sync.Mutex
		reads int
		fired bool
	}
}

func (d *disorderedRead) wrap(_ int, h *Group) client { return disorderedClient{h, d} }

func (d *disorderedRead) fired() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.mu.fired
}

type disorderedClient struct {
	*Group
	d *disorderedRead
}

func (c disorderedClient) Query(ctx context.Context, q Read, consistency rsm.Consistency) ([]int64, uint64, error) {
	list, idx, err := c.Group.Query(ctx, q, consistency)
	if err != nil || consistency != rsm.Weak || len(list) < 2 {
		return list, idx, err
	}
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	c.d.mu.reads++
	if c.d.mu.reads != c.d.nth {
		return list, idx, nil
	}
	c.d.mu.fired = true
	n := len(list)
	list = slices.Clone(list)
	list[n-2], list[n-1] = list[n-1], list[n-2]
	return list, idx, nil
}

// localReads answers every strong read from the member's copy, as a
// weak read.
type localReads struct{ served atomic.Int64 }

func (l *localReads) wrap(_ int, h *Group) client { return localReadsClient{h, l} }

type localReadsClient struct {
	*Group
	l *localReads
}

func (c localReadsClient) Query(ctx context.Context, q Read, consistency rsm.Consistency) ([]int64, uint64, error) {
	if consistency == rsm.Strong {
		c.l.served.Add(1)
	}
	return c.Group.Query(ctx, q, rsm.Weak)
}

// offline refuses every call as the group does while it has no leader.
type offline struct{}

func (offline) Execute(_ context.Context, cmd Append) (uint64, error) {
	return 0, &rsm.OfflineError[Append]{Commands: []Append{cmd}}
}

func (offline) Query(context.Context, Read, rsm.Consistency) ([]int64, uint64, error) {
	return nil, 0, rsm.ErrOffline
}
