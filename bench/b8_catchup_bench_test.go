package bench

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// B8 group/catch-up-100k: a group of two members in memory holds entries
// log entries of one 16-byte command each; then a third node, already
// started and known to the others, joins, and the figure is the time
// until it has applied everything the leader had. The log was compacted
// long before (both sides snapshot every 1000 entries, mosaik's
// default), so catching up is a snapshot transfer and the entries after
// it.
//
// Ours times Join on the third node until its replica has applied the
// leader's index: the bonds, the join request, the leader adding it as a
// non-voting replica and the transfer. The baseline times what a raw
// dragonboat user does: SyncRequestAddReplica on the leader, then
// StartConcurrentReplica with join set on the new NodeHost, until its
// state machine has applied the same index.

// catchupLoad sizes one B8 run: entries written before the join, with
// inflight commands in flight while writing them (untimed).
type catchupLoad struct{ entries, inflight int }

var (
	catchupFull  = catchupLoad{entries: 100_000, inflight: 256}
	catchupSmoke = catchupLoad{entries: 2_000, inflight: 64}
)

// fill commits n commands with inflight workers taking turns on propose.
func fill(ctx context.Context, propose proposeFunc, n, inflight int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan struct{}, n)
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	errs := make(chan error, inflight)
	for range inflight {
		go func() {
			for range jobs {
				if err := propose(ctx, newCommand(commandSeq.Add(1))); err != nil {
					cancel()
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	var err error
	for range inflight {
		err = errors.Join(err, <-errs)
	}
	return err
}

// catchupOurs is ours' side of B8.
func catchupOurs(ctx context.Context, load catchupLoad) (_ float64, err error) {
	ctx, cancel := context.WithTimeout(ctx, 10*formTimeout)
	defer cancel()
	c, err := startNodes(ctx, 3, memStorage, false)
	if err != nil {
		return 0, err
	}
	defer func() { err = joinClose(err, c.close()) }()
	for i := range 2 {
		if err := c.join(ctx, i); err != nil {
			return 0, err
		}
	}
	leader, err := c.waitFormed(ctx, 1)
	if err != nil {
		return 0, err
	}
	if err := fill(ctx, coreProposer(c.groups[leader].Core()), load.entries, load.inflight); err != nil {
		return 0, fmt.Errorf("fill: %w", err)
	}
	target := c.groups[leader].Committed()
	t0 := time.Now()
	if err := c.join(ctx, 2); err != nil {
		return 0, err
	}
	wctx, wcancel := context.WithTimeout(ctx, catchUpTimeout)
	defer wcancel()
	if _, err := c.groups[2].Core().WaitApplied(wctx, target); err != nil {
		return 0, fmt.Errorf("joiner applied %d of %d: %w", c.groups[2].Committed(), target, err)
	}
	return Millis(time.Since(t0)), nil
}

// catchupRaw is the baseline side of B8.
func catchupRaw(ctx context.Context, load catchupLoad) (_ float64, err error) {
	ctx, cancel := context.WithTimeout(ctx, 10*formTimeout)
	defer cancel()
	c, err := startRawHosts(3, memStorage)
	if err != nil {
		return 0, err
	}
	defer func() { err = joinClose(err, c.close()) }()
	for i := range 2 {
		if err := c.startReplica(i, c.members(2), false); err != nil {
			return 0, err
		}
	}
	leader, err := c.waitLeader(ctx)
	if err != nil {
		return 0, err
	}
	if err := fill(ctx, c.proposer(leader), load.entries, load.inflight); err != nil {
		return 0, fmt.Errorf("fill: %w", err)
	}
	target := c.applied[leader].Get()
	t0 := time.Now()
	actx, acancel := context.WithTimeout(ctx, opTimeout)
	err = c.hosts[leader].SyncRequestAddReplica(actx, rawShard, 3, c.addrs[2], 0)
	acancel()
	if err != nil {
		return 0, fmt.Errorf("raw: add replica: %w", err)
	}
	if err := c.startReplica(2, nil, true); err != nil {
		return 0, err
	}
	wctx, wcancel := context.WithTimeout(ctx, catchUpTimeout)
	defer wcancel()
	if err := c.waitApplied(wctx, 2, target); err != nil {
		return 0, fmt.Errorf("%w (the leader's membership: %s)", err, c.membership(ctx, leader))
	}
	return Millis(time.Since(t0)), nil
}

// catchUpTimeout bounds the catch-up itself, which takes well under a
// second: one that has not happened by then is stuck, and the round fails
// with what the leader's membership says.
const catchUpTimeout = formTimeout

func catchupSpec(load catchupLoad) Spec {
	s := consensusSpec("B8", fmt.Sprintf("group/catch-up-%dk", load.entries/1000), "mem", "ms", "<= 1.2", memStorage)
	s.Baseline += ", SyncRequestAddReplica then a joining replica"
	return s
}

func catchupMeasures(load catchupLoad) (ours, base Measure) {
	ours = func(ctx context.Context) (float64, error) { return catchupOurs(ctx, load) }
	base = func(ctx context.Context) (float64, error) { return catchupRaw(ctx, load) }
	return ours, base
}

// BenchmarkCatchUp is B8; -benchtime Nx runs N rounds.
func BenchmarkCatchUp(b *testing.B) {
	ours, base := catchupMeasures(catchupFull)
	benchPairs(b, catchupSpec(catchupFull), ours, base, nil)
}

// TestCatchUpSmoke runs B8 with 2000 entries, one round: the snapshot
// path already (the log is compacted every 1000).
func TestCatchUpSmoke(t *testing.T) {
	ours, base := catchupMeasures(catchupSmoke)
	smokePairs(t, catchupSpec(catchupSmoke), ours, base)
}
