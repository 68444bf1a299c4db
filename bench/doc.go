// Package bench holds mosaik's comparative benchmarks: each one measures a
// mosaik feature against the plain library or primitive it is built from
// (memberlist, dragonboat, quic-go, Go channels), in the same process and
// the same run. The list, with each benchmark's baseline and goal, is in
// the project's benchmark plan (ids B1 to B12; docs/performance.md).
//
// # Rules
//
// The machines these run on have 2 cores and are shared: absolute times
// drift 1.5-2x between runs, and even within a run. So every benchmark
//
//   - runs its baseline in the same process, interleaved with ours round by
//     round (ours, base; base, ours; ...: [RunPair] alternates who goes
//     first, and waits after each side until the goroutines it started are
//     gone, so neither inherits the other's leftovers);
//   - reports the ratio ours/base as the median of the per-round ratios,
//     since the two sides of one round share the machine's state of that
//     moment;
//   - reports the absolute medians beside it (for orientation only),
//     GOMAXPROCS, and whether fsync is on ("n/a" when nothing is written).
//
// B12 is one exception: its baseline is a configured bound, a constant,
// so its rounds run alone ([RunAlone]) and the ratio is measured/bound.
// B2 and B2f are the other: a round brings up both sides and the client
// takes turns on them in blocks of commands, so that both sides' samples
// span the same seconds.
//
// A benchmark is a testing.B that makes one [RunPair] per b.Loop
// iteration, so -benchtime Nx runs N rounds, then reports a [Result]
// through [Result.Report] (metrics "ratio", "ours-<unit>", "base-<unit>")
// and adds it to the package's collector, which prints one line per
// result and a summary table at exit, and writes JSON when asked. The
// default ns/op of these benchmarks is the wall time of a whole round,
// setup and teardown included: read the reported metrics instead.
//
// Benchmarks are not part of the default test run; each has a smoke test
// that is (a small size, one round), asserting only that both sides work
// and the ratio is a positive finite number, never a timing.
//
// # Running
//
// One command runs benchmarks and renders their results into
// docs/performance.md, with a plot per benchmark in docs/perf (see
// bench/report); names select Benchmark* functions, none means all:
//
//	bench/run.sh [Converge50 ActorHop BondEstablish FailureDetect ...]
//
// It runs, and any benchmark can be run alone the same way (-v shows each
// round; -benchtime Nx runs N rounds):
//
//	go test -run '^$' -bench NAME -benchtime 3x ./bench -args -results-json=FILE
//
// where FILE receives one [Run]: the results with the machine's
// description. B4, discovery/converge-50, takes minutes; B10, actor/hop,
// seconds; B11, bond/establish, about 30 s (the "bond" line is the one
// with the goal; "join" and "join-waits" are end to end through
// Node.Join, for scale), and its diagnostic BondEstablishBreakdown, where
// a bond's time goes beyond the baseline step by step, about 1 s an
// iteration; B12, failure/detect, 15 s for the fast profiles and a
// minute for the default ones. The consensus benchmarks, against raw
// dragonboat (rawdragonboat_test.go), take 15 s to 40 s a round:
// CommitThroughput (B1, variants mem, disk and mem/core), ExecuteLatency
// (B2, p50 and p99 in mem and on disk), ExecuteLatencyFollower (B2f),
// ColdLeader (B3) and CatchUp (B8); with -v each B1 round also logs the
// CPU time per commit of each side, the figure that drifts least on a
// shared machine.
//
// The smoke tests run with everything else:
//
//	go test -race -count=1 ./bench/...
//
// To see where a side spends its time, add -cpuprofile cpu.out and read
// it with go tool pprof; profile one sub-benchmark at a time
// (-bench Converge50/fast, -bench 'BondEstablish$/bond$'), and remember
// that the baseline's share is in the same profile. A profile shows CPU
// only: where a side waits (B11's round trips and goroutine hand-offs),
// a ladder of interleaved variants such as B11's breakdown says more.
package bench
