package chaos

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/rsm"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/testkit"
)

func TestClassify(t *testing.T) {
	offline := &rsm.OfflineError[Append]{Commands: []Append{{Key: "k"}}}
	tests := []struct {
		name    string
		append  bool
		pending bool
		err     error
		want    Outcome
	}{
		{"acknowledged append", true, false, nil, Done},
		{"read", false, false, nil, Done},
		{"failed read", false, false, context.DeadlineExceeded, Dropped},
		{"append refused offline", true, false, offline, Dropped},
		{"append offline, wrapped", true, false, fmt.Errorf("call: %w", rsm.ErrOffline), Dropped},
		{"append rejected by the replicas", true, false, statemachine.ErrCommandRejected, Dropped},
		{"append timed out", true, false, context.DeadlineExceeded, Indefinite},
		{"append cut off by Close", true, false, rsm.ErrGroupTerminated, Indefinite},
		{"append still pending", true, true, nil, Indefinite},
		{"append failed otherwise", true, false, errors.New("actors: propose: boom"), Indefinite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.append, tt.pending, tt.err); got != tt.want {
				t.Fatalf("Classify = %s, want %s", got, tt.want)
			}
		})
	}
}

func genesis(b byte) groups.Genesis { return groups.Genesis{b} }

func appendCall(v int64, out Outcome, at, ret groups.Genesis) call {
	return call{Call: Call{Input: Input{Append: true, Key: "k", Value: v}, Genesis: at}, Outcome: out, Returned: ret}
}

func readCall(out Outcome, at, ret groups.Genesis) call {
	return call{Call: Call{Input: Input{Key: "k"}, Genesis: at}, Outcome: out, Returned: ret}
}

func TestByGenesis(t *testing.T) {
	g1, g2 := genesis(1), genesis(2)
	cs := []call{
		appendCall(1, Done, g1, g1),
		appendCall(2, Done, g1, g2),                     // ambiguous: both, indefinite
		appendCall(3, Indefinite, g2, g2),               // g2
		appendCall(4, Dropped, g1, g1),                  // left out
		readCall(Done, g2, g2),                          // g2
		readCall(Done, g1, g2),                          // ambiguous read: left out
		appendCall(5, Indefinite, g1, groups.Genesis{}), // pending: g1
	}
	split := byGenesis(cs)
	values := func(g groups.Genesis) []string {
		var out []string
		for _, c := range split[g] {
			out = append(out, fmt.Sprintf("%v/%d/%s", c.Append, c.Value, c.Outcome))
		}
		return out
	}
	if got, want := values(g1), []string{"true/1/done", "true/2/indefinite", "true/5/indefinite"}; !slices.Equal(got, want) {
		t.Errorf("genesis 1: %v, want %v", got, want)
	}
	if got, want := values(g2), []string{"true/2/indefinite", "true/3/indefinite", "false/0/done"}; !slices.Equal(got, want) {
		t.Errorf("genesis 2: %v, want %v", got, want)
	}
	if len(split) != 2 {
		t.Errorf("%d geneses, want 2", len(split))
	}
}

func TestCheckDurability(t *testing.T) {
	g := genesis(1)
	cs := []call{
		appendCall(1, Done, g, g),
		appendCall(2, Done, g, g),       // lost
		appendCall(3, Indefinite, g, g), // applied
		appendCall(4, Indefinite, g, g), // not applied
		appendCall(5, Dropped, g, g),    // shows up: phantom
	}
	d := checkDurability(cs, map[string][]int64{"k": {1, 3, 5, 1, 9}})
	in := func(v int64) Input { return Input{Append: true, Key: "k", Value: v} }
	if !slices.Equal(d.Lost, []Input{in(2)}) {
		t.Errorf("lost %v", d.Lost)
	}
	if !slices.Equal(d.Phantoms, []Input{in(5), in(9)}) {
		t.Errorf("phantoms %v", d.Phantoms)
	}
	if !slices.Equal(d.Duplicates, []Input{in(1)}) {
		t.Errorf("duplicates %v", d.Duplicates)
	}
	if d.Indefinite != 2 || d.IndefiniteApplied != 1 {
		t.Errorf("indefinite %d, applied %d", d.Indefinite, d.IndefiniteApplied)
	}
	if d.OK() {
		t.Error("OK with losses")
	}
}

