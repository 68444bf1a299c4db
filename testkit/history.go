package testkit

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/mosaikgo/mosaik/actors"
	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/id"
)

// Operation is one client call as a History saw it: what was asked, what
// came back, and when, on one monotonic clock.
type Operation struct {
	Client int
	Input  any
	Output any
	// Err is the call's error; a call that failed may or may not have
	// taken effect, which a checker must allow for.
	Err    error
	Call   time.Duration // since the history began
	Return time.Duration // since the history began; 0 while pending
}

// History records client calls for linearizability checking (for example
// with porcupine). It is safe for concurrent use by many clients.
type History struct {
	start time.Time
	mu    sync.Mutex
	ops   []Operation
}

// NewHistory starts an empty history.
func NewHistory() *History { return &History{start: time.Now()} }

// Invoke records the start of a call and returns its handle for Return.
func (h *History) Invoke(client int, input any) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, Operation{Client: client, Input: input, Call: time.Since(h.start)})
	return len(h.ops) - 1
}

// Return records the end of the call op.
func (h *History) Return(op int, output any, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	o := &h.ops[op]
	o.Output, o.Err, o.Return = output, err, time.Since(h.start)
}

// Operations returns a copy of every call recorded, in invocation order.
// Calls still pending have Return 0.
func (h *History) Operations() []Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.ops)
}

// WaitLeader waits until every group handle is online and all agree on
// one leader, and returns it.
func WaitLeader(ctx context.Context, gs []*cluster.Group) (id.PeerID, error) {
	var leader id.PeerID
	for _, g := range gs {
		c, err := g.WaitConsensus(ctx, func(c actors.Consensus) bool {
			return c.Online() && (leader.IsZero() || c.Leader == leader)
		})
		if err != nil {
			return id.PeerID{}, fmt.Errorf("testkit: %s has no agreed leader (%+v): %w", g.Bonds().Self.Short(), g.Consensus(), err)
		}
		leader = c.Leader
	}
	// A later member may have moved the leader; check the first ones again.
	for _, g := range gs {
		if g.Consensus().Leader != leader {
			return WaitLeader(ctx, gs)
		}
	}
	return leader, nil
}
