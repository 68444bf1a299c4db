package rsm

import (
	"context"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/feed"
	"github.com/mosaikgo/mosaik/id"
)

// When waits for conditions on a group. Every wait takes a ctx, returns
// nil at once when its condition already holds, ctx's error when ctx ends
// first, and ErrGroupTerminated once the handle is closed or the group
// left (checked before the condition).
type When struct {
	core *cluster.Group
	self id.PeerID
	end  <-chan struct{} // the handle's life: closed by Close, Leave or the group's end
}

// When returns the group's condition waits.
func (g *Group[C, Q, R]) When() *When {
	return &When{core: g.core, self: g.Self(), end: g.queue.Done()}
}

// waitFor is the loop every wait shares: test cond on the value's latest
// version, sleep until the next change. It returns the version that met
// cond.
func waitFor[T any](ctx context.Context, w *When, v *feed.Value[T], cond func(T) bool) (T, error) {
	for {
		select {
		case <-w.end:
			var zero T
			return zero, ErrGroupTerminated
		default:
		}
		cur, changed := v.Load()
		if cond(cur) {
			return cur, nil
		}
		select {
		case <-changed:
		case <-w.end:
		case <-ctx.Done():
			return cur, ctx.Err()
		}
	}
}

func (w *When) consensus(ctx context.Context, cond func(cluster.Consensus) bool) error {
	_, err := waitFor(ctx, w, w.core.ConsensusValue(), cond)
	return err
}

// LeaderElected: some leader is known.
func (w *When) LeaderElected(ctx context.Context) error {
	return w.consensus(ctx, func(c cluster.Consensus) bool { return !c.Leader.IsZero() })
}

// LeaderChanged: a leader other than the one known when LeaderChanged was
// called (possibly none) is known; it returns that new leader, as the
// member saw it when the condition held (reading Leader afterwards could
// already see another). Losing the leader alone does not count; wait for
// Offline for that.
func (w *When) LeaderChanged(ctx context.Context) (id.PeerID, error) {
	was := w.core.Consensus().Leader
	c, err := waitFor(ctx, w, w.core.ConsensusValue(), func(c cluster.Consensus) bool { return !c.Leader.IsZero() && c.Leader != was })
	if err != nil {
		return id.PeerID{}, err
	}
	return c.Leader, nil
}

// LeaderIs: p is the leader.
func (w *When) LeaderIs(ctx context.Context, p id.PeerID) error {
	return w.consensus(ctx, func(c cluster.Consensus) bool { return c.Leader == p })
}

// IsLeader: this member leads.
func (w *When) IsLeader(ctx context.Context) error {
	return w.consensus(ctx, func(c cluster.Consensus) bool { return c.Running && c.Leader == w.self })
}

// IsFollower: this member's replica runs and another member leads.
func (w *When) IsFollower(ctx context.Context) error {
	return w.consensus(ctx, func(c cluster.Consensus) bool { return c.Online() && c.Leader != w.self })
}

// Online: commands can be submitted (a replica runs, a reachable leader
// is known, and this member has joined: it votes, or the committee is
// complete without it).
func (w *When) Online(ctx context.Context) error {
	return w.consensus(ctx, cluster.Consensus.Online)
}

// Offline: commands cannot be submitted.
func (w *When) Offline(ctx context.Context) error {
	return w.consensus(ctx, func(c cluster.Consensus) bool { return !c.Online() })
}

// Committed waits on this member's applied index.
func (w *When) Committed() *CommittedWhen { return &CommittedWhen{w: w} }

// CommittedWhen waits on the log index this member has applied.
type CommittedWhen struct{ w *When }

func (c *CommittedWhen) applied(ctx context.Context, cond func(uint64) bool) error {
	_, err := waitFor(ctx, c.w, c.w.core.AppliedValue(), cond)
	return err
}

// Reaches: this member has applied index (or beyond).
func (c *CommittedWhen) Reaches(ctx context.Context, index uint64) error {
	return c.applied(ctx, func(v uint64) bool { return v >= index })
}

// Advanced: the applied index grew past its value when Advanced was called.
func (c *CommittedWhen) Advanced(ctx context.Context) error {
	was := c.w.core.Applied()
	return c.applied(ctx, func(v uint64) bool { return v > was })
}

// Changed: the applied index differs from its value when Changed was
// called (it can move back when the member joins a rival shard).
func (c *CommittedWhen) Changed(ctx context.Context) error {
	was := c.w.core.Applied()
	return c.applied(ctx, func(v uint64) bool { return v != was })
}
