package chaos

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Scenarios returns every fault scenario, in a fixed order. Fault
// durations are the CI sizes; Options.Scale stretches them.
//
// Every scenario requires progress in each phase (Scenario.Want, see
// Progress): writes acknowledged before the fault, during it on the
// side that keeps or regains a quorum, and after the heal; strong and
// weak reads completed; weak reads answered on a cut-off side; and, in
// availability-first mode, writes and strong reads on a cut-off side
// once it has re-formed. The minimums are small (a loaded two-core
// machine under the race detector makes several times as much progress
// in each phase: see docs/reliability.md), since their job is to make a
// run in which nothing got through fail, not to measure throughput; and
// each phase waits for its minimum before it ends, so that a slow
// machine lengthens a run instead of failing it.
func Scenarios() []Scenario {
	// Every scenario's minimums outside the fault: the phases before and
	// after it, and the reads of the round.
	calm := Progress{Before: 5, After: 5, Strong: 5, Weak: 5}
	with := func(f func(*Progress)) Progress {
		p := calm
		f(&p)
		return p
	}
	// A partition whose cut-off side re-forms in availability-first mode
	// serves writes and strong reads there too.
	reforms := func(p *Progress) { p.During, p.CutOff, p.CutOffStrong, p.CutOffWeak = 5, 3, 2, 5 }
	return []Scenario{
		{Name: "leader-kill", About: "kill the leader under load, then restart it (it rejoins as a new member)", Members: 3, Script: leaderKill,
			Want: with(func(p *Progress) { p.During = 5 })},
		{Name: "follower-kill", About: "kill a follower under load, then restart it", Members: 3, Script: followerKill,
			Want: with(func(p *Progress) { p.During = 5 })},
		{Name: "partition-leader", About: "isolate the leader from every other member, then heal", Members: 3, InMemory: true, Script: partitionLeader,
			Want: with(reforms)},
		{Name: "partition-minority", About: "split five members 2|3 with the leader in the minority, then heal", Members: 5, InMemory: true, Script: partitionMinority,
			Want: with(reforms)},
		{Name: "partition-bridge", About: "cut the leader off one follower while a third member still reaches both (non-transitive), then heal", Members: 3, InMemory: true, Script: partitionBridge,
			// The cut-off follower still reaches a quorum through the
			// bridge, so it never re-forms: it serves weak reads only.
			Want: with(func(p *Progress) { p.During, p.CutOffWeak = 5, 5 })},
		{Name: "lossy-links", About: "drop 5% of all frames and gossip packets and delay them by 2-12 ms, then clean up", Members: 3, InMemory: true, Script: lossyLinks,
			Want: with(func(p *Progress) { p.During = 5 })},
		{Name: "restart-durable", About: "kill a member, then restart it from its data directory: same replica, state from its log", Members: 3, Durable: true, Script: restartDurable,
			Want: with(func(p *Progress) { p.During = 5 })},
		{Name: "rolling-restart", About: "restart every member in turn from its data directory", Members: 3, Durable: true, Script: rollingRestart,
			Want: with(func(p *Progress) { p.During = 5 })},
		{Name: "join-under-load", About: "add a fourth member while writes flow: it catches up and serves calls (the committee stays at three voters, an odd number)", Members: 3, Script: joinUnderLoad,
			Want: with(func(p *Progress) { p.During = 5 })},
		{Name: "rival-geneses", About: "a partition from the start makes each side bootstrap its own genesis; heal, and the longer log wins", Members: 3, InMemory: true, Split: [][]int{{0, 1}, {2}}, Script: rivalGeneses,
			// The round begins partitioned: nothing comes before the fault.
			Want: with(func(p *Progress) { reforms(p); p.Before = 0 })},
	}
}

// ScenarioNamed returns the scenario called name.
func ScenarioNamed(name string) (Scenario, bool) {
	all := Scenarios()
	i := slices.IndexFunc(all, func(s Scenario) bool { return s.Name == name })
	if i < 0 {
		return Scenario{}, false
	}
	return all[i], true
}

func leaderKill(ctx context.Context, e *Env) error {
	leader, err := e.Leader(ctx)
	if err != nil {
		return err
	}
	e.Kill(leader)
	next, err := e.Leader(ctx)
	if err != nil {
		return err
	}
	e.Mark("node %d leads", next)
	if err := e.Endure(ctx, 500*time.Millisecond); err != nil {
		return err
	}
	return e.Restart(ctx, leader)
}

