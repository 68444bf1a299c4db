package bench

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// resultsJSON names a file to write every benchmark result to, as JSON:
// one [Run], which bench/report renders into docs/performance.md.
var resultsJSON = flag.String("results-json", "", "write benchmark results and the machine's description to this file as JSON")

// results collects what the benchmarks of this run measured, for the
// summary table and JSON written at exit.
var results Collector

func TestMain(m *testing.M) {
	// quic-go logs once when it cannot enlarge UDP buffers (unprivileged
	// containers); loopback runs do not need them.
	os.Setenv("QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING", "true")
	goleak.VerifyTestMain(m,
		// protoactor-go starts a timer goroutine for each burst of dead
		// letters (closing nodes produce them) that ends by itself 50 ms
		// later. memberlist's goroutines, which nobody waits for, need no
		// exception: RunPair waits for every round's goroutines to end.
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
		goleak.Cleanup(func(code int) { os.Exit(summarize(code)) }),
	)
}

// summarize prints the table of this run's results and writes them as
// JSON when asked. It returns the exit code.
func summarize(code int) int {
	rs := results.Results()
	if len(rs) == 0 {
		return code
	}
	fmt.Println("\nsummary:")
	if err := WriteTable(os.Stdout, rs); err != nil {
		fmt.Fprintln(os.Stderr, "bench: summary:", err)
		return 1
	}
	if *resultsJSON == "" {
		return code
	}
	f, err := os.Create(*resultsJSON)
	if err == nil {
		err = WriteRun(f, Run{Machine: DescribeMachine(), Results: rs})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: results:", err)
		return 1
	}
	return code
}
