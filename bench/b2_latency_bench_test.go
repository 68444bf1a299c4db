package bench

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// B2 group/execute-latency: one client commits 16-byte commands one after
// another on the leader of a 3-node group; the figures are the p50 and the
// p99 of the times from the call to its return (committed and applied on
// the leader). Ours calls rsm's Execute on the leader's handle, the
// baseline dragonboat's SyncPropose on the leader's NodeHost. A round
// starts both clusters and lets the client take turns on the two leaders
// in blocks of commands (see alternate), so that both sides meet the
// machine in the same state: measured one after the other, seconds apart,
// the sides of one round met different hosts, and a run's p50 ratios
// spanned 0.88-1.40. One round gives both percentiles; they are reported
// as variants "<storage>/p50" and "<storage>/p99" of the same rounds.
//
// B2f group/execute-latency-follower: the same client on a follower, whose
// commands the engine forwards to the leader, against the same client on
// the leader of the same group, taking turns in the same way in one
// cluster.

// latencyLoad sizes one B2 run: each side's warmup and timed commands.
type latencyLoad struct{ warmup, samples int }

var (
	latencyFull  = latencyLoad{warmup: 200, samples: 2000}
	latencySmoke = latencyLoad{warmup: 10, samples: 50}
)

// latencySpec is the Spec of B2's figure pct on st.
func latencySpec(st storage) func(pct string) Spec {
	return func(pct string) Spec {
		goal := map[string]string{"p50": "<= 1.0", "p99": "<= 1.2"}[pct]
		s := consensusSpec("B2", "group/execute-latency", st.name+"/"+pct, "ms", goal, st)
		s.Baseline += ", SyncPropose on the leader, one client, in blocks alternating with ours"
		return s
	}
}

var latencyStorages = []storage{memStorage, diskStorage}

// latencyRound is one round of B2 on st: ours' group and the baseline's,
// both up, the client taking turns on their leaders.
func latencyRound(ctx context.Context, st storage, load latencyLoad) (p50, p99 Pair, err error) {
	c, leader, err := startGroup(ctx, 3, st)
	if err != nil {
		return Pair{}, Pair{}, err
	}
	defer func() { err = joinClose(err, c.close()) }()
	raw, rawLeader, err := startRawGroup(ctx, 3, st)
	if err != nil {
		return Pair{}, Pair{}, err
	}
	defer func() { err = joinClose(err, raw.close()) }()
	return alternate(ctx, [2]proposeFunc{executor(c.groups[leader]), raw.proposer(rawLeader)}, [2]string{"ours", "base"}, load)
}

// BenchmarkExecuteLatency is B2; -benchtime Nx runs N rounds per storage.
func BenchmarkExecuteLatency(b *testing.B) {
	for _, st := range latencyStorages {
		b.Run(st.name, func(b *testing.B) {
			benchRounds(b, func(ctx context.Context, rounds int, log func(string)) ([]Result, error) {
				return latencyRounds(ctx, rounds, func(ctx context.Context) (Pair, Pair, error) {
					return latencyRound(ctx, st, latencyFull)
				}, latencySpec(st), [2]string{"ours", "base"}, log)
			})
		})
	}
}

// TestExecuteLatencySmoke runs B2 small: in memory, 50 commands per side,
// one round.
func TestExecuteLatencySmoke(t *testing.T) {
	smokeRounds(t, func(ctx context.Context, rounds int, log func(string)) ([]Result, error) {
		return latencyRounds(ctx, rounds, func(ctx context.Context) (Pair, Pair, error) {
			return latencyRound(ctx, memStorage, latencySmoke)
		}, latencySpec(memStorage), [2]string{"ours", "base"}, log)
	})
}

// latencyBlocks is how many turns each side of B2 and B2f takes per round.
const latencyBlocks = 10

// alternate runs load on two sides in turns: latencyBlocks blocks each,
// the side that starts alternating from block to block, each side's first
// block preceded by its warmup. It returns the p50 and p99 pairs, sides[0]
// as ours; names label errors.
func alternate(ctx context.Context, sides [2]proposeFunc, names [2]string, load latencyLoad) (p50, p99 Pair, err error) {
	var ds [2][]time.Duration
	per := max(load.samples/latencyBlocks, 1)
	for block := range latencyBlocks {
		for turn := range 2 {
			side := (block + turn) % 2
			warmup := 0
			if block < 2 {
				warmup = load.warmup // each side's first block
			}
			got, err := latencies(ctx, sides[side], warmup, per)
			if err != nil {
				return Pair{}, Pair{}, fmt.Errorf("block %d, %s: %w", block, names[side], err)
			}
			ds[side] = append(ds[side], got...)
		}
	}
	return Pair{Ours: Millis(percentile(ds[0], 50)), Base: Millis(percentile(ds[1], 50))},
		Pair{Ours: Millis(percentile(ds[0], 99)), Base: Millis(percentile(ds[1], 99))}, nil
}

