package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/statemachine"
)

// The group actor's consensus part: it owns the member's shard lifecycle
// (groups.Lifecycle), feeds it every event, and carries out the actions it
// returns against the node's NodeHost, the catalog and the bonds. Every
// decision is the lifecycle's; this file only moves messages and bytes.

// Group actor messages of the consensus layer.
type (
	// shardEvent is the result of work the lifecycle asked for, to be
	// fed back to it.
	shardEvent struct{ ev groups.Event }
	// shardNews: the NodeHost reported a leader or membership change of
	// a shard hosted for this group.
	shardNews struct{ shard uint64 }
	// machineFailed: a proposal found the state machine failed.
	machineFailed struct{ err error }
)

// replicaProgress is what the state machine adapter reports of the
// replica it hosts, written on dragonboat's apply goroutine.
type replicaProgress struct {
	applied atomic.Uint64
	own     atomic.Uint64
	active  atomic.Uint64 // the shard whose replica's progress they track
}

func (a *groupActor) host() *consensusHost { return a.grp.owner.consensus }

// startShard creates the lifecycle and asks for the record.
func (a *groupActor) startShard(ctx actor.Context) {
	self := a.self()
	a.origin = time.Now()
	a.shard = groups.NewLifecycle(groups.LifecycleConfig{
		Self:         self,
		Consensus:    a.consensus(),
		Observer:     a.grp.cfg.Leadership.Observer,
		StrictQuorum: a.grp.cfg.StrictQuorum,
		ReplaceAfter: a.grp.cfg.ReplaceAfter,
		NewGenesis:   func() (groups.Genesis, error) { return groups.NewGenesis(nil) },
		NewReplica:   func() uint64 { return groups.ReplicaID(self, nextIncarnation()) },
	})
	a.execute(ctx, a.shard.Start())
}

// step feeds the lifecycle one event and carries out its actions.
func (a *groupActor) step(ctx actor.Context, ev groups.Event) {
	if a.shard == nil {
		return
	}
	a.execute(ctx, a.shard.Step(time.Since(a.origin), ev))
}

// tickShard is the lifecycle's periodic step.
func (a *groupActor) tickShard(ctx actor.Context) {
	a.step(ctx, groups.Tick{Status: a.replicaStatus()})
}

// replicaStatus reads the member's replica as the NodeHost reports it.
func (a *groupActor) replicaStatus() groups.ReplicaStatus {
	g, replica := a.shard.Replica()
	st := groups.ReplicaStatus{Genesis: g}
	if g.IsZero() {
		return st
	}
	shard := groups.ShardID(a.grp.id, g)
	if a.progress.active.Load() == shard {
		st.Applied, st.Commands = a.progress.applied.Load(), a.progress.own.Load()
	}
	info := a.host().nh.GetNodeHostInfo(dragonboat.NodeHostInfoOption{SkipLogInfo: true})
	if info == nil {
		return st
	}
	for _, si := range info.ShardInfoList {
		if si.ShardID != shard || si.ReplicaID != replica {
			continue
		}
		st.Found = true
		st.LeaderReplica, st.Term, st.ConfigChangeID = si.LeaderID, si.Term, si.ConfigChangeIndex
		if len(si.Replicas) > 0 {
			st.Voters = make(map[uint64]id.PeerID, len(si.Replicas))
			for rid, addr := range si.Replicas {
				if p, err := id.ParsePeerID(addr); err == nil {
					st.Voters[rid] = p
				}
			}
		}
	}
	if st.LeaderReplica == 0 {
		// The shard info carries the leader only once a configuration is
		// applied; the leader query knows it earlier.
		if leader, term, valid, err := a.host().nh.GetLeaderID(shard); err == nil && valid {
			st.LeaderReplica, st.Term = leader, max(st.Term, term)
		}
	}
	return st
}

// shardNews turns a NodeHost report about our shard into a status step.
func (a *groupActor) shardNewsArrived(ctx actor.Context, m *shardNews) {
	g, _ := a.shard.Replica()
	if g.IsZero() || m.shard != groups.ShardID(a.grp.id, g) {
		return
	}
	st := a.replicaStatus()
	a.grp.metrics.ObserveLeader(st.Term, st.LeaderReplica, st.LeaderReplica != 0 && st.LeaderReplica == a.shardReplica())
	a.step(ctx, groups.StatusChanged{Status: st})
}

func (a *groupActor) shardReplica() uint64 {
	_, r := a.shard.Replica()
	return r
}

