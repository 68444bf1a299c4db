package rsm

import (
	"context"
	"fmt"
	"slices"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/statemachine"
)

// MaxQueued bounds the commands (or batches) one handle holds in its
// submission queue; Feed blocks while it is full.
const MaxQueued = cluster.MaxQueued

// Consistency chooses how a query reads the state.
type Consistency int

const (
	// Weak reads the local replica at once: possibly stale, never blocks
	// on the leader. Works while no leader is known.
	Weak Consistency = iota
	// Strong is linearizable: it reflects every command committed before
	// the query started (a Raft read index from the leader).
	Strong
)

// IndexRange is the log indexes a batch occupies. A batch is one log
// entry, so First == Last.
type IndexRange struct{ First, Last uint64 }

// Group is a typed handle on a joined group. Its methods are safe for
// concurrent use.
type Group[C, Q, R any] struct {
	core   *cluster.Group
	codecs statemachine.Codecs[C, Q, R]
	// queue is the handle's submission queue: every command goes through
	// it (see Ordering in the package doc).
	queue *cluster.Queue
}

func newGroup[C, Q, R any](core *cluster.Group, cfg Config[C, Q, R]) *Group[C, Q, R] {
	return &Group[C, Q, R]{core: core, codecs: cfg.Codecs, queue: core.NewQueue()}
}

// entry encodes cmds as one log entry: a plain command for one, a batch
// envelope for several (or whenever batch is set).
func (g *Group[C, Q, R]) entry(cmds []C, batch bool) ([]byte, error) {
	if len(cmds) == 0 {
		return nil, ErrNoCommands
	}
	if !batch {
		b, err := g.codecs.Command.Encode(cmds[0])
		if err != nil {
			return nil, fmt.Errorf("rsm: command 0: %w", err)
		}
		return statemachine.EncodeSingle(b), nil
	}
	enc := make([][]byte, len(cmds))
	for i, c := range cmds {
		b, err := g.codecs.Command.Encode(c)
		if err != nil {
			return nil, fmt.Errorf("rsm: command %d: %w", i, err)
		}
		enc[i] = b
	}
	return statemachine.EncodeBatch(enc), nil
}

// Execute submits cmd and returns its log index once it is committed and
// applied by this member. Any member may execute; a follower's command is
// forwarded to the leader. If ctx ends first the command may or may not
// be committed, unless it was still queued (then it is never proposed).
func (g *Group[C, Q, R]) Execute(ctx context.Context, cmd C) (uint64, error) {
	cmds := []C{cmd}
	entry, err := g.entry(cmds, false)
	if err != nil {
		return 0, err
	}
	idx, err := g.queue.Propose(ctx, entry)
	return idx, commandError(err, cmds)
}

// ExecuteMany commits cmds as one log entry, applied together and in
// order with nothing interleaved, and returns once this member applied it.
func (g *Group[C, Q, R]) ExecuteMany(ctx context.Context, cmds []C) (IndexRange, error) {
	entry, err := g.entry(cmds, true)
	if err != nil {
		return IndexRange{}, err
	}
	idx, err := g.queue.Propose(ctx, entry)
	if err != nil {
		return IndexRange{}, commandError(err, cmds)
	}
	return IndexRange{First: idx, Last: idx}, nil
}

// Feed queues cmd for replication and returns once it is accepted into
// the handle's submission queue: it will be proposed after every command
// issued earlier through this handle and before every later one, under
// the handle's lifetime (ctx bounds only the wait for a queue slot). Wait
// on the Pending for its index. See Feed in the package doc.
func (g *Group[C, Q, R]) Feed(ctx context.Context, cmd C) (*Pending, error) {
	return g.feed(ctx, []C{cmd}, false)
}

// FeedMany is Feed for a batch committed as one entry, as in ExecuteMany.
func (g *Group[C, Q, R]) FeedMany(ctx context.Context, cmds []C) (*Pending, error) {
	return g.feed(ctx, cmds, true)
}

