package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mosaikgo/mosaik/testkit"
)

// shortDemo is a demo config that shows a failover in a few seconds.
func shortDemo() demoConfig {
	cfg := defaultDemoConfig()
	cfg.network = "cmd/mosaik/test"
	cfg.killAfter = 2 * time.Second
	cfg.duration = 6 * time.Second
	return cfg
}

// lockedBuffer collects the printer's output; tests read it while the
// demo may still write.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDemoFailover runs the whole demo with plain output: three nodes on
// loopback QUIC and memberlist, a workload, the leader killed, a new
// leader, commits after the kill, every node closed and nothing left
// running.
func TestDemoFailover(t *testing.T) {
	preexisting := goleak.IgnoreCurrent()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out lockedBuffer
	p := &plainPrinter{w: &out, interval: time.Second}
	sum, last, err := demo(ctx, shortDemo(), p.show)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	fo, ok := sum.failover()
	if !ok {
		t.Fatalf("no failover in %+v\n%s", sum, out.String())
	}
	if fo.peer == sum.killed || sum.leaders[0].peer != sum.killed {
		t.Fatalf("killed %s, leaders %+v", sum.killed.Short(), sum.leaders)
	}
	if sum.finalIndex <= sum.killIndex || sum.ok == 0 {
		t.Fatalf("no commits after the kill: %+v", sum)
	}
	got := out.String()
	for _, w := range []string{"event  leader elected", "event  killed " + sum.killed.Short(), "event  new leader: " + fo.peer.Short(),
		"event  commits continue", "event  all nodes closed", "status " + sum.killed.Short() + " killed"} {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q:\n%s", w, got)
		}
	}
	if last.phase != "done" || len(last.rows) != 3 {
		t.Errorf("last frame: phase %q, %d rows", last.phase, len(last.rows))
	}
	if err := testkit.FindLeaks(preexisting); err != nil {
		t.Fatalf("goroutines left behind: %v", err)
	}
}

// TestDemoCommand runs "mosaik demo" as a user would, without a terminal,
// stopped early by its context (a signal), with a capture of the view.
func TestDemoCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	capture := filepath.Join(t.TempDir(), "view.txt")
	out := &lockedBuffer{}
	e := &env{stdout: out, stderr: out, getenv: func(string) string { return "" }}
	stopped := make(chan int, 1)
	go func() {
		stopped <- dispatch(ctx, e, []string{"demo", "-network", "cmd/mosaik/test-command", "-capture", capture,
			"-kill-after", "0", "-duration", "1m"})
	}()
	// Interrupt the demo once it runs, as Ctrl-C would: it must close
	// its nodes and exit 0.
	if err := testkit.WaitFor(ctx, func() bool { return strings.Contains(out.String(), "group online") }); err != nil {
		t.Fatalf("demo never came online: %v\n%s", err, out.String())
	}
	cancel()
	if code := <-stopped; code != exitOK {
		t.Fatalf("exit %d after an interrupt\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "event  interrupted") || !strings.Contains(out.String(), "all nodes closed") {
		t.Fatalf("no clean stop in:\n%s", out.String())
	}
	view, err := os.ReadFile(capture)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"NODE        ROLE", "leader elected", "done  commands:"} {
		if !strings.Contains(string(view), w) {
			t.Errorf("capture lacks %q:\n%s", w, view)
		}
	}
}
