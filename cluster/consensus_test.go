package cluster_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/actors"
	"github.com/mosaikgo/mosaik/internal/counter"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/testkit"
)

// The tests' replicated state machine is internal/counter's.
var counterGroup = counter.Group

var (
	add   = counter.MustAdd
	total = counter.MustTotal
)

func waitLeader(t *testing.T, ctx context.Context, gs []*cluster.Group) id.PeerID {
	t.Helper()
	leader, err := testkit.WaitLeader(ctx, gs)
	if err != nil {
		t.Fatal(err)
	}
	return leader
}

// TestLoneNodeSelfElectsAndLaterNodesJoinItsShard: a lone member has no
// leader right after joining, bootstraps a shard after the bootstrap
// delay and leads it; members joining later find that leader and term,
// without a new election.
func TestLoneNodeSelfElectsAndLaterNodesJoinItsShard(t *testing.T) {
	c := testkit.NewCluster(t, 1, testkit.Options{})
	ctx := testkit.Context(t)
	cfg := counterGroup("lone")
	// The test is about joiners not causing an election. The fast
	// profile's 400 ms election timeout is shorter than the stalls of a
	// loaded 2-core machine under -race, after which CheckQuorum (or a
	// promoted voter that heard nothing yet) legitimately starts one; a
	// longer timeout keeps that noise out of the assertion.
	cfg.Consensus.ElectionTimeout = 2 * time.Second
	joined := time.Now()
	first := c.JoinAll(cfg)[0]
	if first.Consensus().Online() {
		t.Fatal("a member is online right after joining")
	}
	got := waitLeader(t, ctx, []*cluster.Group{first})
	if got != c.Node(0).PeerID() {
		t.Fatalf("leader %s, want the lone node", got.Short())
	}
	if waited := time.Since(joined); waited < cfg.Consensus.WithDefaults().BootstrapDelay {
		t.Fatalf("bootstrapped after %v, before the %v bootstrap delay", waited, cfg.Consensus.WithDefaults().BootstrapDelay)
	}
	term := first.Consensus().Term
	add(t, ctx, first, 5)

	c.Add()
	c.Add()
	gs := append([]*cluster.Group{first}, c.JoinAll(cfg, 1, 2)...)
	if leader := waitLeader(t, ctx, gs); leader != c.Node(0).PeerID() {
		t.Fatalf("joiners see leader %s, want %s", leader.Short(), c.Node(0).PeerID().Short())
	}
	for i, g := range gs {
		if g.Consensus().Term != term || g.Consensus().Genesis != first.Consensus().Genesis {
			t.Fatalf("member %d: term %d genesis %s, want term %d genesis %s (no new election, same shard)",
				i, g.Consensus().Term, g.Consensus().Genesis.Short(), term, first.Consensus().Genesis.Short())
		}
	}
	// The joiners replicated what was written before they came.
	for i, g := range gs {
		if v, _ := total(t, ctx, g, true); v != 5 {
			t.Fatalf("member %d reads %d, want 5", i, v)
		}
	}
}

// TestExecuteOnAFollowerAndReadEverywhere: a command proposed on a
// follower is forwarded, committed and applied, and a strong read on
// every member reflects it with the index it was applied at.
func TestExecuteOnAFollowerAndReadEverywhere(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	gs := c.JoinAll(counterGroup("exec"))
	leader := waitLeader(t, ctx, gs)
	var follower *cluster.Group
	for _, g := range gs {
		if g.Bonds().Self != leader {
			follower = g
			break
		}
	}
	first := add(t, ctx, follower, 2)
	last := add(t, ctx, follower, 40)
	if first == 0 || last <= first {
		t.Fatalf("indexes %d then %d", first, last)
	}
	for i, g := range gs {
		v, applied := total(t, ctx, g, true)
		if v != 42 || applied < last {
			t.Fatalf("member %d reads %d at index %d, want 42 at >= %d", i, v, applied, last)
		}
	}
	// A weak read answers from the local replica, at once.
	if v, applied := total(t, ctx, follower, false); v != 42 || applied < last {
		t.Fatalf("weak read on the proposer: %d at %d", v, applied)
	}
}