// followerRound is one round of B2f: one cluster, the client taking turns
// on a follower (ours) and on the leader (base).
func followerRound(ctx context.Context, st storage, load latencyLoad) (p50, p99 Pair, err error) {
	c, leader, err := startGroup(ctx, 3, st)
	if err != nil {
		return Pair{}, Pair{}, err
	}
	defer func() { err = joinClose(err, c.close()) }()
	follower := (leader + 1) % len(c.groups)
	return alternate(ctx, [2]proposeFunc{executor(c.groups[follower]), executor(c.groups[leader])}, [2]string{"follower", "leader"}, load)
}

func followerSpec(pct string) Spec {
	return Spec{
		ID:       "B2f",
		Name:     "group/execute-latency-follower",
		Variant:  memStorage.name + "/" + pct,
		Baseline: "B2 ours, on the leader of the same group, in alternating blocks",
		Unit:     "ms",
		Goal:     "<= 1.15",
		Fsync:    memStorage.fsync(),
	}
}

// latencyRounds runs rounds rounds of round, each quiesced like a RunPair
// side, and returns the p50 and p99 results of spec; each round's line,
// naming the sides, goes to log.
func latencyRounds(ctx context.Context, rounds int, round func(context.Context) (p50, p99 Pair, err error), spec func(pct string) Spec, names [2]string, log func(string)) ([]Result, error) {
	var p50s, p99s []Pair
	for i := range rounds {
		err := RunAlone(ctx, func(ctx context.Context) error {
			p50, p99, err := round(ctx)
			if err != nil {
				return fmt.Errorf("bench: %s round %d: %w", spec("p50").ID, i, err)
			}
			p50s, p99s = append(p50s, p50), append(p99s, p99)
			log(fmt.Sprintf("round %d: p50 %s %.3f ms, %s %.3f ms (ratio %.3f); p99 %s %.3f ms, %s %.3f ms (ratio %.3f)",
				i, names[0], p50.Ours, names[1], p50.Base, p50.Ratio(), names[0], p99.Ours, names[1], p99.Base, p99.Ratio()))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return []Result{Summarize(spec("p50"), p50s), Summarize(spec("p99"), p99s)}, nil
}

// roundsFunc runs a benchmark's rounds, whole, and returns its results.
type roundsFunc func(ctx context.Context, rounds int, log func(string)) ([]Result, error)

// benchRounds runs run with b.N rounds and reports its results. The
// rounds run after the loop: each holds whole clusters, and its pairs come
// from inside the round, so b.Loop only counts them.
func benchRounds(b *testing.B, run roundsFunc) {
	rounds := 0
	for b.Loop() {
		rounds++
	}
	rs, err := run(context.Background(), rounds, func(s string) { b.Log(s) })
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range rs {
		b.Log(r)
		b.ReportMetric(r.Ratio, r.Variant+"-ratio")
		results.Add(r)
	}
}

// smokeRounds runs one round of run and checks its results.
func smokeRounds(t *testing.T, run roundsFunc) {
	rs, err := run(t.Context(), 1, func(s string) { t.Log(s) })
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		checkResult(t, r)
	}
}

// BenchmarkExecuteLatencyFollower is B2f, in memory; -benchtime Nx runs N
// rounds, each a cluster of its own.
func BenchmarkExecuteLatencyFollower(b *testing.B) {
	benchRounds(b, followerRounds(latencyFull))
}

// TestExecuteLatencyFollowerSmoke runs B2f small: 50 commands per side,
// one round.
func TestExecuteLatencyFollowerSmoke(t *testing.T) {
	smokeRounds(t, followerRounds(latencySmoke))
}

// followerRounds is B2f's rounds with load.
func followerRounds(load latencyLoad) roundsFunc {
	return func(ctx context.Context, rounds int, log func(string)) ([]Result, error) {
		return latencyRounds(ctx, rounds, func(ctx context.Context) (Pair, Pair, error) {
			return followerRound(ctx, memStorage, load)
		}, followerSpec, [2]string{"follower", "leader"}, log)
	}
}
