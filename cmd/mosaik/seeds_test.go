package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/testkit"
)

// TestJoinRequireSeed: with -require-seed, a seed nothing listens on
// makes join exit non-zero with a one-line error that says what to check.
func TestJoinRequireSeed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e, _, errOut := testEnv(nil)
	code := dispatch(ctx, e, []string{"join", "-seed", "127.0.0.1:1", "-require-seed", "-seed-timeout", "500ms", "-log-level", "off"})
	if code != exitError {
		t.Fatalf("exit %d, want %d; stderr: %s", code, exitError, errOut)
	}
	msg := errOut.String()
	if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "127.0.0.1:1") || !strings.Contains(msg, "gossip address") {
		t.Fatalf("want one line naming the seed with a hint, got %q", msg)
	}
}

// TestJoinWarnsAboutSeed: without -require-seed, join keeps running and
// warns on stderr within the seed timeout.
func TestJoinWarnsAboutSeed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errOut lockedBuffer
	e, _, _ := testEnv(nil)
	e.stderr = &errOut
	run, stop := context.WithCancel(ctx)
	done := make(chan int, 1)
	go func() {
		done <- dispatch(run, e, []string{"join", "-seed", "127.0.0.1:1", "-seed-timeout", "500ms", "-rate", "0"})
	}()
	err := testkit.WaitFor(ctx, func() bool { return strings.Contains(errOut.String(), "seed unreachable") })
	stop()
	code := <-done
	if err != nil {
		t.Fatalf("no warning on stderr: %v\n%s", err, errOut.String())
	}
	if code != exitOK {
		t.Fatalf("exit %d after the warning; stderr: %s", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), "level=WARN") {
		t.Fatalf("warning not at WARN: %s", errOut.String())
	}
}
