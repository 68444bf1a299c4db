// Package failover_test kills and closes group leaders at the moments
// users meet and checks that groups never stall: the failover matrix and
// the windows around a join. It is a package of its own so that the test
// command runs it beside package cluster's tests.
package failover_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/actors"
	"github.com/mosaikgo/mosaik/internal/counter"
	"github.com/mosaikgo/mosaik/testkit"
)

var counterGroup = counter.Group

var (
	add   = counter.MustAdd
	total = counter.MustTotal
)

// The failover tests kill or close a group's leader at the moments users
// meet, not at moments a test would choose: right after the last member
// joined, while joiners are still being added, shortly after. None waits
// for the committee to reach a size first: users don't.

// failoverSlack is what the tests allow on top of groups.FailoverBound:
// a 2-core machine running the race detector stalls for hundreds of
// milliseconds at a time.
const failoverSlack = 5 * time.Second

// online waits until every member is online (as users wait, with
// When().Online) and returns the leader they name.
func online(t *testing.T, ctx context.Context, gs []*cluster.Group) id.PeerID {
	t.Helper()
	leader, err := testkit.WaitLeader(ctx, gs)
	if err != nil {
		t.Fatal(err)
	}
	return leader
}

// indexOf returns the index of the member p in gs.
func indexOf(t *testing.T, gs []*cluster.Group, p id.PeerID) int {
	t.Helper()
	for i, g := range gs {
		if g.Bonds().Self == p {
			return i
		}
	}
	t.Fatalf("%s is not a member", p.Short())
	return -1
}

// without returns gs without the member at i.
func without(gs []*cluster.Group, i int) []*cluster.Group {
	return slices.Delete(slices.Clone(gs), i, i+1)
}

// recovered waits, within the failover bound, until the survivors agree
// on a leader other than old and commit a write on it. Every survivor
// then reads the same total: want+1 where the survivors held every
// acknowledged write (a quorum of the committee survived); where they
// re-formed the group, at least what the most advanced of them had
// applied (floor, read right after the fault), plus one.
func recovered(t *testing.T, survivors []*cluster.Group, cfg cluster.GroupConfig, old id.PeerID, floor, want int64) {
	t.Helper()
	bound := groups.FailoverBound(cfg.Consensus) + failoverSlack
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	start := time.Now()
	leader, err := testkit.WaitNewLeader(ctx, survivors, old)
	if err != nil {
		t.Fatalf("no new leader within %v: %v", bound, err)
	}
	add(t, ctx, survivors[indexOf(t, survivors, leader)], 1)
	var first int64
	for i, g := range survivors {
		v := retryOffline(t, ctx, g, true)
		if i == 0 {
			first = v
		}
		if v != first || v < floor+1 || v > want+1 {
			t.Fatalf("survivor %d reads %d (survivor 0: %d), want %d..%d", i, v, first, floor+1, want+1)
		}
	}
	t.Logf("recovered in %v (bound %v), total %d of %d", time.Since(start).Round(time.Millisecond), bound-failoverSlack, first, want+1)
}

// applied is the most any member of gs has applied of the counter, read
// from each member's own copy.
func applied(t *testing.T, ctx context.Context, gs []*cluster.Group) int64 {
	t.Helper()
	var most int64
	for _, g := range gs {
		most = max(most, retryOffline(t, ctx, g, false))
	}
	return most
}

// retryOffline reads g's total as users do: retrying while g answers
// ErrOffline, as a member does for a moment while it restarts its
// replica (to re-form the group, or to rejoin the leader's shard).
func retryOffline(t *testing.T, ctx context.Context, g *cluster.Group, strong bool) int64 {
	t.Helper()
	var (
		v   int64
		err error
	)
	offline := 0
	werr := testkit.WaitFor(ctx, func() bool {
		v, _, err = counter.Total(ctx, g, strong)
		if errors.Is(err, actors.ErrOffline) {
			offline++
			return false
		}
		return true
	})
	if offline > 0 {
		t.Logf("%s was offline for %d reads (phase %s now)", g.Bonds().Self.Short(), offline, g.Consensus().Phase)
	}
	if err == nil {
		err = werr
	}
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return v
}

