package actors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/client"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/mosaikgo/mosaik/feed"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/statemachine"
)

// Errors of the consensus calls on a group.
var (
	// ErrOffline: the group has no running replica or no leader yet; the
	// command was not submitted.
	ErrOffline = errors.New("actors: group offline")
	// ErrOutcomeUnknown: a proposal was submitted but its commit was not
	// confirmed before the deadline (say, a leader change lost it, or the
	// group is cut off), or the replica stopped with it in flight (to
	// re-form or rejoin the group). It may still be applied. Errors of
	// the first kind match the context's error too.
	ErrOutcomeUnknown = errors.New("actors: commit not confirmed in time; the command may still be applied")
)

// Consensus is a member's view of its group's replicated state machine:
// the shard lifecycle's view (groups.View: phase, shard, leader, term,
// committee, whether it has joined, why it is offline, a failure) and the
// shard's dragonboat id. Online (from groups.View) reports whether
// commands can be submitted.
type Consensus struct {
	groups.View
	// Shard is the dragonboat shard id of View.Genesis; 0 with none.
	Shard uint64
}

// RivalTally totals what this member lost to rival shards, over every
// loss ([RivalLoss] is one of them).
type RivalTally struct {
	// Lost is how many times this member's shard lost to a rival.
	Lost int
	// Discarded is the number of log entries those shards had applied,
	// which the winner's state replaced.
	Discarded uint64
	// Commands is the number of commands among them that were written
	// to those shards (see RivalLoss.Commands).
	Commands uint64
}

// Plus adds two counts.
func (m RivalTally) Plus(o RivalTally) RivalTally {
	return RivalTally{Lost: m.Lost + o.Lost, Discarded: m.Discarded + o.Discarded, Commands: m.Commands + o.Commands}
}

// RivalLoss reports one loss of this member's shard to a rival: the
// member dropped its replica of Lost, with its state, to join Winner.
// Every member of the losing shard reports the same loss, each with what
// it had applied.
type RivalLoss struct {
	Lost, Winner groups.Genesis
	// Entries is the log index the member had applied in the lost shard.
	Entries uint64
	// Commands is how many commands written to the lost shard the
	// member had applied: all of its commands, or, for a shard re-formed
	// by a lone survivor, those after the state it re-formed from. They
	// are discarded, unless the winner is itself a shard re-formed from
	// the lost one, which holds those applied before it re-formed.
	Commands uint64
}

// Propose submits one encoded command and returns once it is committed and
// applied by this member's replica, with its log index. A follower's
// proposal is forwarded to the leader by the replication engine.
func (grp *Group) Propose(ctx context.Context, cmd []byte) (uint64, error) {
	return grp.ProposeEntry(ctx, statemachine.EncodeSingle(cmd))
}

// ProposeEntry is Propose for a log entry already encoded with
// statemachine.EncodeSingle or EncodeBatch (typed facades batch commands).
func (grp *Group) ProposeEntry(ctx context.Context, entry []byte) (uint64, error) {
	return grp.ProposeUntil(ctx, nil, entry)
}