// TestKillingTheLeaderOfThreeElectsANewOne: once the committee has three
// voters, killing the leader leaves two that agree on a new leader and
// keep accepting commands.
func TestKillingTheLeaderOfThreeElectsANewOne(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	gs := c.JoinAll(counterGroup("failover"))
	leader := waitLeader(t, ctx, gs)
	li := -1
	for i, g := range gs {
		if g.Bonds().Self == leader {
			li = i
		}
	}
	add(t, ctx, gs[li], 1)
	c.Kill(li)
	var survivors []*cluster.Group
	for i, g := range gs {
		if i != li {
			survivors = append(survivors, g)
		}
	}
	var next id.PeerID
	for i, g := range survivors {
		cc, err := g.WaitConsensus(ctx, func(c actors.Consensus) bool {
			return c.Online() && c.Leader != leader && (next.IsZero() || c.Leader == next)
		})
		if err != nil {
			t.Fatalf("survivor %d: no new leader (%+v): %v", i, g.Consensus(), err)
		}
		next = cc.Leader
	}
	add(t, ctx, survivors[0], 1)
	for i, g := range survivors {
		if v, _ := total(t, ctx, g, true); v != 2 {
			t.Fatalf("survivor %d reads %d, want 2", i, v)
		}
	}
	// A member joining afterwards finds the new leader and the state.
	c.Add()
	late := c.JoinAll(counterGroup("failover"), 3)[0]
	if got := waitLeader(t, ctx, append(survivors, late)); got != next {
		t.Fatalf("late member sees leader %s, want %s", got.Short(), next.Short())
	}
	if v, _ := total(t, ctx, late, true); v != 2 {
		t.Fatalf("late member reads %d, want 2", v)
	}
}

// TestLeaveStopsTheReplica: after Leave the member's replica is stopped
// and calls on the handle fail at once.
func TestLeaveStopsTheReplica(t *testing.T) {
	c := testkit.NewCluster(t, 1, testkit.Options{})
	ctx := testkit.Context(t)
	g := c.JoinAll(counterGroup("leave"))[0]
	waitLeader(t, ctx, []*cluster.Group{g})
	add(t, ctx, g, 1)
	if err := g.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if g.Consensus().Running {
		t.Fatal("the replica still runs after Leave")
	}
	if _, err := g.Propose(ctx, []byte("1")); !errors.Is(err, actors.ErrOffline) {
		t.Fatalf("Propose after Leave: %v, want ErrOffline", err)
	}
}

func TestProposeBeforeOnlineIsOffline(t *testing.T) {
	c := testkit.NewCluster(t, 1, testkit.Options{})
	cfg := counterGroup("early")
	cfg.Consensus = groups.DefaultConsensus() // a 3 s bootstrap delay: surely still offline
	g := c.JoinAll(cfg)[0]
	if _, err := g.Propose(testkit.Context(t), []byte("1")); !errors.Is(err, actors.ErrOffline) {
		t.Fatalf("Propose before a shard exists: %v, want ErrOffline", err)
	}
}

// TestSevenMembersKeepFiveVoters: the committee grows to at most five
// voters, an odd number, however many members join.
func TestSevenMembersKeepFiveVoters(t *testing.T) {
	c := testkit.NewCluster(t, 7, testkit.Options{})
	ctx := testkit.Context(t)
	gs := c.JoinAll(counterGroup("seven"))
	leader := waitLeader(t, ctx, gs)
	for _, g := range gs {
		if g.Bonds().Self != leader {
			continue
		}
		if _, err := g.WaitConsensus(ctx, func(c actors.Consensus) bool { return c.Voters == 5 }); err != nil {
			t.Fatalf("committee has %d voters, want 5: %v", g.Consensus().Voters, err)
		}
		// Every member can write, voter or not.
		for _, m := range gs {
			add(t, ctx, m, 1)
		}
		if v, _ := total(t, ctx, g, true); v != 7 {
			t.Fatalf("total %d, want 7", v)
		}
		if n := g.Consensus().Voters; n != 5 {
			t.Fatalf("voters drifted to %d", n)
		}
	}
}

