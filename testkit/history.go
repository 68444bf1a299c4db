package testkit

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/actors"
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
// one leader, whoever it is, and returns it. It follows the members as
// they change: a leader that loses an election or a rival merge meanwhile
// is not waited for.
func WaitLeader(ctx context.Context, gs []*cluster.Group) (id.PeerID, error) {
	return waitAgreedLeader(ctx, gs, id.PeerID{})
}

// WaitNewLeader is WaitLeader for a leader other than old: after old was
// killed or closed, it returns once the survivors gs agree on its
// successor (they may name old for a while, until they notice).
func WaitNewLeader(ctx context.Context, gs []*cluster.Group, old id.PeerID) (id.PeerID, error) {
	return waitAgreedLeader(ctx, gs, old)
}

func waitAgreedLeader(ctx context.Context, gs []*cluster.Group, not id.PeerID) (id.PeerID, error) {
	cases := make([]reflect.SelectCase, 0, 2*len(gs)+1)
	for {
		cases = cases[:0]
		var leader id.PeerID
		agreed := true
		for i, g := range gs {
			c, changed := g.ConsensusValue().Load()
			if i == 0 {
				leader = c.Leader
			}
			agreed = agreed && c.Online() && c.Leader == leader
			cases = append(cases,
				reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(changed)},
				reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(g.Left())})
		}
		if agreed && !leader.IsZero() && leader != not {
			return leader, nil
		}
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())})
		chosen, _, _ := reflect.Select(cases)
		switch {
		case chosen == len(cases)-1:
			return id.PeerID{}, fmt.Errorf("testkit: no agreed leader (%s): %w", describe(gs), ctx.Err())
		case chosen%2 == 1:
			return id.PeerID{}, fmt.Errorf("testkit: %s left the group: %w", gs[chosen/2].Bonds().Self.Short(), actors.ErrGroupLeft)
		}
	}
}

// describe lists each member's consensus, for errors.
func describe(gs []*cluster.Group) string {
	parts := make([]string, len(gs))
	for i, g := range gs {
		c := g.Consensus()
		parts[i] = fmt.Sprintf("%s: %s shard %s leader %s term %d voters %d joined %v %s",
			g.Bonds().Self.Short(), c.Phase, c.Genesis.Short(), c.Leader.Short(), c.Term, c.Voters, c.Joined, c.Reason)
	}
	return strings.Join(parts, "; ")
}