// ProposeUntil is ProposeEntry that also stops waiting once abandon is
// closed, as if ctx had been cancelled: a handle that owns many proposals
// ends them all by closing one channel, with no context per proposal.
//
// Without a deadline on ctx the proposal gets the group's ForwardTimeout.
// Once it is submitted, an end of ctx (or abandon) before the commit is
// confirmed returns [ErrOutcomeUnknown] joined with ctx's error (or
// context.Canceled): the entry may still be applied.
func (grp *Group) ProposeUntil(ctx context.Context, abandon <-chan struct{}, entry []byte) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err // nothing submitted
	}
	c := grp.consensus.Get()
	if c.Failed != nil {
		return 0, c.Failed
	}
	if !c.Online() {
		return 0, ErrOffline
	}
	// Bounded in flight: on two cores an unbounded burst of proposals
	// starves Raft's heartbeats and causes elections. A free slot is
	// taken without the three-way select, which locks every channel in it.
	select {
	case grp.inflight <- struct{}{}:
	default:
		select {
		case grp.inflight <- struct{}{}:
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-abandon:
			return 0, context.Canceled
		}
	}
	defer func() { <-grp.inflight }()
	nh := grp.owner.consensus.nh
	session := grp.session(nh, c.Shard)
	for {
		timeout := grp.cfg.Consensus.ForwardTimeout
		if deadline, ok := ctx.Deadline(); ok {
			if timeout = time.Until(deadline); timeout <= 0 {
				return 0, context.DeadlineExceeded
			}
		}
		// Propose and wait here rather than through SyncPropose, so that
		// abandon ends the wait without a context of its own.
		rs, err := nh.Propose(session, entry, timeout)
		if err == nil {
			var res sm.Result
			res, err = awaitProposal(ctx, abandon, rs)
			if err == nil {
				return grp.proposed(res)
			}
		}
		if errors.Is(err, ErrOutcomeUnknown) {
			return 0, err
		}
		if replicaGone(err) {
			// The lifecycle stopped the replica (to re-form or rejoin)
			// between the check above and the call: nothing submitted.
			return 0, ErrOffline
		}
		// Dropped or not yet ready: the entry was not committed, so a
		// retry cannot apply it twice.
		if !errors.Is(err, dragonboat.ErrShardNotReady) && !errors.Is(err, dragonboat.ErrSystemBusy) {
			return 0, fmt.Errorf("actors: propose: %w", err)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-abandon:
			return 0, context.Canceled
		case <-time.After(raftRTT):
		}
	}
}

// session returns the no-op client session for shard, made once per
// shard: dragonboat lets one be shared by concurrent proposals.
func (grp *Group) session(nh *dragonboat.NodeHost, shard uint64) *client.Session {
	if s := grp.noop.Load(); s != nil && s.ShardID == shard {
		return s
	}
	s := nh.GetNoOPSession(shard)
	grp.noop.Store(s)
	return s
}

// awaitProposal waits for a submitted proposal's outcome. What dragonboat
// reports maps as SyncPropose maps it, except that a timeout, an end of
// ctx and abandon all mean the entry may still commit: ErrOutcomeUnknown.
func awaitProposal(ctx context.Context, abandon <-chan struct{}, rs *dragonboat.RequestState) (sm.Result, error) {
	select {
	case r := <-rs.AppliedC():
		switch {
		case r.Completed():
			rs.Release()
			return r.GetResult(), nil
		case r.Timeout():
			return sm.Result{}, fmt.Errorf("%w: %w", ErrOutcomeUnknown, context.DeadlineExceeded)
		case r.Rejected():
			return sm.Result{}, dragonboat.ErrRejected
		case r.Terminated():
			// The replica stopped with the entry in flight: it may have
			// been replicated and still commit.
			return sm.Result{}, fmt.Errorf("%w: %w", ErrOutcomeUnknown, dragonboat.ErrShardClosed)
		case r.Dropped():
			return sm.Result{}, dragonboat.ErrShardNotReady
		default: // aborted
			return sm.Result{}, dragonboat.ErrAborted
		}
	case <-ctx.Done():
		return sm.Result{}, fmt.Errorf("%w: %w", ErrOutcomeUnknown, ctx.Err())
	case <-abandon:
		return sm.Result{}, fmt.Errorf("%w: %w", ErrOutcomeUnknown, context.Canceled)
	}
}

// proposed reads a committed proposal's result: its log index, or the
// error the state machine reported.
func (grp *Group) proposed(res sm.Result) (uint64, error) {
	if err := statemachine.ResultError(res); err != nil {
		if errors.Is(err, statemachine.ErrMachineFailed) {
			grp.owner.sys.Root().Send(grp.pid, &machineFailed{err: err})
		}
		return 0, err
	}
	idx, _ := statemachine.ResultIndex(res)
	return idx, nil
}