// TestObserverReplicatesButNeverVotesOrLeads: an observer holds the state,
// accepts writes and serves reads, but never starts the shard, never leads
// and never counts in the committee: of the two members that may vote,
// only one does, since a committee of two is no better than one.
func TestObserverReplicatesButNeverVotesOrLeads(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	cfg := counterGroup("observed")
	gs := c.JoinAll(cfg, 1, 2)
	obsCfg := cfg
	obsCfg.Leadership.Observer = true
	obs := c.JoinAll(obsCfg, 0)[0]
	all := append(gs, obs)
	leader := waitLeader(t, ctx, all)
	if leader == c.Node(0).PeerID() {
		t.Fatal("the observer leads")
	}
	add(t, ctx, gs[0], 3)
	add(t, ctx, obs, 4)
	if v, _ := total(t, ctx, obs, true); v != 7 {
		t.Fatalf("observer reads %d, want 7", v)
	}
	for _, g := range gs {
		if g.Bonds().Self == leader {
			if _, err := g.WaitConsensus(ctx, func(c actors.Consensus) bool { return c.Voters == 1 }); err != nil {
				t.Fatalf("voters %d; want 1 (two voting members make an even committee; the observer never counts): %v", g.Consensus().Voters, err)
			}
		}
	}
}

// TestLateMemberCatchesUpFromASnapshot: a member joining 250 commands
// behind, after the log was compacted behind a snapshot, ends with the
// same state.
func TestLateMemberCatchesUpFromASnapshot(t *testing.T) {
	c := testkit.NewCluster(t, 2, testkit.Options{})
	ctx := testkit.Context(t)
	cfg := counterGroup("late")
	cfg.SnapshotEntries = 50
	gs := c.JoinAll(cfg)
	waitLeader(t, ctx, gs)
	for range 250 {
		add(t, ctx, gs[0], 1)
	}
	c.Add()
	late := c.JoinAll(cfg, 2)[0]
	waitLeader(t, ctx, append(gs, late))
	if v, _ := total(t, ctx, late, true); v != 250 {
		t.Fatalf("late member reads %d, want 250", v)
	}
}

// TestRivalShardsMergeByLongestLog: three members that could not see each
// other bootstrap a shard each and write to it. Once they meet, the shard
// with the longest committed log wins: the others drop theirs, join it,
// end with its state, and report what they discarded.
func TestRivalShardsMergeByLongestLog(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{NoBootstrap: true})
	ctx := testkit.Context(t)
	cfg := counterGroup("rivals")
	gs := c.JoinAll(cfg)
	writes := []int{5, 2, 1}
	for i, g := range gs {
		if leader := waitLeader(t, ctx, []*cluster.Group{g}); leader != c.Node(i).PeerID() {
			t.Fatalf("member %d alone is led by %s", i, leader.Short())
		}
		for range writes[i] {
			add(t, ctx, g, 1)
		}
	}
	winner := gs[0].Consensus().Genesis
	for i := 1; i < 3; i++ {
		if err := c.Node(i).SyncWith(ctx, c.Node(0).GossipAddr()); err != nil {
			t.Fatal(err)
		}
	}
	for i, g := range gs {
		if _, err := g.WaitConsensus(ctx, func(c actors.Consensus) bool {
			return c.Online() && c.Genesis == winner
		}); err != nil {
			t.Fatalf("member %d never joined the winning shard (%+v): %v", i, g.Consensus(), err)
		}
	}
	leader := waitLeader(t, ctx, gs)
	if leader != c.Node(0).PeerID() {
		t.Fatalf("leader %s, want the winner's %s", leader.Short(), c.Node(0).PeerID().Short())
	}
	for i, g := range gs {
		if v, _ := total(t, ctx, g, true); v != 5 {
			t.Fatalf("member %d reads %d, want the winner's 5", i, v)
		}
	}
	if r := gs[0].Rivals(); r.Lost != 0 {
		t.Fatalf("the winner reports losing: %+v", r)
	}
	for i := 1; i < 3; i++ {
		if r := gs[i].Rivals(); r.Lost != 1 || r.Discarded == 0 {
			t.Fatalf("member %d reports %+v, want one lost shard with its entries", i, r)
		}
	}
}

