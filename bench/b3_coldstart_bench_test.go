package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/internal/actors"
)

// B3 group/cold-leader: three cold nodes, the seed's address known to the
// other two, start together in memory with the fast profiles; the figures
// are the times from just before the first node starts until
//
//   - "leader": a member leads the group;
//   - "commit": a first command, issued on that leader, is committed and
//     applied there;
//   - "3-voters": a command commits in a committee of all three voters.
//
// Ours starts cluster nodes (QUIC, gossip) that join the group at once,
// and, as mosaik groups form, the lowest member bootstraps a shard of its
// own after the bootstrap delay, leads it alone and adds the others as
// they catch up: its first commit needs no quorum of three. The baseline
// creates three NodeHosts whose replicas all know each other from the
// start (the static membership a raw dragonboat user writes down), with
// the same election timeout, so its first commit is already one of three
// voters: "3-voters" is its "commit" figure.

// coldLeader waits until some member leads the group and returns its
// index. It waits on every member at once and returns with none of its
// waits left running.
func (c *oursCluster) coldLeader(ctx context.Context) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	first := make(chan int, len(c.groups))
	var wg sync.WaitGroup
	for i, g := range c.groups {
		wg.Go(func() {
			_, err := g.Core().WaitConsensus(ctx, func(cs actors.Consensus) bool { return cs.Online() && cs.Leader == g.Self() })
			if err == nil {
				first <- i
			}
		})
	}
	defer func() { cancel(); wg.Wait() }()
	select {
	case i := <-first:
		return i, nil
	case <-ctx.Done():
		return 0, fmt.Errorf("no member leads: %w", ctx.Err())
	}
}

// coldOurs is ours' side of B3.
func coldOurs(ctx context.Context) (_ map[string]float64, err error) {
	ctx, cancel := context.WithTimeout(ctx, formTimeout)
	defer cancel()
	t0 := time.Now()
	c, err := startNodes(ctx, 3, memStorage, true)
	if err != nil {
		return nil, err
	}
	defer func() { err = joinClose(err, c.close()) }()
	leader, err := c.coldLeader(ctx)
	if err != nil {
		return nil, err
	}
	figures := map[string]float64{"leader": Millis(time.Since(t0))}
	if err := executor(c.groups[leader])(ctx, newCommand(commandSeq.Add(1))); err != nil {
		return nil, fmt.Errorf("first command: %w", err)
	}
	figures["commit"] = Millis(time.Since(t0))
	if leader, err = c.waitFormed(ctx, 3); err != nil {
		return nil, err
	}
	if err := executor(c.groups[leader])(ctx, newCommand(commandSeq.Add(1))); err != nil {
		return nil, fmt.Errorf("command with 3 voters: %w", err)
	}
	figures["3-voters"] = Millis(time.Since(t0))
	return figures, nil
}

// coldRaw is the baseline side of B3.
func coldRaw(ctx context.Context) (_ map[string]float64, err error) {
	ctx, cancel := context.WithTimeout(ctx, formTimeout)
	defer cancel()
	t0 := time.Now()
	c, err := startRawHosts(3, memStorage)
	if err != nil {
		return nil, err
	}
	defer func() { err = joinClose(err, c.close()) }()
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() { errs[i] = c.startReplica(i, c.members(3), false) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	leader, err := c.waitLeader(ctx)
	if err != nil {
		return nil, err
	}
	figures := map[string]float64{"leader": Millis(time.Since(t0))}
	if err := c.proposer(leader)(ctx, newCommand(commandSeq.Add(1))); err != nil {
		return nil, fmt.Errorf("first command: %w", err)
	}
	figures["commit"] = Millis(time.Since(t0))
	figures["3-voters"] = figures["commit"]
	return figures, nil
}

func coldMeasures() (m *multiPairs, ours, base Measure) {
	m = newMultiPairs("leader", "commit", "3-voters")
	ours, base = m.measures(coldOurs, coldRaw)
	return m, ours, base
}

func coldSpec(figure string) Spec {
	s := consensusSpec("B3", "group/cold-leader", figure, "ms", "<= 1.1", memStorage)
	s.Baseline = fmt.Sprintf("raw dragonboat v4, 3 NodeHosts, TCP transport, static membership, election %d x %v ticks", rawShardConfig(1).ElectionRTT, rawRTT)
	return s
}

// BenchmarkColdLeader is B3; -benchtime Nx runs N rounds.
func BenchmarkColdLeader(b *testing.B) {
	m, ours, base := coldMeasures()
	benchMulti(b, m, ours, base, "ms", coldSpec)
}

// TestColdLeaderSmoke runs one round of B3 (it is small already).
func TestColdLeaderSmoke(t *testing.T) {
	m, ours, base := coldMeasures()
	smokeMulti(t, m, ours, base, "ms", coldSpec)
}
