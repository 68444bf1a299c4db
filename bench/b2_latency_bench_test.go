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
// baseline dragonboat's SyncPropose on the leader's NodeHost. One run
// gives both percentiles; they are reported as variants "<storage>/p50"
// and "<storage>/p99" of the same rounds.
//
// B2f group/execute-latency-follower: the same client on a follower, whose
// commands the engine forwards to the leader, against the same client on
// the leader of the same group. Both sides run in one cluster, taking
// turns in blocks of commands, so that they share the machine's state as
// closely as possible: a round is one cluster.

// latencyLoad sizes one B2 run.
type latencyLoad struct{ warmup, samples int }

var (
	latencyFull  = latencyLoad{warmup: 200, samples: 2000}
	latencySmoke = latencyLoad{warmup: 10, samples: 50}
)

// latencyFigures are one run's percentiles, in ms, by name.
func latencyFigures(ds []time.Duration) map[string]float64 {
	return map[string]float64{"p50": Millis(percentile(ds, 50)), "p99": Millis(percentile(ds, 99))}
}

// latencyOurs is ours' side of B2.
func latencyOurs(ctx context.Context, st storage, load latencyLoad) (_ map[string]float64, err error) {
	c, leader, err := startGroup(ctx, 3, st)
	if err != nil {
		return nil, err
	}
	defer func() { err = joinClose(err, c.close()) }()
	ds, err := latencies(ctx, executor(c.groups[leader]), load.warmup, load.samples)
	if err != nil {
		return nil, err
	}
	return latencyFigures(ds), nil
}

// latencyRaw is the baseline side of B2.
func latencyRaw(ctx context.Context, st storage, load latencyLoad) (_ map[string]float64, err error) {
	c, leader, err := startRawGroup(ctx, 3, st)
	if err != nil {
		return nil, err
	}
	defer func() { err = joinClose(err, c.close()) }()
	ds, err := latencies(ctx, c.proposer(leader), load.warmup, load.samples)
	if err != nil {
		return nil, err
	}
	return latencyFigures(ds), nil
}

// latencyMeasures returns B2's pairing and its two sides.
func latencyMeasures(st storage, load latencyLoad) (m *multiPairs, ours, base Measure) {
	m = newMultiPairs("p50", "p99")
	ours, base = m.measures(
		func(ctx context.Context) (map[string]float64, error) { return latencyOurs(ctx, st, load) },
		func(ctx context.Context) (map[string]float64, error) { return latencyRaw(ctx, st, load) },
	)
	return m, ours, base
}

// latencySpec is the Spec of B2's figure pct on st.
func latencySpec(st storage) func(pct string) Spec {
	return func(pct string) Spec {
		goal := map[string]string{"p50": "<= 1.0", "p99": "<= 1.2"}[pct]
		s := consensusSpec("B2", "group/execute-latency", st.name+"/"+pct, "ms", goal, st)
		s.Baseline += ", SyncPropose on the leader, one client"
		return s
	}
}

var latencyStorages = []storage{memStorage, diskStorage}

// BenchmarkExecuteLatency is B2; -benchtime Nx runs N rounds per storage.
func BenchmarkExecuteLatency(b *testing.B) {
	for _, st := range latencyStorages {
		b.Run(st.name, func(b *testing.B) {
			m, ours, base := latencyMeasures(st, latencyFull)
			benchMulti(b, m, ours, base, "ms", latencySpec(st))
		})
	}
}

// TestExecuteLatencySmoke runs B2 small: in memory, 50 commands, one
// round.
func TestExecuteLatencySmoke(t *testing.T) {
	m, ours, base := latencyMeasures(memStorage, latencySmoke)
	smokeMulti(t, m, ours, base, "ms", latencySpec(memStorage))
}

// followerBlocks is how many turns each side of B2f takes per round.
const followerBlocks = 10

