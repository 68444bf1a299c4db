package chaos

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Scenarios returns every fault scenario, in a fixed order. Fault
// durations are the CI sizes; Options.Scale stretches them.
func Scenarios() []Scenario {
	return []Scenario{
		{Name: "leader-kill", About: "kill the leader under load, then restart it (it rejoins as a new member)", Members: 3, Script: leaderKill},
		{Name: "follower-kill", About: "kill a follower under load, then restart it", Members: 3, Script: followerKill},
		{Name: "partition-leader", About: "isolate the leader from every other member, then heal", Members: 3, InMemory: true, Script: partitionLeader},
		{Name: "partition-minority", About: "split five members 2|3 with the leader in the minority, then heal", Members: 5, InMemory: true, Script: partitionMinority},
		{Name: "partition-bridge", About: "cut the leader off one follower while a third member still reaches both (non-transitive), then heal", Members: 3, InMemory: true, Script: partitionBridge},
		{Name: "lossy-links", About: "drop 5% of all frames and gossip packets and delay them by 2-12 ms, then clean up", Members: 3, InMemory: true, Script: lossyLinks},
		{Name: "restart-durable", About: "kill a member, then restart it from its data directory: same replica, state from its log", Members: 3, Durable: true, Script: restartDurable},
		{Name: "rolling-restart", About: "restart every member in turn from its data directory", Members: 3, Durable: true, Script: rollingRestart},
		{Name: "join-under-load", About: "add a fourth member while writes flow: it catches up and serves calls (the committee stays at three voters, an odd number)", Members: 3, Script: joinUnderLoad},
		{Name: "rival-geneses", About: "a partition from the start makes each side bootstrap its own genesis; heal, and the longer log wins", Members: 3, InMemory: true, Split: [][]int{{0, 1}, {2}}, Script: rivalGeneses},
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
	if err := e.Hold(ctx, 500*time.Millisecond); err != nil {
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
	if err := e.Hold(ctx, time.Second); err != nil {
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
	// Long enough for the lone leader, in availability-first mode, to
	// notice (bonds time out after ten missed heartbeats) and re-form the
	// group alone (ReformThreshold), so that healing makes rivals.
	if err := e.Hold(ctx, 2500*time.Millisecond); err != nil {
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
	if err := e.Hold(ctx, 2*time.Second); err != nil {
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
	e.Partition([]int{leader}, []int{e.Pick(followers)})
	if err := e.Hold(ctx, 2*time.Second); err != nil {
		return err
	}
	e.Heal()
	return nil
}

func lossyLinks(ctx context.Context, e *Env) error {
	e.Lossy(0.05, 2*time.Millisecond, 10*time.Millisecond)
	if err := e.Hold(ctx, 2*time.Second); err != nil {
		return err
	}
	e.Clean()
	return nil
}

func restartDurable(ctx context.Context, e *Env) error {
	victim := e.Pick(e.Live())
	replica := e.Handle(victim).Core().Consensus().Replica
	e.Kill(victim)
	if err := e.Hold(ctx, time.Second); err != nil {
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
		if err := e.Hold(ctx, 300*time.Millisecond); err != nil {
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
	if _, err := e.Add(ctx); err != nil {
		return err
	}
	return e.Healthy(ctx)
}

func rivalGeneses(ctx context.Context, e *Env) error {
	if err := e.Hold(ctx, time.Second); err != nil {
		return err
	}
	e.Heal()
	return nil
}
