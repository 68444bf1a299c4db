package testkit

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// leakGrace is how long goroutines may take to end after the cluster that
// started them has closed. memberlist's Shutdown does not wait for its
// own goroutines: a probe in flight ends when its timer fires, up to eight
// probe intervals later under load (memberlist's awareness backoff).
const leakGrace = 5 * time.Second

// LeakOptions are the goleak options every mosaik test needs: protoactor-go
// starts a timer goroutine for each burst of dead letters (messages to
// stopped actors, which closing nodes produce) and lets it run out by
// itself 50 ms later; it is not a leak.
func LeakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
	}
}

// FindLeaks reports goroutines still running that opts do not ignore,
// giving them leakGrace to end first.
func FindLeaks(opts ...goleak.Option) error {
	opts = append(opts, LeakOptions()...)
	deadline := time.Now().Add(leakGrace)
	for {
		// Find itself retries for a while before it reports.
		err := goleak.Find(opts...)
		if err == nil || time.Now().After(deadline) {
			return err
		}
	}
}

// VerifyTestMain runs a package's tests and then fails the run if any
// goroutine is left behind. Use it in TestMain of packages whose tests
// start nodes:
//
//	func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }
func VerifyTestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := FindLeaks(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines left behind after the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