// Read answers a query from the replicated state: strong reads are
// linearizable (a Raft read index), weak ones read the local replica. It
// returns the result with the applied index it reflects.
func (grp *Group) Read(ctx context.Context, q []byte, strong bool) ([]byte, uint64, error) {
	c := grp.consensus.Get()
	if c.Failed != nil {
		return nil, 0, c.Failed
	}
	if !c.Running || (strong && c.Leader.IsZero()) {
		return nil, 0, ErrOffline
	}
	nh := grp.owner.consensus.nh
	query := &statemachine.IndexedQuery{Query: q}
	if !strong {
		out, err := nh.StaleRead(c.Shard, query)
		if replicaGone(err) {
			return nil, 0, ErrOffline
		}
		if err != nil {
			return nil, 0, fmt.Errorf("actors: read: %w", err)
		}
		r := out.(*statemachine.IndexedResult)
		return r.Result, r.Applied, nil
	}
	// A strong read waits for a read index from the leader; one whose
	// request or answer was dropped never completes, so each attempt gets
	// QueryTimeout and is repeated (reads have no effect to duplicate).
	for {
		actx, cancel := context.WithTimeout(ctx, grp.cfg.Consensus.QueryTimeout)
		out, err := nh.SyncRead(actx, c.Shard, query)
		cancel()
		if errors.Is(err, dragonboat.ErrInvalidDeadline) {
			err = context.DeadlineExceeded // the deadline passed just before dragonboat read it
		}
		if err == nil {
			r := out.(*statemachine.IndexedResult)
			return r.Result, r.Applied, nil
		}
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		if replicaGone(err) {
			return nil, 0, ErrOffline
		}
		if !dragonboat.IsTempError(err) && !errors.Is(err, context.DeadlineExceeded) {
			return nil, 0, fmt.Errorf("actors: read: %w", err)
		}
	}
}

// replicaGone reports whether err says the shard a call was made on is no
// longer (or not yet) loaded here: the lifecycle stops a replica to
// re-form the group or rejoin it, so a call that read the view just
// before meets a missing shard. To the caller that is the group being
// offline for a moment, not a failure of its own.
func replicaGone(err error) bool {
	return errors.Is(err, dragonboat.ErrShardNotFound) ||
		errors.Is(err, dragonboat.ErrShardClosed) ||
		errors.Is(err, dragonboat.ErrShardNotInitialized)
}

// Rivals reports what this member's shards lost to rival shards.
func (grp *Group) Rivals() RivalTally { return grp.rivals.Get() }

// SubscribeRivals returns this member's rival losses from now on, one
// event per shard lost.
func (grp *Group) SubscribeRivals() *feed.Subscription[RivalLoss] {
	return grp.losses.Subscribe(0)
}

// Applied returns the log index of the last command this member applied.
func (grp *Group) Applied() uint64 { return grp.applied.Get() }

// WaitApplied returns once this member has applied the command at index
// (at once if it already has), ErrGroupLeft after Leave, or ctx's error.
func (grp *Group) WaitApplied(ctx context.Context, index uint64) (uint64, error) {
	return waitGroupValue(ctx, grp, grp.applied, func(v uint64) bool { return v >= index })
}

// AppliedValue is the watchable applied index, for facades that wait on
// it in other ways (advanced, changed).
func (grp *Group) AppliedValue() *feed.Value[uint64] { return grp.applied }

// ConsensusValue is the watchable consensus view.
func (grp *Group) ConsensusValue() *feed.Value[Consensus] { return grp.consensus }

// Consensus returns the member's current view of the group's consensus.
func (grp *Group) Consensus() Consensus { return grp.consensus.Get() }

// WaitConsensus returns once cond holds for the consensus view (at once if
// it already does), ErrGroupLeft after Leave, or ctx's error.
func (grp *Group) WaitConsensus(ctx context.Context, cond func(Consensus) bool) (Consensus, error) {
	return waitGroupValue(ctx, grp, grp.consensus, cond)
}