// execute carries out the lifecycle's actions, in order, except that the
// new view is published first: a caller that reads it must not find the
// replica it names already stopped. Blocking work runs as a task whose
// result comes back as a shardEvent.
func (a *groupActor) execute(ctx actor.Context, actions []groups.Action) {
	for _, act := range actions {
		if p, ok := act.(groups.Publish); ok {
			a.publishConsensus(p.View)
		}
	}
	for _, act := range actions {
		switch act := act.(type) {
		case groups.LoadRecord:
			owner, gid := a.grp.owner, a.grp.id
			a.tasks.Go(ctx, func(context.Context) any {
				rec, err := owner.loadRecord(gid)
				return &shardEvent{groups.RecordLoaded{Record: rec, Err: err}}
			})
		case groups.StartReplica:
			if act.Bootstrap {
				a.log().Info("group bootstrapping a new shard", "genesis", act.Genesis.Short())
			}
			a.startReplica(ctx, act)
		case groups.StopReplica:
			a.stopReplica(act.Genesis)
		case groups.RemoveData:
			nh, shard, timeout := a.host().nh, groups.ShardID(a.grp.id, act.Genesis), a.consensus().ForwardTimeout
			g, replica := act.Genesis, act.Replica
			a.tasks.Go(ctx, func(tctx context.Context) any {
				tctx, cancel := context.WithTimeout(tctx, timeout)
				defer cancel()
				// A removed replica id never comes back (the next one is
				// new), but its data must go before the disk fills with
				// dead shards.
				_ = nh.SyncRemoveData(tctx, shard, replica)
				return &shardEvent{groups.DataRemoved{Genesis: g}}
			})
		case groups.DropRecord:
			a.grp.owner.dropRecord(a.grp.id)
		case groups.Advertise:
			a.advertise(ctx, act)
		case groups.SendProgress:
			a.broadcast(groups.ProgressMessage(act.Progress), id.PeerID{})
		case groups.SendJoinRequest:
			msg := &messages.BondMessage{Kind: &messages.BondMessage_JoinRequest{JoinRequest: &messages.JoinRequest{
				Genesis: act.Genesis.Bytes(), ReplicaId: act.Replica,
			}}}
			for _, p := range act.To {
				a.sendTo(p, msg)
			}
		case groups.SendJoinReply:
			reply := &messages.JoinReply{Genesis: act.Genesis.Bytes(), ReplicaId: act.Replica, Accepted: act.Accepted, Reason: act.Reason}
			if !act.Leader.IsZero() {
				reply.Leader = act.Leader.Proto()
			}
			a.sendTo(act.To, &messages.BondMessage{Kind: &messages.BondMessage_JoinReply{JoinReply: reply}})
		case groups.ReadMembership:
			a.readMembership(ctx)
		case groups.ChangeConfig:
			a.changeConfig(ctx, act)
		case groups.ReadState:
			g, _ := a.shard.Replica()
			nh, shard := a.host().nh, groups.ShardID(a.grp.id, g)
			a.tasks.Go(ctx, func(context.Context) any {
				out, err := nh.StaleRead(shard, &statemachine.StateQuery{})
				if err != nil {
					return &shardEvent{groups.StateRead{Genesis: g, Err: err}}
				}
				r := out.(*statemachine.IndexedResult)
				return &shardEvent{groups.StateRead{Genesis: g, State: r.Result, Applied: r.Applied}}
			})
		case groups.ProposeInstall:
			g, _ := a.shard.Replica()
			nh, shard, timeout := a.host().nh, groups.ShardID(a.grp.id, g), a.consensus().ForwardTimeout
			entry := statemachine.EncodeInstall(act.State, act.Base)
			a.tasks.Go(ctx, func(tctx context.Context) any {
				tctx, cancel := context.WithTimeout(tctx, timeout)
				defer cancel()
				res, err := nh.SyncPropose(tctx, nh.GetNoOPSession(shard), entry)
				if err == nil {
					err = statemachine.ResultError(res)
				}
				return &shardEvent{groups.InstallDone{Genesis: g, Err: err}}
			})
		case groups.Campaign:
			if t := a.host().factory.Transport(); t != nil {
				// A closing NodeHost refuses it; nothing is lost.
				_ = t.Campaign(groups.ShardID(a.grp.id, act.Genesis), act.Replica)
			}
		case groups.ReportRivalLoss:
			// What the lost replica had applied when it stopped: commands
			// committed while it was being stopped were acknowledged too,
			// and are discarded with the rest.
			loss := RivalLoss{Lost: act.Lost, Winner: act.Winner, Entries: a.progress.applied.Load(), Commands: a.progress.own.Load()}
			a.grp.rivals.Set(a.grp.rivals.Get().Plus(RivalTally{Lost: 1, Discarded: loss.Entries, Commands: loss.Commands}))
			a.grp.losses.Publish(loss)
			a.grp.metrics.RivalLost(loss.Entries)
			a.log().Warn("group lost to a rival shard; its writes are discarded",
				"lost", act.Lost.Short(), "winner", act.Winner.Short(), "entries", loss.Entries, "own_commands", loss.Commands)
		}
	}
}

