#!/usr/bin/env bash
# Runs mosaik's comparative benchmarks (package bench) and renders their
# results into docs/performance.md, with one plot per benchmark in
# docs/perf/*.png. From anywhere in the repository:
#
#   bench/run.sh                        every benchmark
#   bench/run.sh Converge50 ActorHop    only these: Benchmark* function names
#                                       without the prefix
#
# Environment:
#   BENCHTIME      rounds per benchmark, as go test's -benchtime (default 3x)
#   BENCH_TIMEOUT  go test's -timeout (default 3h)
#
# The results are merged into docs/perf/results.json: a benchmark run again
# replaces its own lines and leaves the others. Then the block between the
# "bench/report" markers of docs/performance.md and the plots are rewritten
# (go run ./bench/report; see its doc). If a benchmark fails, nothing is
# merged and the script says where the partial results are.
set -euo pipefail

cd "$(dirname "$0")/.."

pattern=.
if (($# > 0)); then
	for name in "$@"; do
		if [[ ! $name =~ ^[A-Za-z0-9_]+$ ]]; then
			echo "run.sh: $name is not a benchmark name (BenchmarkX is named X)" >&2
			exit 2
		fi
	done
	pattern="^Benchmark($(IFS='|'; echo "$*"))\$"
fi

run=$(mktemp "${TMPDIR:-/tmp}/mosaik-bench.XXXXXX")
# Dragonboat's pebble log database, kept in memory by the benchmarks, logs
# "background error: vfs: not supported" for every disk-usage probe its
# in-memory file system cannot answer; the lines are noise and are dropped.
if ! go test -run '^$' -bench "$pattern" -benchtime "${BENCHTIME:-3x}" -timeout "${BENCH_TIMEOUT:-3h}" \
	./bench -args -results-json="$run" 2>&1 | grep -v 'background error: vfs: not supported'; then
	if [[ -s $run ]]; then
		echo "run.sh: the benchmarks failed; what they measured is in $run, not merged" >&2
	else
		rm -f "$run"
		echo "run.sh: the benchmarks failed before recording anything" >&2
	fi
	exit 1
fi
if [[ ! -s $run ]]; then
	echo "run.sh: no benchmark matched $pattern" >&2
	rm -f "$run"
	exit 1
fi
go run ./bench/report -in docs/perf/results.json -add "$run" -out docs/performance.md -plots docs/perf
rm -f "$run"
echo "run.sh: results in docs/perf/results.json, page docs/performance.md, plots docs/perf/"
