package chaos

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/testkit"
)

// check reads the final state and runs every check on the history,
// reporting failures through fail.
func (e *Env) check(ctx context.Context, initial map[groups.Genesis]bool, rivals []cluster.RivalLoss, fail func(string, ...any)) Result {
	var res Result
	began := time.Now()
	rctx, cancel := context.WithTimeout(ctx, testkit.DefaultTimeout)
	defer cancel()
	final, index, err := e.finalRead(rctx)
	if err != nil {
		fail("final read: %v", err)
	} else if err := e.converged(rctx, final, index); err != nil {
		fail("convergence: %v", err)
	}
	read := time.Since(began)
	defer func() {
		// A slow check is worth seeing: on a loaded machine it is most of
		// a round.
		e.t.Logf("chaos: round %d checked in %.1fs (final state read and compared in %.1fs)", e.round, time.Since(began).Seconds(), read.Seconds())
	}()
	cs := calls(e.history.Operations())
	end := endOf(cs)
	res.Samples = samples(cs, end, e.roundAt)
	geneses := map[groups.Genesis]bool{}
	for _, c := range cs {
		switch c.Outcome {
		case Done:
			res.Done++
			if c.Append {
				res.Acked++
			}
			geneses[c.Genesis] = true
		case Dropped:
			res.Dropped++
		case Indefinite:
			res.Indefinite++
		}
	}
	res.Geneses = len(geneses)

	if e.opts.Strict {
		if len(geneses) > 1 {
			fail("strict quorum: calls ran in %d geneses, want one", len(geneses))
		}
		e.linearizable(cs, end, "all", false, &res, fail)
	} else {
		split := byGenesis(cs)
		for _, g := range slices.SortedFunc(maps.Keys(split), groups.Genesis.Compare) {
			e.linearizable(split[g], end, "genesis "+g.Short(), !initial[g], &res, fail)
		}
	}
	weak, stateViolations := checkStates(cs)
	res.WeakChecked = weak
	for _, v := range stateViolations {
		fail("read state: %s", v)
	}
	if err != nil {
		return res
	}
	d := checkDurability(cs, final)
	for _, in := range d.Phantoms {
		fail("phantom write: %s holds %d, which no possibly applied append wrote", in.Key, in.Value)
	}
	for _, in := range d.Duplicates {
		fail("duplicate write: %s holds %d more than once", in.Key, in.Value)
	}
	unreported, discarded := accountLosses(cs, d.Lost, rivals)
	res.Lost, res.Discarded = len(unreported), discarded
	for _, in := range unreported {
		fail("lost write: acknowledged append(%s, %d) is missing and no rival merge reported it", in.Key, in.Value)
	}
	if !e.opts.Strict {
		if msg := checkReported(cs, d, final, rivals); msg != "" {
			fail("rival merge report: %s", msg)
		}
	} else if discarded > 0 {
		fail("strict quorum: rival merges discarded %d commands", discarded)
	}
	return res
}

// linearizable checks one history with porcupine, writing a
// visualization when it is not linearizable.
func (e *Env) linearizable(cs []call, end time.Duration, label string, open bool, res *Result, fail func(string, ...any)) {
	model := Model(open)
	ops := porcupineOps(cs, end)
	verdict, info := porcupine.CheckOperationsVerbose(model, ops, e.opts.CheckTimeout)
	if verdict != porcupine.Unknown {
		res.Checked += len(ops)
	}
	if verdict == porcupine.Ok {
		return
	}
	path, err := e.visualize(model, info, label)
	if err != nil {
		fail("linearizability of %s: %s (%d operations); visualization failed: %v", label, verdict, len(ops), err)
		return
	}
	res.Visualizations = append(res.Visualizations, path)
	// The visualization abbreviates long lists; the operations in full go
	// beside it, so that the check can be run again on exactly this
	// history (ReadOperations, then porcupine with Model).
	saved, err := writeOperations(strings.TrimSuffix(path, ".html")+".json", ops)
	if err != nil {
		fail("linearizability of %s: %s (%d operations); see %s (operations not saved: %v)", label, verdict, len(ops), path, err)
		return
	}
	fail("linearizability of %s: %s (%d operations); see %s and %s", label, verdict, len(ops), path, saved)
}

func (e *Env) visualize(model porcupine.Model, info porcupine.LinearizationInfo, label string) (string, error) {
	if err := os.MkdirAll(e.opts.VisDir, 0o755); err != nil {
		return "", fmt.Errorf("chaos: %w", err)
	}
	var notes []porcupine.Annotation
	for _, m := range e.marks() {
		if at := m.At - e.roundAt; at >= 0 {
			notes = append(notes, porcupine.Annotation{Tag: "faults", Start: int64(at), Description: m.What})
		}
	}
	info.AddAnnotations(notes)
	name := strings.NewReplacer(" ", "-", "/", "-").Replace(fmt.Sprintf("%s-seed%d-round%d-%s.html", e.name, e.opts.Seed, e.round, label))
	path := filepath.Join(e.opts.VisDir, name)
	if err := porcupine.VisualizePath(model, info, path); err != nil {
		return "", fmt.Errorf("chaos: visualize: %w", err)
	}
	return path, nil
}

// accountLosses splits the acknowledged appends missing from the final
// state into those a rival loss explains (made through a member that was
// in a genesis some member reported lost, when the call began or ended:
// a member's genesis may already be gone when its last acknowledgment
// returns) and the rest, and totals the commands the losses reported
// (per lost genesis, the most any member reported: every member of a
// lost shard reports the same loss).
func accountLosses(cs []call, lost []Input, rivals []cluster.RivalLoss) (unreported []Input, discarded int) {
	perGenesis := map[groups.Genesis]uint64{}
	for _, r := range rivals {
		perGenesis[r.Lost] = max(perGenesis[r.Lost], r.Commands)
	}
	for _, n := range perGenesis {
		discarded += int(n)
	}
	explained := map[Input]bool{}
	for _, c := range cs {
		if c.Append && c.Outcome == Done {
			_, atCall := perGenesis[c.Genesis]
			_, atReturn := perGenesis[c.Returned]
			explained[c.Input] = atCall || atReturn
		}
	}
	for _, in := range lost {
		if !explained[in] {
			unreported = append(unreported, in)
		}
	}
	return unreported, discarded
}

// checkReported compares the commands rival losses reported discarded
// with what the clients saw: every acknowledged append that was lost
// was discarded, and so were some of the appends of unknown fate that
// the final state lacks, so the report must lie between the two counts.
// It returns "" when it does.
func checkReported(cs []call, d Durability, final map[string][]int64, rivals []cluster.RivalLoss) string {
	_, reported := accountLosses(cs, d.Lost, rivals)
	held := map[Input]bool{}
	for k, vs := range final {
		for _, v := range vs {
			held[Input{Append: true, Key: k, Value: v}] = true
		}
	}
	missingIndefinite := 0
	for _, c := range cs {
		if c.Append && c.Outcome == Indefinite && !held[c.Input] {
			missingIndefinite++
		}
	}
	lo, hi := len(d.Lost), len(d.Lost)+missingIndefinite
	if reported < lo || reported > hi {
		return fmt.Sprintf("%d commands reported discarded; the clients saw %d acknowledged appends lost and %d of unknown fate missing", reported, lo, missingIndefinite)
	}
	return ""
}
