// Command report renders the results of mosaik's comparative benchmarks
// (package bench) into docs/performance.md: a table of every result, the
// machines they were measured on, and one PNG plot per benchmark family.
//
// Usage, from the repository root:
//
//	go run ./bench/report [-in docs/perf/results.json] [-add run.json]... [-out docs/performance.md] [-plots docs/perf]
//
// The results store (-in) is a JSON array of runs ([bench.Run]: what one
// benchmark process measured, with its machine). Each -add names a run
// that `go test ./bench -args -results-json=FILE` wrote; its results
// replace those of the same id, name and variant in the store, and the
// store is written back, so that running one benchmark again updates its
// lines and keeps the others. Without -add the store is only read.
//
// The page (-out) keeps everything it holds outside the generated block,
// which lies between the lines
//
//	<!-- BEGIN bench/report ... -->
//	<!-- END bench/report -->
//
// and is replaced whole on every run; a page that does not exist yet is
// created with the block alone. Plots go to -plots, one per family (B4.png,
// B10.png, ...): each variant's ratio ours/base per round, with the goal
// as a dashed line, on a log scale when the ratios span more than 20x.
//
// bench/run.sh runs benchmarks and then this command; docs/performance.md
// says how.
package main