// TestRivalAccounting: losses are explained by the rival losses members
// reported, each lost genesis counted once with its best report, and the
// count must fall between what the clients know was lost and what might
// have been.
func TestRivalAccounting(t *testing.T) {
	won, lost := genesis(1), genesis(2)
	cs := []call{
		appendCall(1, Done, won, won),
		appendCall(2, Done, lost, lost),
		// Acknowledged in the lost genesis, but the member had dropped
		// it by the time the call returned.
		appendCall(3, Done, lost, groups.Genesis{}),
		appendCall(4, Indefinite, lost, lost),
	}
	final := map[string][]int64{"k": {1}}
	d := checkDurability(cs, final)
	loss := func(commands uint64) cluster.RivalLoss {
		return cluster.RivalLoss{Lost: lost, Winner: won, Commands: commands}
	}
	tests := []struct {
		name       string
		rivals     []cluster.RivalLoss
		unreported int
		discarded  int
		mismatch   bool
	}{
		{"nothing reported", nil, 2, 0, true},
		{"both members report", []cluster.RivalLoss{loss(2), loss(1)}, 0, 2, false},
		{"the indefinite one was applied too", []cluster.RivalLoss{loss(3)}, 0, 3, false},
		{"too few", []cluster.RivalLoss{loss(1)}, 0, 1, true},
		{"too many", []cluster.RivalLoss{loss(4)}, 0, 4, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unreported, discarded := accountLosses(cs, d.Lost, tt.rivals)
			if len(unreported) != tt.unreported || discarded != tt.discarded {
				t.Fatalf("unreported %v, discarded %d; want %d, %d", unreported, discarded, tt.unreported, tt.discarded)
			}
			if msg := checkReported(cs, d, final, tt.rivals); (msg != "") != tt.mismatch {
				t.Fatalf("checkReported = %q, want a mismatch: %v", msg, tt.mismatch)
			}
		})
	}
}

func TestCallsFromHistory(t *testing.T) {
	h := testkit.NewHistory()
	g := genesis(3)
	a := h.Invoke(0, Call{Input: Input{Append: true, Key: "k", Value: 1}, Member: 2, Genesis: g})
	r := h.Invoke(1, Call{Input: Input{Key: "k"}, Member: 1, Genesis: g})
	h.Invoke(2, Call{Input: Input{Append: true, Key: "k", Value: 2}, Genesis: g}) // never returns
	h.Return(r, Reply{List: []int64{1}, Genesis: g}, nil)
	h.Return(a, Reply{Genesis: g}, context.DeadlineExceeded)
	cs := calls(h.Operations())
	if len(cs) != 3 || cs[0].Outcome != Indefinite || cs[1].Outcome != Done || cs[2].Outcome != Indefinite {
		t.Fatalf("calls %+v", cs)
	}
	if cs[0].Member != 2 || cs[1].Returned != g || !slices.Equal(cs[1].Output.List, []int64{1}) {
		t.Fatalf("calls %+v", cs)
	}
	end := endOf(cs)
	ops := porcupineOps(cs, end)
	// The append of 1 is indefinite but a read saw it: it returns at the
	// end. The append of 2 nobody saw: left out.
	if len(ops) != 2 || ops[0].Return != int64(end) || ops[1].Return == int64(end) {
		t.Fatalf("porcupine ops %+v (end %v)", ops, end)
	}
	if s := samples(cs, end, time.Second); len(s) != 3 || s[0].At < time.Second || s[2].Latency <= 0 || s[0].At > s[1].At {
		t.Fatalf("samples %+v", s)
	}
}

// TestSavedOperationsRoundTrip checks that a history saved beside a failed
// check reads back as the same operations, which porcupine judges the
// same way.
func TestSavedOperationsRoundTrip(t *testing.T) {
	ops := []porcupine.Operation{
		{ClientId: 0, Input: Input{Append: true, Key: "k", Value: 1}, Output: Output{}, Call: 0, Return: 10, Metadata: "member 0"},
		{ClientId: 1, Input: Input{Append: true, Key: "k", Value: 2}, Output: Output{}, Call: 5, Return: 20, Metadata: "member 1"},
		{ClientId: 2, Input: Input{Key: "k"}, Output: Output{List: []int64{2, 1}}, Call: 21, Return: 30, Metadata: "member 2"},
	}
	path, err := writeOperations(filepath.Join(t.TempDir(), "history.json"), ops)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadOperations(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, ops) {
		t.Fatalf("read back %+v, want %+v", back, ops)
	}
	if got := porcupine.CheckOperations(Model(false), back); !got {
		t.Fatal("the saved history is no longer linearizable")
	}
	if _, err := ReadOperations(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Fatal("reading a missing file succeeded")
	}
}