// TestLeaderLostRightAfterTwoJoins: a lone member self-elects, two more
// join, and the leader dies before either joiner has finished joining.
// The joiners are non-voting members of a shard whose only voter is gone;
// they must stop naming the dead leader at once and re-form the group
// together (availability first), or stay offline and say why (strict
// quorum).
func TestLeaderLostRightAfterTwoJoins(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(modeName(strict), func(t *testing.T) {
			c := testkit.NewCluster(t, 3, testkit.Options{})
			ctx := testkit.Context(t)
			cfg := counterGroup("joins-" + modeName(strict))
			cfg.StrictQuorum = strict
			first := c.JoinAll(cfg, 0)
			online(t, ctx, first)
			add(t, ctx, first[0], 5)
			joiners := c.JoinAll(cfg, 1, 2)
			for _, g := range joiners {
				if _, err := g.WaitConsensus(ctx, func(c actors.Consensus) bool { return c.Phase == groups.PhaseRunning }); err != nil {
					t.Fatal(err)
				}
			}
			c.Kill(0)
			// The dead leader is forgotten within the failure-detection
			// window: Execute returns ErrOffline rather than waiting.
			detect := time.Duration(cfg.Consensus.MaxMissedHeartbeats)*cfg.Consensus.HeartbeatInterval + failoverSlack
			dctx, cancel := context.WithTimeout(ctx, detect)
			defer cancel()
			for i, g := range joiners {
				if _, err := g.WaitConsensus(dctx, func(c actors.Consensus) bool { return c.Leader != first[0].Bonds().Self }); err != nil {
					t.Fatalf("joiner %d still names the dead leader (%+v): %v", i, g.Consensus(), err)
				}
			}
			if strict {
				for i, g := range joiners {
					if _, err := g.WaitConsensus(ctx, func(c actors.Consensus) bool { return c.Reason == groups.ReasonStrictQuorum }); err != nil {
						t.Fatalf("joiner %d: %+v: %v", i, g.Consensus(), err)
					}
					if _, err := g.Propose(ctx, []byte("1")); err != actors.ErrOffline {
						t.Fatalf("joiner %d: Propose = %v, want ErrOffline", i, err)
					}
				}
				return
			}
			// Writes acknowledged by the lone voter are kept only if a
			// joiner had applied them: availability first.
			recovered(t, joiners, cfg, first[0].Bonds().Self, applied(t, ctx, joiners), 5)
		})
	}
}

// TestTwoMemberGroupSurvivesItsLeader: a group of two has one voter (an
// even committee survives no more failures than the odd one below it).
// When that voter dies the other member re-forms the group alone, within
// the bound, and a third member then joins it.
func TestTwoMemberGroupSurvivesItsLeader(t *testing.T) {
	c := testkit.NewCluster(t, 2, testkit.Options{})
	ctx := testkit.Context(t)
	cfg := counterGroup("two")
	gs := c.JoinAll(cfg)
	leader := online(t, ctx, gs)
	li := indexOf(t, gs, leader)
	idx := add(t, ctx, gs[li], 3)
	survivor := without(gs, li)
	// The non-voting member holds the write once it has applied it: the
	// test kills the voter after that, as a user who read it there would.
	if _, err := survivor[0].WaitApplied(ctx, idx); err != nil {
		t.Fatal(err)
	}
	c.Kill(li)
	recovered(t, survivor, cfg, leader, 3, 3)
	c.Add()
	late := c.JoinAll(cfg, 2)
	all := append(survivor, late...)
	if got := online(t, ctx, all); got != survivor[0].Bonds().Self {
		t.Fatalf("the late member follows %s, want the survivor", got.Short())
	}
	if v, _ := total(t, ctx, late[0], true); v != 4 {
		t.Fatalf("the late member reads %d, want 4", v)
	}
}

// TestRestartedFollowerKeepsTheLeader: a follower restarted from its data
// directory rejoins without an election: pre-vote keeps its stale term
// from deposing the leader.
func TestRestartedFollowerKeepsTheLeader(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{Durable: true})
	ctx := testkit.Context(t)
	cfg := counterGroup("restart-follower")
	// Elections caused by machine stalls are not what this test is about.
	cfg.Consensus.ElectionTimeout, cfg.Consensus.ElectionJitter = 2*time.Second, 500*time.Millisecond
	gs := c.JoinAll(cfg)
	leader := online(t, ctx, gs)
	li := indexOf(t, gs, leader)
	term := gs[li].Consensus().Term
	fi := (li + 1) % 3
	add(t, ctx, gs[li], 1)
	c.Kill(fi)
	add(t, ctx, gs[li], 1)
	c.Restart(fi)
	back := c.JoinAll(cfg, fi)[0]
	gs[fi] = back
	if got := online(t, ctx, gs); got != leader {
		t.Fatalf("leader %s after the restart, want %s", got.Short(), leader.Short())
	}
	if v, _ := total(t, ctx, back, true); v != 2 {
		t.Fatalf("the restarted follower reads %d, want 2", v)
	}
	if now := gs[li].Consensus().Term; now != term {
		t.Fatalf("term went from %d to %d across a follower's restart", term, now)
	}
}

// failoverFull runs the whole failover matrix: every offset in both modes
// with both faults, four times the runs of the normal test command.
var failoverFull = flag.Bool("failover.full", false, "run the failover matrix's full cross product (about 4x longer)")