// feed queues cmds under the handle's lifetime.
func (g *Group[C, Q, R]) feed(ctx context.Context, cmds []C, batch bool) (*Pending, error) {
	entry, err := g.entry(cmds, batch)
	if err != nil {
		return nil, err
	}
	p, err := g.queue.Submit(ctx, entry)
	if err != nil {
		return nil, commandError(err, cmds)
	}
	kept := slices.Clone(cmds) // the caller may reuse cmds once we return
	return &Pending{p: p, commandError: func(err error) error { return commandError(err, kept) }}, nil
}

// Query asks the state machine q. Weak reads the local replica, Strong is
// linearizable; both return the result with the applied index it reflects.
func (g *Group[C, Q, R]) Query(ctx context.Context, q Q, c Consistency) (R, uint64, error) {
	var zero R
	if g.terminated() {
		return zero, 0, ErrGroupTerminated
	}
	b, err := g.codecs.Query.Encode(q)
	if err != nil {
		return zero, 0, fmt.Errorf("rsm: query: %w", err)
	}
	out, applied, err := g.core.Read(ctx, b, c == Strong)
	if err != nil {
		if g.terminated() {
			return zero, 0, ErrGroupTerminated
		}
		return zero, 0, terminal(err)
	}
	r, err := g.codecs.Result.Decode(out)
	if err != nil {
		return zero, 0, fmt.Errorf("rsm: result: %w", err)
	}
	return r, applied, nil
}

// terminated reports whether the handle was closed or the group left.
func (g *Group[C, Q, R]) terminated() bool {
	select {
	case <-g.queue.Done():
		return true
	default:
		return false
	}
}

// ID is the group's id.
func (g *Group[C, Q, R]) ID() id.GroupID { return g.core.ID() }

// Self is this member's peer id.
func (g *Group[C, Q, R]) Self() id.PeerID { return g.core.Bonds().Self }

// Leader is the current leader as this member knows it; zero when none.
func (g *Group[C, Q, R]) Leader() id.PeerID { return g.core.Consensus().Leader }

// IsLeader reports whether this member leads the group.
func (g *Group[C, Q, R]) IsLeader() bool {
	c := g.core.Consensus()
	return c.Running && c.Leader == g.Self()
}

// Voters is the size of the group's committee as this member's replica
// knows it (on every member, not only the leader).
func (g *Group[C, Q, R]) Voters() int { return g.core.Consensus().Voters }

// IsVoter reports whether this member votes in the committee.
func (g *Group[C, Q, R]) IsVoter() bool { return g.core.Consensus().Voter }

// Committed is the log index of the last command this member applied.
func (g *Group[C, Q, R]) Committed() uint64 { return g.core.Applied() }

// Core is the untyped group underneath, for bonds and their events.
// Position is a point in the group's log: a term and an index.
type Position struct {
	Term  uint64
	Index uint64
}

// LogPosition is this member's position: the current term and the index
// of the last command it applied. (The replication engine does not expose
// the index of the last entry received but not yet applied; for a member
// that is caught up the two are the same.)
func (g *Group[C, Q, R]) LogPosition() Position {
	return Position{Term: g.core.Consensus().Term, Index: g.core.Applied()}
}

func (g *Group[C, Q, R]) Core() *cluster.Group { return g.core }

// Close releases the handle without leaving the group: queued commands
// fail with ErrGroupTerminated, an in-flight proposal is abandoned (it may
// still commit: its error matches ErrOutcomeUnknown too), and Close
// returns once no goroutine works for the handle.
func (g *Group[C, Q, R]) Close() { g.queue.Close() }

// Leave closes the handle, then leaves the group (for every handle on
// it): it returns once the member's group actor has stopped or ctx ends.
func (g *Group[C, Q, R]) Leave(ctx context.Context) error {
	g.Close()
	return terminal(g.core.Leave(ctx))
}