// shardConfig is the dragonboat config of one replica of the group's
// shard.
func (a *groupActor) shardConfig(replica uint64, shard uint64, nonVoting bool) config.Config {
	c := a.consensus()
	election := max(uint64((c.ElectionTimeout+c.ElectionJitter/2)/raftRTT), 10)
	heartbeat := max(election/10, 1)
	if f := a.grp.cfg.Leadership.Reluctance; f > 1 {
		election *= uint64(f)
	}
	snapshots := a.grp.cfg.SnapshotEntries
	if snapshots == 0 {
		snapshots = DefaultSnapshotEntries
	}
	return config.Config{
		ShardID:      shard,
		ReplicaID:    replica,
		ElectionRTT:  election,
		HeartbeatRTT: heartbeat,
		// A leader that cannot hear a quorum steps down, and a member
		// that restarts or comes back from a partition asks for votes
		// before it raises its term, so it cannot depose a healthy
		// leader.
		CheckQuorum:        true,
		PreVote:            true,
		IsNonVoting:        nonVoting,
		SnapshotEntries:    snapshots,
		CompactionOverhead: max(snapshots/10, 1),
		// One proposal queue slot per in-flight command is bounded by the
		// handle; this bounds bytes as a second fence.
		MaxInMemLogSize: 64 << 20,
	}
}

// startReplica starts the replica the lifecycle asked for and saves its
// record once it runs.
func (a *groupActor) startReplica(ctx actor.Context, s groups.StartReplica) {
	shard := groups.ShardID(a.grp.id, s.Genesis)
	nh, cfg := a.host().nh, a.shardConfig(s.Replica, shard, s.NonVoting)
	// Progress starts over with each replica: the last one's figures
	// belong to another log, and its apply goroutine may still report
	// while it stops, so reports of other shards are ignored.
	p, grp := &a.progress, a.grp
	p.active.Store(shard)
	p.applied.Store(0)
	p.own.Store(0)
	grp.applied.Set(0)
	create := statemachine.DragonboatTracked(grp.cfg.Machine, grp.id, func(pr statemachine.Progress) {
		if p.active.Load() != shard {
			return
		}
		p.applied.Store(pr.Index)
		p.own.Store(pr.Commands)
		grp.applied.Set(pr.Index)
		grp.metrics.SetCommitted(pr.Index)
	})
	var members map[uint64]dragonboat.Target
	if s.Bootstrap {
		members = map[uint64]dragonboat.Target{s.Replica: a.self().String()}
	}
	a.host().register(shard, ctx.Self())
	owner, gid := a.grp.owner, a.grp.id
	rec := groups.Record{Genesis: s.Genesis, Replica: s.Replica, NonVoting: s.NonVoting}
	restart := !s.Bootstrap && !s.Join
	a.tasks.Go(ctx, func(context.Context) any {
		var err error
		if dir := owner.p.DataDir; restart && dir != "" {
			err = checkReplicaSnapshots(dir, shard, s.Replica)
		}
		if err == nil {
			err = startConcurrentReplica(nh, members, s.Join, create, cfg)
		}
		if errors.Is(err, dragonboat.ErrShardAlreadyExist) {
			err = nil // a restarted group actor finds its replica running
		}
		if err == nil {
			err = owner.saveRecord(gid, rec)
		}
		return &shardEvent{groups.ReplicaStarted{Genesis: s.Genesis, Replica: s.Replica, Err: err}}
	})
}

// startConcurrentReplica starts a replica, turning a panic of dragonboat's
// (it panics on log or snapshot files it cannot read) into an error.
func startConcurrentReplica(nh *dragonboat.NodeHost, members map[uint64]dragonboat.Target, join bool, create sm.CreateConcurrentStateMachineFunc, cfg config.Config) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: starting replica %d: %v", ErrCorruptDataDir, cfg.ReplicaID, v)
		}
	}()
	return nh.StartConcurrentReplica(members, join, create, cfg)
}