// TestFailoverMatrix kills (no farewell) or closes the leader of a group of
// three or five at offsets from 0 to 3 s after the last member came online,
// in steps of 150 ms. Every run must reach a new leader all survivors
// agree on, and commit a write that every survivor reads, within
// groups.FailoverBound.
//
// The normal test command runs every offset for both sizes, with the mode
// and the fault taking turns from offset to offset (available kill,
// available close, strict kill, strict close, ...), so that each size
// meets each mode and each fault at every fourth offset and every
// 150 ms window is hit; -failover.full runs the full cross product:
//
//	go test ./cluster/failover -run TestFailoverMatrix -failover.full -timeout 30m
func TestFailoverMatrix(t *testing.T) {
	const steps, step = 21, 150 * time.Millisecond
	for _, n := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d-members", n), func(t *testing.T) {
			t.Parallel()
			for i := range steps {
				offset := time.Duration(i) * step
				for turn := range 4 {
					if !*failoverFull && turn != i%4 {
						continue
					}
					strict, kill := turn >= 2, turn%2 == 0
					name := fmt.Sprintf("%s-%s-after-%v", modeName(strict), map[bool]string{true: "kill", false: "close"}[kill], offset)
					t.Run(name, func(t *testing.T) {
						failoverRun(t, testkit.Options{}, n, strict, kill, offset)
					})
				}
			}
		})
	}
}

// TestFailoverOnLoopback runs a few of the matrix's runs over real QUIC
// and memberlist on 127.0.0.1, where a node can only be closed (the kit
// cannot cut a real socket off): the leader leaves with a farewell.
func TestFailoverOnLoopback(t *testing.T) {
	for _, tc := range []struct {
		strict bool
		offset time.Duration
	}{{false, 0}, {false, time.Second}, {true, 300 * time.Millisecond}, {true, 2 * time.Second}} {
		t.Run(fmt.Sprintf("%s-close-after-%v", modeName(tc.strict), tc.offset), func(t *testing.T) {
			failoverRun(t, testkit.Options{Loopback: true}, 3, tc.strict, false, tc.offset)
		})
	}
}

func failoverRun(t *testing.T, opts testkit.Options, n int, strict, kill bool, offset time.Duration) {
	c := testkit.NewCluster(t, n, opts)
	ctx := testkit.Context(t)
	cfg := counterGroup("matrix")
	cfg.StrictQuorum = strict
	gs := c.JoinAll(cfg)
	leader := online(t, ctx, gs)
	li := indexOf(t, gs, leader)
	add(t, ctx, gs[li], 1)
	// The fault's schedule, not a wait for a condition.
	<-time.After(offset)
	if kill {
		c.Kill(li)
	} else {
		c.Close(li)
	}
	recovered(t, without(gs, li), cfg, leader, 1, 1)
}

func modeName(strict bool) string {
	if strict {
		return "strict"
	}
	return "available"
}

// TestRestartedAfterItsSeatWasGiven: a member dies and stays down until
// the leader has removed its replica; restarted from its data directory,
// the replica's shard no longer talks to it. The member must notice,
// wipe the replica and join again, whether it died as a voter or right
// after its join was accepted, before it had applied any configuration.
func TestRestartedAfterItsSeatWasGiven(t *testing.T) {
	for _, early := range []bool{false, true} {
		t.Run(map[bool]string{false: "voter", true: "right-after-join"}[early], func(t *testing.T) {
			c := testkit.NewCluster(t, 3, testkit.Options{Durable: true})
			ctx := testkit.Context(t)
			cfg := counterGroup(fmt.Sprintf("seat-given-%v", early))
			cfg.ReplaceAfter = 500 * time.Millisecond
			gs := c.JoinAll(cfg, 0, 1)
			leader := online(t, ctx, gs)
			add(t, ctx, gs[0], 2)
			victim := 2
			if early {
				// Kill the joiner the moment it starts its replica: the
				// leader has added it, but has not yet reached it.
				late := c.JoinAll(cfg, victim)[0]
				if _, err := late.WaitConsensus(ctx, func(c actors.Consensus) bool { return c.Replica != 0 }); err != nil {
					t.Fatal(err)
				}
			} else {
				gs = append(gs, c.JoinAll(cfg, victim)...)
				online(t, ctx, gs)
				if _, err := gs[victim].WaitConsensus(ctx, func(c actors.Consensus) bool { return c.Voter }); err != nil {
					t.Fatal(err)
				}
				gs = gs[:2]
			}
			c.Kill(victim)
			// Wait until the leader's committee no longer holds the dead
			// member's replica, voting or not.
			li := indexOf(t, gs, leader)
			if err := testkit.WaitFor(ctx, func() bool { return committeeSize(t, c.Node(li)) == 2 }); err != nil {
				t.Fatalf("the leader kept the dead member's seat (committee %v): %v", committeeSize(t, c.Node(li)), err)
			}
			c.Restart(victim)
			back := c.JoinAll(cfg, victim)[0]
			gs = append(gs, back)
			online(t, ctx, gs)
			if v, _ := total(t, ctx, back, true); v != 2 {
				t.Fatalf("the restarted member reads %d, want 2", v)
			}
		})
	}
}

// committeeSize is the committee of n's one group as n last read it while
// leading (0 while n does not lead).
func committeeSize(t *testing.T, n *cluster.Node) float64 {
	t.Helper()
	mfs, err := n.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "mosaik_groups_raft_committee_size" && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return 0
}