func followerKill(ctx context.Context, e *Env) error {
	_, followers, err := e.Followers(ctx)
	if err != nil {
		return err
	}
	victim := e.Pick(followers)
	e.Kill(victim)
	if err := e.Endure(ctx, time.Second); err != nil {
		return err
	}
	return e.Restart(ctx, victim)
}

func partitionLeader(ctx context.Context, e *Env) error {
	leader, followers, err := e.Followers(ctx)
	if err != nil {
		return err
	}
	e.Partition([]int{leader}, followers)
	e.CutOff(leader)
	// Long enough for the lone leader, in availability-first mode, to
	// notice (bonds time out after ten missed heartbeats) and re-form the
	// group alone (ReformThreshold), so that healing makes rivals; Endure
	// then holds until it has served its minimum too.
	if err := e.Endure(ctx, 2500*time.Millisecond); err != nil {
		return err
	}
	e.Heal()
	return nil
}

func partitionMinority(ctx context.Context, e *Env) error {
	leader, followers, err := e.Followers(ctx)
	if err != nil {
		return err
	}
	mate := e.Pick(followers)
	minority := []int{leader, mate}
	majority := slices.DeleteFunc(slices.Clone(followers), func(i int) bool { return i == mate })
	e.Partition(minority, majority)
	// In availability-first mode the minority, cut off from a quorum of
	// the five voters, re-forms together and serves.
	e.CutOff(minority...)
	if err := e.Endure(ctx, 2*time.Second); err != nil {
		return err
	}
	e.Heal()
	return nil
}

func partitionBridge(ctx context.Context, e *Env) error {
	leader, followers, err := e.Followers(ctx)
	if err != nil {
		return err
	}
	// The other follower is in no part, so it reaches both.
	cut := e.Pick(followers)
	e.Partition([]int{leader}, []int{cut})
	e.CutOff(cut)
	if err := e.Endure(ctx, 2*time.Second); err != nil {
		return err
	}
	e.Heal()
	return nil
}

func lossyLinks(ctx context.Context, e *Env) error {
	e.Lossy(0.05, 2*time.Millisecond, 10*time.Millisecond)
	if err := e.Endure(ctx, 2*time.Second); err != nil {
		return err
	}
	e.Clean()
	return nil
}

func restartDurable(ctx context.Context, e *Env) error {
	victim := e.Pick(e.Live())
	replica := e.Handle(victim).Core().Consensus().Replica
	e.Kill(victim)
	if err := e.Endure(ctx, time.Second); err != nil {
		return err
	}
	if err := e.Restart(ctx, victim); err != nil {
		return err
	}
	if got := e.Handle(victim).Core().Consensus().Replica; got != replica {
		return fmt.Errorf("node %d restarted with replica %d, not its replica %d from the data directory", victim, got, replica)
	}
	return nil
}

func rollingRestart(ctx context.Context, e *Env) error {
	order := e.Live()
	e.Rand().Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for _, i := range order {
		replica := e.Handle(i).Core().Consensus().Replica
		e.Kill(i)
		if err := e.Endure(ctx, 300*time.Millisecond); err != nil {
			return err
		}
		if err := e.Restart(ctx, i); err != nil {
			return err
		}
		if got := e.Handle(i).Core().Consensus().Replica; got != replica {
			return fmt.Errorf("node %d restarted with replica %d, not its replica %d from the data directory", i, got, replica)
		}
		// The next member goes down only once this one is back in
		// the committee: a rolling restart keeps a quorum.
		if err := e.Healthy(ctx); err != nil {
			return err
		}
	}
	return nil
}

func joinUnderLoad(ctx context.Context, e *Env) error {
	i, err := e.Add(ctx)
	if err != nil {
		return err
	}
	// The new member serves calls: the client that prefers it (client 3
	// of four, now that there are four nodes) gets writes acknowledged.
	if err := e.awaitWritesThrough(ctx, i, 3); err != nil {
		return err
	}
	if err := e.Endure(ctx, 0); err != nil {
		return err
	}
	return e.Healthy(ctx)
}

func rivalGeneses(ctx context.Context, e *Env) error {
	// Scenario.Split left node 2 alone in its own genesis; both sides
	// serve until the heal.
	e.CutOff(2)
	if err := e.Endure(ctx, time.Second); err != nil {
		return err
	}
	e.Heal()
	return nil
}
