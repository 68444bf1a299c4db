package rsm_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/internal/counter"
	"github.com/mosaikgo/mosaik/rsm"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/testkit"
)

// failingCodec refuses to encode one value, as a codec may refuse a value
// it cannot represent.
type failingCodec struct{ statemachine.Codec[int64] }

var errUnencodable = errors.New("unencodable")

func (f failingCodec) Encode(v int64) ([]byte, error) {
	if v < 0 {
		return nil, errUnencodable
	}
	return f.Codec.Encode(v)
}

// TestBadCallsFailCleanly: a command that does not encode, and a call
// whose context is cancelled while it waits, fail with their causes and
// leave the group working; LogPosition follows the applied log.
func TestBadCallsFailCleanly(t *testing.T) {
	c := testkit.NewCluster(t, 1, testkit.Options{})
	ctx := testkit.Context(t)
	cfg := counter.Typed("bad-calls")
	cfg.Codecs.Command = failingCodec{statemachine.JSON[int64]()}
	g, err := rsm.Join(ctx, c.Node(0), cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitLeader(t, ctx, []*rsm.Group[int64, struct{}, int64]{g})
	if _, err := g.Execute(ctx, -1); !errors.Is(err, errUnencodable) {
		t.Fatalf("Execute(unencodable): %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := g.Execute(cancelled, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Execute with a cancelled context: %v", err)
	}
	idx, err := g.Execute(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	if v, _, err := g.Query(ctx, struct{}{}, rsm.Strong); err != nil || v != 5 {
		t.Fatalf("total %d, %v; want 5 (nothing of the failed calls applied)", v, err)
	}
	if pos := g.LogPosition(); pos.Index < idx || pos.Term == 0 {
		t.Fatalf("LogPosition %+v, want index >= %d and a term", pos, idx)
	}
}

// TestLostForwardReturnsWithinTheContext: a follower cut off from the
// leader cannot get its command forwarded; the call returns an error once
// its context ends instead of hanging, and nothing is acknowledged.
func TestLostForwardReturnsWithinTheContext(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	gs := joinAll(t, c, counter.Typed("lost-forward"))
	leader, follower := waitLeader(t, ctx, gs)
	c.Partition([]int{follower}, []int{leader})
	defer c.Heal()
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := gs[follower].Execute(short, 1)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a command from a follower cut off from the leader was acknowledged")
		}
	case <-time.After(testkit.DefaultTimeout):
		t.Fatal("Execute hung past its context")
	}
}