// bomb is a counter that panics on the command 13.
type bomb struct{ counter.Counter }

func (b *bomb) Apply(ctx statemachine.ApplyContext, cmds []int64) {
	for _, n := range cmds {
		if n == 13 {
			panic("unlucky command")
		}
	}
	b.Counter.Apply(ctx, cmds)
}

// TestPanickingMachineStopsTheGroup: a state machine that panics in Apply
// stops its replica with a clear error instead of diverging silently.
func TestPanickingMachineStopsTheGroup(t *testing.T) {
	c := testkit.NewCluster(t, 1, testkit.Options{})
	ctx := testkit.Context(t)
	cfg := counterGroup("bomb")
	cfg.Machine = func() statemachine.Machine {
		return statemachine.Erase[int64, struct{}, int64](&bomb{}, statemachine.Codecs[int64, struct{}, int64]{
			Command: statemachine.JSON[int64](), Query: statemachine.JSON[struct{}](), Result: statemachine.JSON[int64](),
		})
	}
	g := c.JoinAll(cfg)[0]
	waitLeader(t, ctx, []*cluster.Group{g})
	add(t, ctx, g, 1)
	cmd, _ := statemachine.JSON[int64]().Encode(13)
	if _, err := g.Propose(ctx, cmd); !errors.Is(err, statemachine.ErrMachineFailed) {
		t.Fatalf("Propose(13): %v, want ErrMachineFailed", err)
	}
	st, err := g.WaitConsensus(ctx, func(c actors.Consensus) bool { return c.Failed != nil })
	if err != nil {
		t.Fatal(err)
	}
	if st.Running || !errors.Is(st.Failed, statemachine.ErrMachineFailed) {
		t.Fatalf("after the panic: %+v", st)
	}
	if _, err := g.Propose(ctx, []byte("1")); !errors.Is(err, statemachine.ErrMachineFailed) {
		t.Fatalf("Propose after the failure: %v", err)
	}
	if _, _, err := g.Read(ctx, nil, false); !errors.Is(err, statemachine.ErrMachineFailed) {
		t.Fatalf("Read after the failure: %v", err)
	}
}

// partitionFollower starts three members, waits until all are online,
// writes 2 and cuts one follower off. It returns the groups, the cut-off
// member's index and the shard's genesis.
func partitionFollower(t *testing.T, c *testkit.Cluster, ctx context.Context, cfg cluster.GroupConfig) ([]*cluster.Group, int, groups.Genesis) {
	t.Helper()
	gs := c.JoinAll(cfg)
	leader := waitLeader(t, ctx, gs)
	li, xi := -1, -1
	for i, g := range gs {
		if g.Bonds().Self == leader {
			li = i
		} else {
			xi = i
		}
	}
	add(t, ctx, gs[li], 2)
	// The cut-off member must have applied the write before the cut.
	if v, _ := total(t, ctx, gs[xi], true); v != 2 {
		t.Fatalf("follower reads %d before the cut", v)
	}
	var rest []int
	for i := range gs {
		if i != xi {
			rest = append(rest, i)
		}
	}
	c.Partition([]int{xi}, rest)
	return gs, xi, gs[xi].Consensus().Genesis
}

// majorityWrites writes n commands through a majority member and returns
// its total.
func majorityWrites(t *testing.T, ctx context.Context, gs []*cluster.Group, xi, n int) int64 {
	t.Helper()
	for i, g := range gs {
		if i == xi {
			continue
		}
		if _, err := g.WaitConsensus(ctx, func(c actors.Consensus) bool { return c.Online() }); err != nil {
			t.Fatal(err)
		}
		for range n {
			add(t, ctx, g, 1)
		}
		v, _ := total(t, ctx, g, true)
		return v
	}
	return 0
}