// stopReplica stops the replica of the shard named by g, if it runs.
func (a *groupActor) stopReplica(g groups.Genesis) {
	if g.IsZero() {
		return
	}
	shard := groups.ShardID(a.grp.id, g)
	_ = a.host().nh.StopShard(shard)
	a.host().unregister(shard)
	if a.progress.active.Load() == shard {
		a.progress.active.Store(0)
	}
}

// advertise puts the member's shard in its entry (or takes it out).
func (a *groupActor) advertise(ctx actor.Context, ad groups.Advertise) {
	disc, gid, observer := a.grp.owner.p.Discovery, a.grp.id, a.grp.cfg.Leadership.Observer
	entry := discovery.ShardAd{Genesis: ad.Genesis.Bytes(), Replica: ad.Replica, Observer: observer}
	a.tasks.Go(ctx, func(tctx context.Context) any {
		_ = disc.UpdateLocal(tctx, func(e *discovery.Entry) {
			if e.Shards == nil {
				e.Shards = map[id.GroupID]discovery.ShardAd{}
			}
			e.Shards[gid] = entry
		})
		return nil
	})
}

// readMembership reads the shard's configuration through the leader.
func (a *groupActor) readMembership(ctx actor.Context) {
	g, _ := a.shard.Replica()
	nh, shard, timeout := a.host().nh, groups.ShardID(a.grp.id, g), a.consensus().ForwardTimeout
	a.tasks.Go(ctx, func(tctx context.Context) any {
		tctx, cancel := context.WithTimeout(tctx, timeout)
		defer cancel()
		m, err := nh.SyncGetShardMembership(tctx, shard)
		if err != nil {
			return &shardEvent{groups.MembershipRead{Genesis: g, Err: err}}
		}
		return &shardEvent{groups.MembershipRead{Genesis: g, Membership: groups.Membership{
			ConfigChangeID: m.ConfigChangeID,
			Voters:         peersOf(m.Nodes),
			NonVoting:      peersOf(m.NonVotings),
		}}}
	})
}

// peersOf reads a dragonboat replica map, whose addresses are peer ids.
func peersOf(addrs map[uint64]string) map[uint64]id.PeerID {
	out := make(map[uint64]id.PeerID, len(addrs))
	for rid, addr := range addrs {
		if p, err := id.ParsePeerID(addr); err == nil {
			out[rid] = p
		}
	}
	return out
}

// membershipRead tells the Raft gate and the metrics what the leader read,
// before the lifecycle decides on it.
func (a *groupActor) membershipRead(ctx actor.Context, m groups.MembershipRead) {
	if g, _ := a.shard.Replica(); m.Err == nil && m.Genesis == g {
		owners := make(map[uint64]id.PeerID, len(m.Membership.Voters)+len(m.Membership.NonVoting))
		for rid, p := range m.Membership.Voters {
			owners[rid] = p
		}
		for rid, p := range m.Membership.NonVoting {
			owners[rid] = p
		}
		a.host().learnReplicas(groups.ShardID(a.grp.id, g), owners)
		a.grp.metrics.SetCommittee(len(m.Membership.Voters), len(m.Membership.NonVoting))
	}
	a.step(ctx, m)
}

// changeConfig issues one ordered configuration change.
func (a *groupActor) changeConfig(ctx actor.Context, c groups.ChangeConfig) {
	g, _ := a.shard.Replica()
	nh, shard, timeout := a.host().nh, groups.ShardID(a.grp.id, g), a.consensus().ForwardTimeout
	change, ccid, target := c.Change, c.ConfigChangeID, c.Change.Peer.String()
	a.tasks.Go(ctx, func(tctx context.Context) any {
		tctx, cancel := context.WithTimeout(tctx, timeout)
		defer cancel()
		var err error
		switch change.Kind {
		case groups.Promote:
			err = nh.SyncRequestAddReplica(tctx, shard, change.Replica, target, ccid)
		case groups.Remove:
			err = nh.SyncRequestDeleteReplica(tctx, shard, change.Replica, ccid)
		case groups.AddNonVoting:
			err = nh.SyncRequestAddNonVoting(tctx, shard, change.Replica, target, ccid)
		}
		return &shardEvent{groups.ChangeDone{Genesis: g, Change: change, Err: err}}
	})
}

// publishConsensus hands the lifecycle's view to the group's readers.
func (a *groupActor) publishConsensus(v groups.View) {
	if v.Phase == groups.PhaseFailed && v.Failed != nil {
		v.Failed = fmt.Errorf("actors: group %s stopped: %w", a.grp.id.Short(), v.Failed)
	}
	a.logViewChange(a.grp.consensus.Get().View, v)
	c := Consensus{View: v}
	if !v.Genesis.IsZero() {
		c.Shard = groups.ShardID(a.grp.id, v.Genesis)
	}
	a.grp.consensus.Set(c)
}

