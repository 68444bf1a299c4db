// Package chaos is mosaik's reliability suite: fault scenarios run
// against a replicated key-value group under load, with every client
// call recorded and checked for linearizability.
//
// # Pieces
//
//   - [KV] is the replicated machine: keys holding append-only lists, so
//     that a read shows every write to its key in applied order.
//   - [Scenarios] are fault schedules ([Scenario.Script]) over an [Env]:
//     kill and restart the leader or a follower, partitions (leader
//     isolated, minority/majority, a non-transitive "bridge"), lossy and
//     delayed links, restarts from data directories, a rolling restart,
//     members joining under load, and rival geneses from a partition
//     that predates the group.
//   - [Run] forms the group on a testkit cluster, runs clients that call
//     it at a steady pace (writes, strong reads and weak reads) while the
//     script injects faults, heals everything, reads the final state, and
//     checks what the clients saw: the writes and strong reads are
//     linearizable ([Model], checked with porcupine); every weak read
//     shows a state of its genesis's log (stale allowed: a prefix of what
//     the other reads saw, with no value written after it returned);
//     every acknowledged write is in the final state (or, in
//     availability-first mode, was discarded by a rival merge that
//     reported it); nothing appears that nobody wrote; and every member
//     ends with the same state.
//   - [Progress] makes a run unable to pass by doing nothing: each
//     scenario requires, per phase ([Scenario.Want]), writes acknowledged
//     before the fault, during it on the side that keeps or regains a
//     quorum, and after the heal, and reads completed; while a partition
//     cuts members off ([Env.CutOff]) readers pinned to them read weakly
//     and strongly, and in availability-first mode the cut-off side must
//     re-form and serve writes and strong reads. A phase lasts its own
//     time and then until its minimums are met or
//     Options.ProgressTimeout passes ([Env.Endure]); a shortfall is a
//     violation.
//
// # Outcomes of calls
//
// A call that returns without error is done: it took effect. An append
// refused with rsm.ErrOffline was never submitted, and a failed read had
// no effect: both are dropped from the history. Any other failure of an
// append (a timeout, a handle closed mid-call) leaves its outcome
// unknown: the checker may linearize it anywhere after its call,
// including at the end of the history where nobody observes it
// ([Classify]). Results count each kind apart, and the operations the
// checker verified (Result.Checked, Result.WeakChecked).
//
// # Self-test
//
// TestCheckerCatchesInjectedBugs, in the normal test run, wraps the
// client layer of a short run to inject bugs on fixed calls (a write
// acknowledged but never submitted, strong reads answered from an old
// value, a weak read out of order, every call refused as offline) and,
// across a partition that cuts the leader off, strong reads served from
// the member's copy; it asserts that each injection happened, and that
// the check reports it.
//
// # Modes
//
// With Options.Strict the group runs with StrictQuorum and the whole
// history must be linearizable, in one genesis, with no acknowledged
// write lost. By default (availability first) a member cut off from
// every other member re-forms the group alone, and a rival merge keeps
// the longer log: each genesis's history must be linearizable on its own
// (a re-formed genesis starts from state the checker does not know), and
// the acknowledged writes that vanish must be exactly those of geneses
// that members reported lost (cluster.RivalLoss), their number matching
// the commands those reports count.
//
// # Seeds
//
// A run's seed drives the script's choices, the clients' calls and the
// in-memory network's drops and jitter, and is logged; a failure replays
// with the same seed (go test -chaos.seed=N, or CHAOS_SEED=N). Goroutine
// scheduling is not replayed, so a replay makes the same decisions, not
// the same interleavings. A history that fails the linearizability check
// (or runs out of CheckTimeout) is kept instead: porcupine's
// visualization (.html) and the operations in full (.json, read back with
// [ReadOperations]) go to Options.VisDir, so the check can be run again
// on exactly that history.
//
// # Commands
//
//	go test -race ./chaos                             # CI sizes, a few minutes
//	go test ./chaos -run 'TestStrictQuorum/leader-kill' -chaos.seed=7   # replay one seed
//	go test ./chaos -chaos.long -timeout 60m          # ten seeds each, faults three times longer
//	go run ./chaos/cmd/soak -duration 5m              # the soak alone
//	go run ./chaos/cmd/soak -scenarios all -seeds 2 -scale 2 -duration 4m   # docs/reliability.md
//
// The default test run covers every scenario with StrictQuorum
// (TestStrictQuorum, two seeds each, one for the five-member scenario),
// the scenarios where availability-first mode behaves differently
// (TestAvailabilityFirst: a lone leader re-forming, two of five
// re-forming together, rival geneses), the leader's kill on real QUIC and
// memberlist sockets (TestLoopback, one seed; the follower's too with
// -chaos.long), and the self-test.
//
// The soak program (cmd/soak) drives a five-member group with durable
// logs at a steady rate while it injects one fault per round, cycling
// through the scenarios a running group can take; each round writes
// fresh keys that are deleted afterwards, so the state stays bounded,
// while a ledger key that is never deleted must keep every acknowledged
// entry across all rounds. Each round must make the progress its fault's
// scenario requires. It reports calls by outcome, operations checked,
// writes acknowledged and lost, latency percentiles, goroutines and live
// heap between rounds (which must stay flat), plots latency over time
// across the faults, and writes it all, with the scenario runs, to
// docs/reliability.md, keeping the report's hand-written part (the
// adversarial figures) as it was ([KeptPart]).
//
// # Concurrency
//
// An [Env] belongs to one run: its script runs on the caller's goroutine,
// the clients each on their own, and Run stops them all before it
// returns. Runs use the test kit, so they must not run in parallel.
package chaos
