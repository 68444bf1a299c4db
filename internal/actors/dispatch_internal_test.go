package actors

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestDispatcherRunsEverything schedules many runs from many goroutines,
// some from inside other runs, as mailboxes do, and checks each runs
// exactly once.
func TestDispatcherRunsEverything(t *testing.T) {
	d := newDispatcher(workerLinger)
	const senders, perSender = 8, 500
	var (
		mu   sync.Mutex
		seen = map[int]int{}
		wg   sync.WaitGroup
	)
	record := func(k int) {
		mu.Lock()
		seen[k]++
		mu.Unlock()
		wg.Done()
	}
	wg.Add(2 * senders * perSender)
	for s := range senders {
		go func() {
			for i := range perSender {
				k := s*perSender + i
				d.Schedule(func() {
					record(k)
					// A run that schedules another, like an actor sending
					// to an idle one from inside Receive.
					d.Schedule(func() { record(-k - 1) })
				})
			}
		}()
	}
	wg.Wait()
	if len(seen) != 2*senders*perSender {
		t.Fatalf("%d distinct runs, want %d", len(seen), 2*senders*perSender)
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("run %d ran %d times", k, n)
		}
	}
}

// TestDispatcherNeverWaitsOnABlockedRun checks that a run that blocks
// (actors must not, but user code might) does not hold up the next one:
// Schedule starts another worker instead of waiting.
func TestDispatcherNeverWaitsOnABlockedRun(t *testing.T) {
	d := newDispatcher(workerLinger)
	release := make(chan struct{})
	blocked := make(chan struct{})
	d.Schedule(func() {
		close(blocked)
		<-release
	})
	<-blocked
	ran := make(chan struct{})
	d.Schedule(func() { close(ran) })
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("second run waited for the blocked one")
	}
	close(release)
}

// TestDispatcherReusesIdleWorkers checks that a run scheduled right after
// another ended goes to the lingering worker rather than a new goroutine.
func TestDispatcherReusesIdleWorkers(t *testing.T) {
	// A linger long enough that a loaded machine still schedules this
	// goroutine within it; the worker ends that long after the test.
	d := newDispatcher(200 * time.Millisecond)
	done := make(chan struct{})
	d.Schedule(func() { close(done) })
	<-done
	// The worker lingers after its run: hand it the next one directly,
	// which succeeds only if a worker is waiting (the handoff channel is
	// unbuffered). It may not have reached its wait yet, so retry; once it
	// has, it waits its linger time and then ends for good.
	handed := false
	for deadline := time.Now().Add(10 * time.Second); !handed && time.Now().Before(deadline); {
		select {
		case d.idle <- func() {}:
			handed = true
		default:
			runtime.Gosched()
		}
	}
	if !handed {
		t.Fatal("no idle worker took a run within the linger time")
	}
}