// received hands a bond's consensus traffic to the lifecycle.
func (a *groupActor) receivedConsensus(ctx actor.Context, from id.PeerID, msg *messages.BondMessage) {
	switch k := msg.GetKind().(type) {
	case *messages.BondMessage_JoinRequest:
		g, err := groups.GenesisFromBytes(k.JoinRequest.GetGenesis())
		if err != nil || g.IsZero() {
			return
		}
		a.step(ctx, groups.JoinRequested{From: from, Genesis: g, Replica: k.JoinRequest.GetReplicaId()})
	case *messages.BondMessage_JoinReply:
		r := k.JoinReply
		g, err := groups.GenesisFromBytes(r.GetGenesis())
		if err != nil || g.IsZero() {
			return
		}
		ev := groups.JoinAnswered{From: from, Genesis: g, Replica: r.GetReplicaId(), Accepted: r.GetAccepted()}
		if leader, err := id.PeerIDFromProto(r.GetLeader()); err == nil {
			ev.Leader = leader
		}
		a.step(ctx, ev)
	case *messages.BondMessage_Progress:
		// Decoded and checked by the bond already.
		if p, err := groups.ProgressFromProto(k.Progress); err == nil {
			a.step(ctx, groups.ProgressHeard{From: from, Progress: p})
		}
	}
}

// catalogMembers lists the group's members as the catalog has them.
func (a *groupActor) catalogMembers(snap *discovery.Snapshot) []groups.CatalogMember {
	var out []groups.CatalogMember
	for _, e := range snap.Peers() {
		if e.Peer == a.self() || !e.InGroup(a.grp.id) {
			continue
		}
		m := groups.CatalogMember{Peer: e.Peer}
		if ad, ok := e.Shards[a.grp.id]; ok {
			m.Genesis, _ = groups.GenesisFromBytes(ad.Genesis)
			m.Replica, m.Observer = ad.Replica, ad.Observer
		}
		out = append(out, m)
	}
	return out
}

// nextIncarnation numbers a new replica of this node. dragonboat never
// takes back a replica id once removed, so ids must not repeat even
// across restarts of the group actor or the process: the wall clock in
// nanoseconds, forced to grow within the process, does that without
// storing anything.
func nextIncarnation() uint64 {
	for {
		last := lastIncarnation.Load()
		next := max(uint64(time.Now().UnixNano()), last+1)
		if lastIncarnation.CompareAndSwap(last, next) {
			return next
		}
	}
}

var lastIncarnation atomic.Uint64

// log is the node's logger with the group named.
func (a *groupActor) log() *slog.Logger {
	return a.grp.owner.p.Logger.With("group", a.grp.id.Short())
}

// logViewChange logs what changed between two published views that a
// user would want to know: leaders won and lost, re-forming, failure.
func (a *groupActor) logViewChange(prev, next groups.View) {
	for _, e := range viewEvents(prev, next) {
		a.log().Log(context.Background(), e.level, e.msg, e.attrs...)
	}
}

type viewEvent struct {
	level slog.Level
	msg   string
	attrs []any
}

// viewEvents lists the log-worthy changes from prev to next.
func viewEvents(prev, next groups.View) []viewEvent {
	var out []viewEvent
	switch {
	case next.Leader != prev.Leader && !next.Leader.IsZero():
		out = append(out, viewEvent{slog.LevelInfo, "group leader elected", []any{"leader", next.Leader.Short(), "term", next.Term, "genesis", next.Genesis.Short()}})
	case next.Leader.IsZero() && !prev.Leader.IsZero():
		out = append(out, viewEvent{slog.LevelWarn, "group leader lost", []any{"leader", prev.Leader.Short(), "term", prev.Term}})
	}
	if next.Phase == groups.PhaseReforming && prev.Phase != groups.PhaseReforming {
		out = append(out, viewEvent{slog.LevelWarn, "group cut off from its quorum; re-forming a new shard from local state", []any{"genesis", next.Genesis.Short()}})
	}
	if !prev.Genesis.IsZero() && !next.Genesis.IsZero() && prev.Genesis != next.Genesis {
		out = append(out, viewEvent{slog.LevelInfo, "group shard changed", []any{"from", prev.Genesis.Short(), "to", next.Genesis.Short()}})
	}
	if next.Phase == groups.PhaseFailed && prev.Phase != groups.PhaseFailed {
		out = append(out, viewEvent{slog.LevelError, "group stopped", []any{"err", next.Failed}})
	}
	return out
}
