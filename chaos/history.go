package chaos

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/rsm"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/testkit"
)

// Call is a client call's input as a run records it in its
// testkit.History.
type Call struct {
	Input
	// Member is the index of the node the call went through.
	Member int
	// Genesis is the member's genesis when the call began.
	Genesis groups.Genesis
	// Weak marks a weak read: it answers from the member's copy, so the
	// linearizability check leaves it out and checkStates checks it.
	Weak bool
	// Final marks the checker's own reads of the final state, which count
	// toward no progress minimum.
	Final bool
}

// Reply is a call's output as recorded.
type Reply struct {
	// List is what a read returned.
	List []int64
	// Genesis is the member's genesis when the call returned.
	Genesis groups.Genesis
}

// Outcome says what a recorded call means to the checker.
type Outcome int

const (
	// Done: the call returned without error; an append took effect, a
	// read saw the list it returned.
	Done Outcome = iota
	// Dropped: the call certainly had no effect: an append refused before
	// it was submitted (never applied), or a read that failed. The
	// checker leaves it out.
	Dropped
	// Indefinite: an append that failed in a way that leaves its fate
	// open (a timeout, the handle closed while it was in flight): it may
	// or may not have taken effect, now or later.
	Indefinite
)

func (o Outcome) String() string {
	switch o {
	case Done:
		return "done"
	case Dropped:
		return "dropped"
	case Indefinite:
		return "indefinite"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Classify decides what a call's error means. Only errors that say the
// command was never submitted (ErrOffline hands the command back) or was
// refused by every replica make a failed append certain; anything else,
// including a call still pending, leaves it indefinite. Reads have no
// effect, so a failed read is simply dropped.
func Classify(append bool, pending bool, err error) Outcome {
	switch {
	case !pending && err == nil:
		return Done
	case !append:
		return Dropped
	case errors.Is(err, rsm.ErrOffline), errors.Is(err, statemachine.ErrCommandRejected):
		return Dropped
	default:
		return Indefinite
	}
}

// call is one recorded call, classified.
type call struct {
	Call
	Client  int
	Output  Output
	Outcome Outcome
	Err     error
	// Returned is the member's genesis at return (zero if pending).
	Returned   groups.Genesis
	Start, End time.Duration
}

// calls reads a history's operations back, classified.
func calls(ops []testkit.Operation) []call {
	out := make([]call, 0, len(ops))
	for _, op := range ops {
		c := call{Call: op.Input.(Call), Client: op.Client, Err: op.Err, Start: op.Call, End: op.Return}
		if r, ok := op.Output.(Reply); ok {
			c.Output, c.Returned = Output{List: r.List}, r.Genesis
		}
		c.Outcome = Classify(c.Append, op.Return == 0, op.Err)
		out = append(out, c)
	}
	return out
}

// porcupineOps turns classified calls into porcupine operations: done
// calls keep their times; indefinite appends return after everything
// else (end), so the checker may place them anywhere after their call,
// including where nobody observes them; dropped calls and weak reads
// (which promise no linearizability: checkStates checks them) are left
// out.
//
// An indefinite append that no read observed is left out too: placing it
// last, after every other operation, is always a valid choice for it, so
// it cannot make a history illegal, while every such append doubles the
// orders of values the checker would otherwise try.
func porcupineOps(cs []call, end time.Duration) []porcupine.Operation {
	observed := map[Input]bool{}
	for _, c := range cs {
		if !c.Append && !c.Weak && c.Outcome == Done {
			for _, v := range c.Output.List {
				observed[Input{Append: true, Key: c.Key, Value: v}] = true
			}
		}
	}
	ops := make([]porcupine.Operation, 0, len(cs))
	for _, c := range cs {
		ret := c.End
		if c.Weak {
			continue
		}
		switch c.Outcome {
		case Dropped:
			continue
		case Indefinite:
			if !observed[c.Input] {
				continue
			}
			ret = end
		}
		ops = append(ops, porcupine.Operation{
			ClientId: c.Client,
			Input:    c.Input,
			Output:   c.Output,
			Call:     int64(c.Start),
			Return:   int64(ret),
			Metadata: describeCall(c),
		})
	}
	return ops
}

func describeCall(c call) string {
	s := fmt.Sprintf("member %d, genesis %s, %s", c.Member, c.Genesis.Short(), c.Outcome)
	if c.Final {
		s = "final read, " + s
	}
	if c.Err != nil {
		s += ": " + c.Err.Error()
	}
	return s
}

// endOf is a time after every call and return of the history.
func endOf(cs []call) time.Duration {
	var end time.Duration
	for _, c := range cs {
		end = max(end, c.Start, c.End)
	}
	return end + time.Millisecond
}

// byGenesis splits calls by the genesis they ran in, for checking each
// genesis's history on its own (availability-first mode, where a rival
// merge may replace one genesis's state with another's). A call ran in
// the genesis its member had at call and at return; a member cannot
// leave a genesis and come back to it within one call's timeout, since
// re-forming and merging back each take longer. A call whose member
// changed genesis during the call is ambiguous: a read is left out, an
// append goes into both geneses as indefinite. Calls made while the
// member had no genesis are left out (they cannot have run).
func byGenesis(cs []call) map[groups.Genesis][]call {
	out := map[groups.Genesis][]call{}
	add := func(g groups.Genesis, c call) {
		if !g.IsZero() {
			out[g] = append(out[g], c)
		}
	}
	for _, c := range cs {
		if c.Outcome == Dropped {
			continue
		}
		if c.Outcome == Indefinite || c.Returned == c.Genesis {
			add(c.Genesis, c)
			if c.Returned != c.Genesis {
				add(c.Returned, c)
			}
			continue
		}
		if !c.Append {
			continue
		}
		c.Outcome = Indefinite
		add(c.Genesis, c)
		add(c.Returned, c)
	}
	return out
}

// Durability is what the final state says about the writes.
type Durability struct {
	// Lost are acknowledged appends missing from the final state.
	Lost []Input
	// Phantoms are values in the final state that no append which might
	// have taken effect wrote (a dropped append that was applied after
	// all, or a value nobody wrote).
	Phantoms []Input
	// Duplicates are values that appear more than once.
	Duplicates []Input
	// Indefinite counts appends of unknown fate; Applied how many of
	// them the final state holds.
	Indefinite, IndefiniteApplied int
}

// OK reports whether nothing was lost, invented or duplicated.
func (d Durability) OK() bool {
	return len(d.Lost) == 0 && len(d.Phantoms) == 0 && len(d.Duplicates) == 0
}

// checkDurability compares the appends of a history with the final lists.
func checkDurability(cs []call, final map[string][]int64) Durability {
	var d Durability
	seen := map[Input]int{}
	for _, k := range slices.Sorted(maps.Keys(final)) {
		for _, v := range final[k] {
			seen[Input{Append: true, Key: k, Value: v}]++
		}
	}
	possible := map[Input]bool{}
	for _, c := range cs {
		if !c.Append {
			continue
		}
		switch c.Outcome {
		case Done:
			possible[c.Input] = true
			if seen[c.Input] == 0 {
				d.Lost = append(d.Lost, c.Input)
			}
		case Indefinite:
			possible[c.Input] = true
			d.Indefinite++
			if seen[c.Input] > 0 {
				d.IndefiniteApplied++
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(final)) {
		for _, v := range final[k] {
			in := Input{Append: true, Key: k, Value: v}
			if !possible[in] {
				d.Phantoms = append(d.Phantoms, in)
			}
			if seen[in] > 1 {
				d.Duplicates = append(d.Duplicates, in)
				seen[in] = 1 // report once
			}
		}
	}
	return d
}

// savedOperation is one operation of a history as writeOperations saves
// it.
type savedOperation struct {
	Client   int    `json:"client"`
	Input    Input  `json:"input"`
	Output   Output `json:"output"`
	Call     int64  `json:"call"`
	Return   int64  `json:"return"`
	Metadata string `json:"metadata,omitempty"`
}

// writeOperations saves a history's porcupine operations to path as
// JSON, so that a failed check can be run again on exactly that history
// (see ReadOperations), and returns path.
func writeOperations(path string, ops []porcupine.Operation) (string, error) {
	saved := make([]savedOperation, len(ops))
	for i, op := range ops {
		meta, _ := op.Metadata.(string)
		out, _ := op.Output.(Output)
		saved[i] = savedOperation{Client: op.ClientId, Input: op.Input.(Input), Output: out, Call: op.Call, Return: op.Return, Metadata: meta}
	}
	data, err := json.MarshalIndent(saved, "", " ")
	if err != nil {
		return "", fmt.Errorf("chaos: save operations: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return "", fmt.Errorf("chaos: save operations: %w", err)
	}
	return path, nil
}

// ReadOperations loads a history saved beside the visualization of a
// failed check, ready for porcupine with Model:
//
//	ops, err := chaos.ReadOperations(path)
//	result := porcupine.CheckOperations(chaos.Model(false), ops)
func ReadOperations(path string) ([]porcupine.Operation, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("chaos: read operations: %w", err)
	}
	var saved []savedOperation
	if err := json.Unmarshal(data, &saved); err != nil {
		return nil, fmt.Errorf("chaos: read operations %s: %w", path, err)
	}
	ops := make([]porcupine.Operation, len(saved))
	for i, s := range saved {
		ops[i] = porcupine.Operation{ClientId: s.Client, Input: s.Input, Output: s.Output, Call: s.Call, Return: s.Return, Metadata: s.Metadata}
	}
	return ops, nil
}
