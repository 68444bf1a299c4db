package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/testkit"
)

func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }

func TestWorkFollowsTheLeader(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	rep, err := run(ctx, &out, 3, 2)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if rep.first.IsZero() || rep.second.IsZero() || rep.first == rep.second {
		t.Fatalf("leaders %v then %v, want two different ones\n%s", rep.first, rep.second, out.String())
	}
	// The work ran on the first leader, then on the second, never
	// interleaved, and the second leader's term is the later one.
	var firstTerm, secondTerm uint64
	moved := false
	for i, tk := range rep.ticks {
		switch {
		case tk.node == rep.first && !moved:
			firstTerm = tk.term
		case tk.node == rep.second:
			moved = true
			secondTerm = tk.term
		default:
			t.Fatalf("tick %d by %v after the work moved to %v\n%s", i, tk.node, rep.second, out.String())
		}
	}
	if firstTerm == 0 || secondTerm <= firstTerm {
		t.Fatalf("terms %d then %d, want increasing\n%s", firstTerm, secondTerm, out.String())
	}
	if !strings.Contains(out.String(), "the work moved from "+rep.first.Short()+" to "+rep.second.Short()) {
		t.Fatalf("no summary line in:\n%s", out.String())
	}
}

func TestRunRefusesTooFewNodes(t *testing.T) {
	if _, err := run(context.Background(), &bytes.Buffer{}, 2, 1); err == nil {
		t.Fatal("two nodes accepted")
	}
}