// TestLoneSurvivorReformsThenMergesBack: a member cut off from every other
// member re-forms the group alone from its own state and keeps serving;
// once the partition heals, the majority's longer log wins and the
// survivor's own writes are discarded (and reported).
func TestLoneSurvivorReformsThenMergesBack(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	gs, xi, genesis := partitionFollower(t, c, ctx, counterGroup("survivor"))
	lone := gs[xi]
	if _, err := lone.WaitConsensus(ctx, func(c actors.Consensus) bool {
		return c.Online() && c.Genesis != genesis && c.Leader == lone.Bonds().Self
	}); err != nil {
		t.Fatalf("the cut-off member never re-formed (%+v): %v", lone.Consensus(), err)
	}
	if v, _ := total(t, ctx, lone, true); v != 2 {
		t.Fatalf("re-formed shard reads %d, want the 2 it had", v)
	}
	add(t, ctx, lone, 10)
	want := majorityWrites(t, ctx, gs, xi, 8)
	c.Heal()
	if _, err := lone.WaitConsensus(ctx, func(c actors.Consensus) bool { return c.Online() && c.Genesis == genesis }); err != nil {
		t.Fatalf("the survivor never merged back (%+v): %v", lone.Consensus(), err)
	}
	if v, _ := total(t, ctx, lone, true); v != want {
		t.Fatalf("after the merge the survivor reads %d, want the majority's %d", v, want)
	}
	if r := lone.Rivals(); r.Lost != 1 || r.Discarded == 0 {
		t.Fatalf("survivor reports %+v, want one lost shard", r)
	}
}

// TestStrictQuorumNeverReforms: with StrictQuorum the cut-off member stays
// offline instead of re-forming, so after the partition nothing of the
// majority's is discarded and it simply catches up.
func TestStrictQuorumNeverReforms(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	cfg := counterGroup("strict")
	cfg.StrictQuorum = true
	gs, xi, genesis := partitionFollower(t, c, ctx, cfg)
	want := majorityWrites(t, ctx, gs, xi, 3)
	// Hold the partition well past the re-form threshold: this is the
	// fault's duration, not a wait for a condition.
	<-time.After(2 * groups.ReformThreshold(cfg.Consensus))
	if st := gs[xi].Consensus(); st.Genesis != genesis {
		t.Fatalf("a strict-quorum member re-formed: %+v", st)
	}
	c.Heal()
	if _, err := gs[xi].WaitConsensus(ctx, func(c actors.Consensus) bool { return c.Online() }); err != nil {
		t.Fatal(err)
	}
	if v, _ := total(t, ctx, gs[xi], true); v != want {
		t.Fatalf("after the partition the member reads %d, want %d", v, want)
	}
	if r := gs[xi].Rivals(); r.Lost != 0 {
		t.Fatalf("rival merges %+v under StrictQuorum", r)
	}
}

// TestRestartFromTheDataDirectory: a member whose node stops and starts
// again with the same key and data directory restarts its replica (same
// replica id) from its durable log and catches up with what it missed.
func TestRestartFromTheDataDirectory(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{Durable: true})
	ctx := testkit.Context(t)
	cfg := counterGroup("durable")
	// The leader must not replace the stopped member while it restarts
	// (on a loaded machine that can take longer than the default allows),
	// but a member that hears no leader must still heal within the test.
	cfg.ReplaceAfter = 15 * time.Second
	gs := c.JoinAll(cfg)
	leader := waitLeader(t, ctx, gs)
	li, fi := -1, -1
	for i, g := range gs {
		if g.Bonds().Self == leader {
			li = i
		} else if fi < 0 {
			fi = i
		}
	}
	add(t, ctx, gs[li], 3)
	if v, _ := total(t, ctx, gs[fi], true); v != 3 {
		t.Fatalf("follower reads %d before the restart", v)
	}
	replica := gs[fi].Consensus().Replica
	c.Kill(fi)
	add(t, ctx, gs[li], 2)
	c.Restart(fi)
	back := c.JoinAll(cfg, fi)[0]
	st, err := back.WaitConsensus(ctx, func(c actors.Consensus) bool { return c.Online() })
	if err != nil {
		t.Fatalf("restarted member never came online (%+v, bonds %d, leader sees %+v): %v", back.Consensus(), len(back.Bonds().Peers), gs[li].Consensus(), err)
	}
	if st.Replica != replica {
		t.Fatalf("restarted with replica %d, want its old replica %d from the data directory", st.Replica, replica)
	}
	if v, _ := total(t, ctx, back, true); v != 5 {
		t.Fatalf("restarted member reads %d, want 5", v)
	}
}