// followerRound is one round of B2f: one cluster, the client taking turns
// on a follower and on the leader, block by block (the side that starts
// alternates). It returns the round's p50 and p99 pairs, the follower as
// ours and the leader as base.
func followerRound(ctx context.Context, st storage, load latencyLoad) (p50, p99 Pair, err error) {
	c, leader, err := startGroup(ctx, 3, st)
	if err != nil {
		return Pair{}, Pair{}, err
	}
	defer func() { err = joinClose(err, c.close()) }()
	follower := (leader + 1) % len(c.groups)
	sides := [2]proposeFunc{executor(c.groups[follower]), executor(c.groups[leader])}
	var ds [2][]time.Duration
	per := max(load.samples/followerBlocks, 1)
	for block := range followerBlocks {
		for turn := range 2 {
			side := (block + turn) % 2
			warmup := 0
			if block < 2 {
				warmup = load.warmup // each side's first block
			}
			got, err := latencies(ctx, sides[side], warmup, per)
			if err != nil {
				return Pair{}, Pair{}, fmt.Errorf("block %d, %s: %w", block, [2]string{"follower", "leader"}[side], err)
			}
			ds[side] = append(ds[side], got...)
		}
	}
	f, l := latencyFigures(ds[0]), latencyFigures(ds[1])
	return Pair{Ours: f["p50"], Base: l["p50"]}, Pair{Ours: f["p99"], Base: l["p99"]}, nil
}

func followerSpec(st storage, pct, goal string) Spec {
	return Spec{
		ID:       "B2f",
		Name:     "group/execute-latency-follower",
		Variant:  st.name + "/" + pct,
		Baseline: "B2 ours, on the leader of the same group, in alternating blocks",
		Unit:     "ms",
		Goal:     goal,
		Fsync:    st.fsync(),
	}
}

// followerPairs runs rounds rounds of B2f (each quiesced like a RunPair
// side) and returns the p50 and p99 results; each round's line goes to
// log.
func followerPairs(ctx context.Context, rounds int, st storage, load latencyLoad, log func(string)) ([]Result, error) {
	var p50s, p99s []Pair
	for round := range rounds {
		err := RunAlone(ctx, func(ctx context.Context) error {
			p50, p99, err := followerRound(ctx, st, load)
			if err != nil {
				return fmt.Errorf("bench: B2f round %d: %w", round, err)
			}
			p50s, p99s = append(p50s, p50), append(p99s, p99)
			log(fmt.Sprintf("round %d: p50 follower %.3f ms, leader %.3f ms (ratio %.3f); p99 follower %.3f ms, leader %.3f ms (ratio %.3f)",
				round, p50.Ours, p50.Base, p50.Ratio(), p99.Ours, p99.Base, p99.Ratio()))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return []Result{
		Summarize(followerSpec(st, "p50", "<= 1.15"), p50s),
		Summarize(followerSpec(st, "p99", "<= 1.15"), p99s),
	}, nil
}

// BenchmarkExecuteLatencyFollower is B2f, in memory; -benchtime Nx runs N
// rounds, each a cluster of its own.
func BenchmarkExecuteLatencyFollower(b *testing.B) {
	rounds := 0
	for b.Loop() {
		rounds++
	}
	// The rounds run after the loop: each is a whole cluster, and B2f's
	// pairs come from inside one, so b.Loop only counts them.
	rs, err := followerPairs(context.Background(), rounds, memStorage, latencyFull, func(s string) { b.Log(s) })
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range rs {
		b.Log(r)
		results.Add(r)
	}
	b.ReportMetric(rs[0].Ratio, "p50-ratio")
	b.ReportMetric(rs[1].Ratio, "p99-ratio")
}

// TestExecuteLatencyFollowerSmoke runs B2f small: 50 commands per side,
// one round.
func TestExecuteLatencyFollowerSmoke(t *testing.T) {
	rs, err := followerPairs(t.Context(), 1, memStorage, latencySmoke, func(s string) { t.Log(s) })
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		checkResult(t, r)
	}
}
