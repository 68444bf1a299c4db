// Command soak runs mosaik's reliability suite outside "go test": the
// long versions of the fault scenarios, and a soak of a five-member group
// at a steady rate while faults are injected on a schedule. It writes
// what it found to a Markdown report with a latency plot, and exits 1 if
// any check failed.
//
//	go run ./chaos/cmd/soak -duration 5m                    # soak only
//	go run ./chaos/cmd/soak -scenarios all -seeds 10 -scale 3 -duration 0
//	go run ./chaos/cmd/soak -scenarios all -seeds 2 -scale 2 -duration 4m   # docs/reliability.md
//
// Run it from the module root: the report goes to docs/reliability.md and
// the plot to docs/reliability/latency.png unless -out and -plot say
// otherwise. The part of the old report between the hand-written markers
// (the adversarial figures) is carried over into the new one as is.
package main
