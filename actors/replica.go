package actors

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/client"
	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/raftio"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/feed"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/statemachine"
)

// Errors of the consensus calls on a group.
var (
	// ErrOffline: the group has no running replica or no leader yet; the
	// command was not submitted.
	ErrOffline = errors.New("actors: group offline")
	// ErrNoCommands: an empty batch.
	ErrNoCommands = errors.New("actors: no commands")
	// ErrOutcomeUnknown: a proposal was submitted but its commit was not
	// confirmed before the deadline (say, a leader change lost it, or the
	// group is cut off). It may still be applied. Such errors match
	// context.DeadlineExceeded too.
	ErrOutcomeUnknown = errors.New("actors: commit not confirmed in time; the command may still be applied")
)

// Consensus is a member's view of its group's replicated state machine.
type Consensus struct {
	// Genesis names the shard; zero until the member bootstrapped or
	// joined one.
	Genesis groups.Genesis
	Shard   uint64
	Replica uint64
	// Running: the member's replica runs (it may still be catching up).
	Running bool
	// Leader is the current leader's peer id; zero while there is none.
	Leader id.PeerID
	Term   uint64
	// Voters is the number of voting replicas, as the leader last read
	// the membership; 0 on members that are not the leader.
	Voters int
	// Failed is set when the state machine failed (a panic in Apply, a
	// failed restore): the replica is stopped rather than left to diverge,
	// and every call on the group returns this error.
	Failed error
}

// Online reports whether commands can be submitted: a replica runs and a
// leader is known.
func (c Consensus) Online() bool { return c.Running && !c.Leader.IsZero() }

// Group actor messages of the consensus layer.
type (
	leaderUpdated  struct{ info raftio.LeaderInfo }
	replicaStarted struct {
		genesis groups.Genesis
		replica uint64
		err     error
	}
	membershipRead struct {
		m   *dragonboat.Membership
		err error
	}
	changeDone struct {
		change groups.ConfigChange
		err    error
	}
	// rivalResolved: the old replica is stopped and its data gone; loss
	// is set when a rival won, to be reported with the final figures.
	rivalResolved struct{ loss *RivalLoss }
	recordLoaded  struct {
		rec replicaRecord
		ok  bool
	}
	reformState struct {
		state []byte
		err   error
	}
	installDone   struct{ err error }
	machineFailed struct{ err error }
	joinAnswer    struct {
		to    id.PeerID
		reply *messages.JoinReply
	}
)

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

// replicaState is the consensus part of a group actor's state.
type replicaState struct {
	joinedAt time.Time
	genesis  groups.Genesis
	replica  uint64
	starting bool
	running  bool
	applied  atomic.Uint64 // written by the state machine adapter
	own      atomic.Uint64 // its statemachine.Progress.Commands, likewise
	active   atomic.Uint64 // the shard whose replica's progress they track
	leader   id.PeerID
	term     uint64
	changing bool  // a membership read or change is in flight
	failed   error // the state machine failed; the replica is stopped

	// Lone survivor: members of our shard we have seen, when we last
	// reached one or knew a leader, and a state to install as the first
	// command of a re-formed shard.
	members         map[id.PeerID]bool
	lastContact     time.Time
	leaderlessSince time.Time

	// On the leader: the config's replicas by peer at the last read, and
	// peers waiting to join with a new replica while an old one of theirs
	// is still in the config.
	owners         map[uint64]id.PeerID
	joiners        map[id.PeerID]uint64
	reforming      bool
	pendingInstall []byte
	installing     bool
	voters         int       // voting replicas at the last membership read
	askedJoin      time.Time // last JoinRequest sent
	progress       map[id.PeerID]uint64
	claims         map[groups.Genesis]uint64    // best committed index heard per shard, for joining
	heard          map[id.PeerID]groups.Genesis // genesis in each member's last Progress
	peerTerms      map[id.PeerID]uint64         // leader term in the last Progress of each member of our shard
	downSince      map[id.PeerID]time.Time
}

func (a *groupActor) host() *consensusHost { return a.grp.owner.consensus }

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
		ShardID:            shard,
		ReplicaID:          replica,
		ElectionRTT:        election,
		HeartbeatRTT:       heartbeat,
		CheckQuorum:        true,
		IsNonVoting:        nonVoting,
		SnapshotEntries:    snapshots,
		CompactionOverhead: max(snapshots/10, 1),
		// One proposal queue slot per in-flight command is bounded by the
		// handle; this bounds bytes as a second fence.
		MaxInMemLogSize: 64 << 20,
	}
}

// consensusTick moves the replica along: bootstrap or join while there is
// none, report progress, and, on the leader, shape the committee.
func (a *groupActor) consensusTick(ctx actor.Context) {
	r := &a.rs
	if a.leaving {
		return
	}
	now := time.Now()
	if !r.running && !r.starting {
		a.findShard(ctx, now)
		return
	}
	if r.running && a.removed() {
		return
	}
	if r.running {
		if r.leader.IsZero() {
			a.pollLeader(ctx)
		}
		var leaderTerm uint64
		if !r.leader.IsZero() {
			leaderTerm = r.term
		}
		a.broadcast(&messages.BondMessage{Kind: &messages.BondMessage_Progress{Progress: &messages.Progress{
			Genesis: r.genesis.Bytes(), Applied: r.applied.Load(), LeaderTerm: leaderTerm,
		}}}, id.PeerID{})
		if r.leader == a.self() && !r.changing && r.pendingInstall == nil {
			a.readMembership(ctx)
		}
		a.install(ctx)
		a.checkLoneSurvivor(ctx, now)
	}
}

// bondedGeneses collects what bonded members advertise about the group's
// consensus, from their catalog entries or, where the catalog has none
// yet, from their Progress messages. known is false while some bonded
// member is neither in the catalog nor heard from: it may run a shard.
func (a *groupActor) bondedGeneses() (out []groups.PeerGenesis, known bool) {
	snap := a.grp.owner.p.Discovery.Catalog()
	known = true
	for _, p := range a.upPeers() {
		pg := groups.PeerGenesis{Peer: p}
		e, listed := snap.Get(p)
		if listed {
			if ad, ok := e.Shards[a.grp.id]; ok {
				pg.Genesis, _ = groups.GenesisFromBytes(ad.Genesis)
			}
		}
		if pg.Genesis.IsZero() {
			g, heard := a.rs.heard[p]
			pg.Genesis = g
			known = known && (listed || heard)
		}
		out = append(out, pg)
	}
	return out, known
}

// shardAdvertised reports whether another member of the group, as the
// catalog lists it, advertises a genesis.
func (a *groupActor) shardAdvertised() bool {
	for _, e := range a.grp.owner.p.Discovery.Catalog().Peers() {
		if e.Peer == a.self() || !e.InGroup(a.grp.id) {
			continue
		}
		if g, err := groups.GenesisFromBytes(e.Shards[a.grp.id].Genesis); err == nil && !g.IsZero() {
			return true
		}
	}
	return false
}

// voterCandidates leaves observers out of the bootstrap decision: the
// lowest member that may vote starts the shard.
func (a *groupActor) voterCandidates(bonded []groups.PeerGenesis) []groups.PeerGenesis {
	snap := a.grp.owner.p.Discovery.Catalog()
	out := bonded[:0:0]
	for _, pg := range bonded {
		if e, ok := snap.Get(pg.Peer); ok && e.Shards[a.grp.id].Observer {
			continue
		}
		out = append(out, pg)
	}
	return out
}

// findShard joins the shard bonded members run, or bootstraps one when
// this member is the lowest of those that know none and has waited long
// enough for the others to show up.
func (a *groupActor) findShard(ctx actor.Context, now time.Time) {
	r := &a.rs
	bonded, known := a.bondedGeneses()
	for i, pg := range bonded {
		bonded[i].Committed = r.claims[pg.Genesis]
	}
	if target, ok := groups.JoinTarget(bonded); ok {
		if now.Sub(r.askedJoin) < a.consensus().ForwardTimeout {
			return
		}
		r.askedJoin = now
		if r.replica == 0 {
			r.replica = groups.ReplicaID(a.self(), nextIncarnation())
		}
		req := &messages.BondMessage{Kind: &messages.BondMessage_JoinRequest{JoinRequest: &messages.JoinRequest{
			Genesis: target.Bytes(), ReplicaId: r.replica,
		}}}
		for _, pg := range bonded {
			if pg.Genesis == target {
				a.sendTo(pg.Peer, req)
			}
		}
		return
	}
	// An observer never starts a shard: it would hold the only vote. Nor
	// does anyone while a bonded member's shard is unknown (a bond can
	// come up before the member's entry reaches the catalog), or while
	// the catalog shows a member running a shard it has no bond with yet
	// (a node restarting under load may take longer than the bootstrap
	// delay to bond): starting a rival of a running shard would cost one
	// of them its writes.
	if a.grp.cfg.Leadership.Observer || !known || a.shardAdvertised() ||
		!groups.ShouldBootstrap(a.self(), false, a.voterCandidates(bonded), now.Sub(r.joinedAt), a.consensus().BootstrapDelay) {
		return
	}
	g, err := groups.NewGenesis(nil)
	if err != nil {
		return
	}
	a.startReplica(ctx, g, groups.ReplicaID(a.self(), nextIncarnation()), false)
}

// startReplica starts this member's replica of the shard named by g: as
// its only member (bootstrap) or joining a running shard as non-voting.
func (a *groupActor) startReplica(ctx actor.Context, g groups.Genesis, replica uint64, join bool) {
	a.launchReplica(ctx, g, replica, join, join, false)
}

// launchReplica starts a replica: as a shard's first member, joining a
// running shard, or (restart) again from its durable log with the voting
// mode it was first started with.
func (a *groupActor) launchReplica(ctx actor.Context, g groups.Genesis, replica uint64, join, nonVoting, restart bool) {
	r := &a.rs
	r.starting = true
	shard := groups.ShardID(a.grp.id, g)
	nh, cfg := a.host().nh, a.shardConfig(replica, shard, nonVoting)
	machine := a.grp.cfg.Machine
	grp := a.grp
	// Progress starts over with each replica: the last one's figures
	// belong to another log (a lost shard's, the one a lone survivor
	// left), and claiming them for this one would skew rival resolution
	// and loss reports. Its apply goroutine may still report while it
	// stops, so reports of other shards are ignored.
	r.active.Store(shard)
	r.applied.Store(0)
	r.own.Store(0)
	grp.applied.Set(0)
	create := statemachine.DragonboatTracked(machine, a.grp.id, func(p statemachine.Progress) {
		if r.active.Load() != shard {
			return
		}
		index := p.Index
		r.applied.Store(index)
		r.own.Store(p.Commands)
		grp.applied.Set(index)
		grp.metrics.SetCommitted(index)
	})
	members := map[uint64]dragonboat.Target{replica: a.self().String()}
	if join || restart {
		members = nil
	}
	a.host().register(shard, ctx.Self())
	owner, gid := a.grp.owner, a.grp.id
	rec := replicaRecord{Genesis: g.String(), Replica: replica, NonVoting: nonVoting}
	a.tasks.Go(ctx, func(context.Context) any {
		err := nh.StartConcurrentReplica(members, join, create, cfg)
		if errors.Is(err, dragonboat.ErrShardAlreadyExist) {
			err = nil // a restarted group actor finds its replica running
		}
		if err == nil {
			err = owner.saveRecord(gid, rec)
		}
		return &replicaStarted{genesis: g, replica: replica, err: err}
	})
}

// recordLoaded restarts the replica a previous run of this node left in
// the data directory, or lets the member find a shard as usual.
func (a *groupActor) recordLoaded(ctx actor.Context, m *recordLoaded) {
	r := &a.rs
	r.starting = false
	if !m.ok {
		return
	}
	g, _ := m.rec.genesis()
	a.launchReplica(ctx, g, m.rec.Replica, false, m.rec.NonVoting, true)
}

func (a *groupActor) replicaStarted(ctx actor.Context, m *replicaStarted) {
	r := &a.rs
	r.starting = false
	if m.err != nil {
		a.host().unregister(groups.ShardID(a.grp.id, m.genesis))
		return
	}
	r.running, r.genesis, r.replica = true, m.genesis, m.replica
	a.publishConsensus()
	a.advertiseShard(ctx)
	// The replica may have heard its leader before this message arrived,
	// when leaderUpdated still ignored its shard; dragonboat reports a
	// leader only when it changes, so ask.
	a.pollLeader(ctx)
}

// pollLeader asks the replication engine for the shard's leader, for the
// leader events this member may have missed (one that came before the
// replica was known to be running, or named a replica whose owner the
// catalog did not list yet).
func (a *groupActor) pollLeader(ctx actor.Context) {
	r := &a.rs
	shard := groups.ShardID(a.grp.id, r.genesis)
	leader, term, valid, err := a.host().nh.GetLeaderID(shard)
	if err != nil || !valid || (leader == 0 && term <= r.term) {
		return
	}
	a.leaderUpdated(ctx, &leaderUpdated{info: raftio.LeaderInfo{ShardID: shard, ReplicaID: r.replica, Term: term, LeaderID: leader}})
}

// advertiseShard puts the member's genesis and replica in its entry.
func (a *groupActor) advertiseShard(ctx actor.Context) {
	disc, gid := a.grp.owner.p.Discovery, a.grp.id
	ad := discovery.ShardAd{Genesis: a.rs.genesis.Bytes(), Replica: a.rs.replica, Observer: a.grp.cfg.Leadership.Observer}
	a.tasks.Go(ctx, func(tctx context.Context) any {
		_ = disc.UpdateLocal(tctx, func(e *discovery.Entry) {
			if e.Shards == nil {
				e.Shards = map[id.GroupID]discovery.ShardAd{}
			}
			e.Shards[gid] = ad
		})
		return nil
	})
}

func (a *groupActor) leaderUpdated(ctx actor.Context, m *leaderUpdated) {
	r := &a.rs
	if m.info.ShardID != groups.ShardID(a.grp.id, r.genesis) {
		return
	}
	r.term = m.info.Term
	r.leader = id.PeerID{}
	if m.info.LeaderID != 0 {
		if p, ok := a.replicaOwner(m.info.LeaderID); ok {
			r.leader = p
		}
	}
	a.grp.metrics.ObserveLeader(m.info.Term, m.info.LeaderID, r.leader == a.self())
	a.publishConsensus()
	a.install(ctx)
}

// replicaOwner maps a replica id of our shard to its peer, from what
// members advertise (and our own replica).
func (a *groupActor) replicaOwner(replica uint64) (id.PeerID, bool) {
	if replica == a.rs.replica {
		return a.self(), true
	}
	owners := a.replicaOwners()
	p, ok := owners[replica]
	return p, ok
}

func (a *groupActor) replicaOwners() map[uint64]id.PeerID {
	owners := map[uint64]id.PeerID{}
	if a.rs.replica != 0 {
		owners[a.rs.replica] = a.self()
	}
	for _, e := range a.grp.owner.p.Discovery.Catalog().Peers() {
		if ad, ok := e.Shards[a.grp.id]; ok && ad.Replica != 0 {
			if g, err := groups.GenesisFromBytes(ad.Genesis); err == nil && g == a.rs.genesis {
				owners[ad.Replica] = e.Peer
			}
		}
	}
	return owners
}

// joinRequested answers a member that wants to join our shard: the leader
// adds it as non-voting; anyone else points at the leader.
func (a *groupActor) joinRequested(ctx actor.Context, from id.PeerID, req *messages.JoinRequest) {
	r := &a.rs
	reply := &messages.JoinReply{Genesis: req.GetGenesis(), ReplicaId: req.GetReplicaId()}
	g, err := groups.GenesisFromBytes(req.GetGenesis())
	switch {
	case err != nil || !r.running || g != r.genesis:
		reply.Reason = "not a member of that shard"
	case r.leader != a.self():
		reply.Reason = "not the leader"
		if !r.leader.IsZero() {
			reply.Leader = r.leader.Proto()
		}
	case r.owners[req.GetReplicaId()] == from:
		// A retry of a join that succeeded while its answer was lost (the
		// add timed out here, yet committed): answer it again, or the
		// peer would wait for good while its replica holds a seat.
		reply.Accepted = true
	case a.hasReplica(from):
		// The peer still holds a replica in the config (an old one it
		// lost): the committee round removes that first, then adds the
		// new one and answers. The peer keeps asking meanwhile.
		r.joiners[from] = req.GetReplicaId()
		return
	default:
		nh, shard, timeout := a.host().nh, groups.ShardID(a.grp.id, r.genesis), a.consensus().ForwardTimeout
		replica := req.GetReplicaId()
		a.tasks.Go(ctx, func(tctx context.Context) any {
			tctx, cancel := context.WithTimeout(tctx, timeout)
			defer cancel()
			err := nh.SyncRequestAddNonVoting(tctx, shard, replica, from.String(), 0)
			if err != nil {
				reply.Reason = err.Error()
			} else {
				reply.Accepted = true
			}
			return &joinAnswer{to: from, reply: reply}
		})
		return
	}
	a.sendTo(from, &messages.BondMessage{Kind: &messages.BondMessage_JoinReply{JoinReply: reply}})
}

func (a *groupActor) joinReplied(ctx actor.Context, from id.PeerID, rep *messages.JoinReply) {
	r := &a.rs
	if r.running || r.starting || rep.GetReplicaId() != r.replica {
		return
	}
	g, err := groups.GenesisFromBytes(rep.GetGenesis())
	if err != nil {
		return
	}
	if rep.GetAccepted() {
		a.startReplica(ctx, g, r.replica, true)
		return
	}
	if leader, err := id.PeerIDFromProto(rep.GetLeader()); err == nil && leader != from {
		// Ask the leader at once rather than on the next tick.
		a.sendTo(leader, &messages.BondMessage{Kind: &messages.BondMessage_JoinRequest{JoinRequest: &messages.JoinRequest{
			Genesis: rep.GetGenesis(), ReplicaId: r.replica,
		}}})
	}
}

// readMembership starts the leader's committee round: read the shard's
// membership, then make at most one change.
func (a *groupActor) readMembership(ctx actor.Context) {
	a.rs.changing = true
	nh, shard, timeout := a.host().nh, groups.ShardID(a.grp.id, a.rs.genesis), a.consensus().ForwardTimeout
	a.tasks.Go(ctx, func(tctx context.Context) any {
		tctx, cancel := context.WithTimeout(tctx, timeout)
		defer cancel()
		m, err := nh.SyncGetShardMembership(tctx, shard)
		return &membershipRead{m: m, err: err}
	})
}

// hasReplica reports whether peer holds a replica in the shard's config,
// as the last membership read saw it.
func (a *groupActor) hasReplica(peer id.PeerID) bool {
	for _, p := range a.rs.owners {
		if p == peer {
			return true
		}
	}
	return false
}

// changeDone ends a committee round; an added joiner is told to start.
func (a *groupActor) changeDone(m *changeDone) {
	r := &a.rs
	r.changing = false
	if m.err != nil || m.change.Kind != groups.AddNonVoting {
		return
	}
	if want, ok := r.joiners[m.change.Peer]; ok && want == m.change.Replica {
		delete(r.joiners, m.change.Peer)
		a.sendTo(m.change.Peer, &messages.BondMessage{Kind: &messages.BondMessage_JoinReply{JoinReply: &messages.JoinReply{
			Genesis: r.genesis.Bytes(), ReplicaId: m.change.Replica, Accepted: true,
		}}})
	}
}

// caughtUpSlack is how far behind the leader's applied index a non-voting
// member may be and still be promoted: it is then a few batches away.
const caughtUpSlack = 64

func (a *groupActor) membershipRead(ctx actor.Context, m *membershipRead) {
	r := &a.rs
	if m.err != nil || r.leader != a.self() {
		r.changing = false
		return
	}
	owners := map[uint64]id.PeerID{}
	for rid, addr := range m.m.Nodes {
		if p, err := id.ParsePeerID(addr); err == nil {
			owners[rid] = p
		}
	}
	for rid, addr := range m.m.NonVotings {
		if p, err := id.ParsePeerID(addr); err == nil {
			owners[rid] = p
		}
	}
	a.host().learnReplicas(groups.ShardID(a.grp.id, r.genesis), owners)
	r.owners = owners
	a.grp.metrics.SetCommittee(len(m.m.Nodes), len(m.m.NonVotings))
	if r.voters != len(m.m.Nodes) {
		r.voters = len(m.m.Nodes)
		a.publishConsensus()
	}
	now, leaderApplied := time.Now(), r.applied.Load()
	snap := a.grp.owner.p.Discovery.Catalog()
	member := func(rid uint64, voter bool) groups.Member {
		p := owners[rid]
		mb := groups.Member{Peer: p, Replica: rid, Voter: voter, Alive: p == a.self()}
		if e, ok := snap.Get(p); ok {
			mb.Observer = e.Shards[a.grp.id].Observer
		}
		if ref, ok := a.bonds[p]; ok && ref.up {
			mb.Alive = true
		} else if since, ok := r.downSince[p]; ok {
			mb.DeadFor = now.Sub(since)
		}
		mb.CaughtUp = p == a.self() || r.progress[p]+caughtUpSlack >= leaderApplied
		return mb
	}
	var members []groups.Member
	for rid := range m.m.Nodes {
		members = append(members, member(rid, true))
	}
	for rid := range m.m.NonVotings {
		members = append(members, member(rid, false))
	}
	for p, rid := range r.joiners {
		if _, added := owners[rid]; added {
			delete(r.joiners, p)
			continue
		}
		ref, up := a.bonds[p]
		members = append(members, groups.Member{Peer: p, Replica: rid, Joining: true, Alive: up && ref.up})
	}
	c := a.consensus()
	deadAfter := a.replaceAfter()
	change, ok := groups.NextChange(members, a.self(), groups.DefaultMaxVoters, deadAfter)
	if !ok {
		r.changing = false
		return
	}
	nh, shard, ccid, timeout := a.host().nh, groups.ShardID(a.grp.id, r.genesis), m.m.ConfigChangeID, c.ForwardTimeout
	target := change.Peer.String()
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
		return &changeDone{change: change, err: err}
	})
}

func (a *groupActor) publishConsensus() {
	r := &a.rs
	// A re-formed shard is not open for commands until its state is
	// installed: anything applied before would be overwritten.
	c := Consensus{Genesis: r.genesis, Replica: r.replica, Running: r.running && r.pendingInstall == nil, Leader: r.leader, Term: r.term}
	if r.leader == a.self() {
		c.Voters = r.voters
	}
	c.Failed = r.failed
	if r.running {
		c.Shard = groups.ShardID(a.grp.id, r.genesis)
	}
	a.grp.consensus.Set(c)
}

// removed notices that the shard's leader removed this member's replica
// (to keep the committee odd, or because it looked dead): dragonboat then
// unloads the shard here. The member is still in the group, so it drops
// its replica state and joins the shard again, with a new replica id, on
// the next tick.
func (a *groupActor) removed() bool {
	r := &a.rs
	shard := groups.ShardID(a.grp.id, r.genesis)
	if _, _, _, err := a.host().nh.GetLeaderID(shard); !errors.Is(err, dragonboat.ErrShardNotFound) {
		return false
	}
	a.host().unregister(shard)
	a.grp.owner.dropRecord(a.grp.id)
	r.running, r.replica, r.leader, r.term, r.voters = false, 0, id.PeerID{}, 0, 0
	r.askedJoin = time.Time{}
	a.publishConsensus()
	return true
}

// checkLoneSurvivor re-forms the group from this member's own state when
// it has had no leader and no bond to any other member of its shard for
// longer than ReformThreshold (unless StrictQuorum or an observer): a
// partition or the death of every other voter must not leave the
// survivor offline for good. When the others come back, the longer log
// wins (rival resolution).
func (a *groupActor) checkLoneSurvivor(ctx actor.Context, now time.Time) {
	r := &a.rs
	for _, e := range a.grp.owner.p.Discovery.Catalog().Peers() {
		if ad, ok := e.Shards[a.grp.id]; ok && !ad.Observer {
			if g, err := groups.GenesisFromBytes(ad.Genesis); err == nil && g == r.genesis {
				r.members[e.Peer] = true
			}
		}
	}
	reachable := 0
	for p := range r.members {
		if ref, ok := a.bonds[p]; ok && ref.up {
			reachable++
		}
	}
	if !r.leader.IsZero() {
		r.leaderlessSince = time.Time{}
	} else if r.leaderlessSince.IsZero() {
		r.leaderlessSince = now
	}
	if !r.leaderlessSince.IsZero() && now.Sub(r.leaderlessSince) > a.replaceAfter() && a.peerLed() {
		// A reachable member of our shard knows a leader, yet we have
		// heard none for as long as a leader waits before replacing a
		// silent voter: the shard went on without us (our replica was
		// removed while we were cut off, and the news never reached us).
		// Drop the replica and join again. Where nobody knows a leader
		// the shard has lost it, and dropping replicas could leave it
		// with none.
		a.rejoin(ctx)
		return
	}
	if reachable > 0 || !r.leader.IsZero() || r.lastContact.IsZero() {
		r.lastContact = now
		return
	}
	if a.grp.cfg.Leadership.Observer || r.reforming || r.pendingInstall != nil ||
		!groups.ShouldReform(reachable, len(r.members), now.Sub(r.lastContact), groups.ReformThreshold(a.consensus()), a.grp.cfg.StrictQuorum) {
		return
	}
	r.reforming = true
	nh, shard := a.host().nh, groups.ShardID(a.grp.id, r.genesis)
	a.tasks.Go(ctx, func(context.Context) any {
		out, err := nh.StaleRead(shard, &statemachine.StateQuery{})
		if err != nil {
			return &reformState{err: err}
		}
		return &reformState{state: out.(*statemachine.IndexedResult).Result}
	})
}

// peerLed reports whether a member of our shard we are bonded with said
// in its last Progress that it knows a leader.
func (a *groupActor) peerLed() bool {
	for p, term := range a.rs.peerTerms {
		if ref, ok := a.bonds[p]; ok && ref.up && term > 0 {
			return true
		}
	}
	return false
}

// replaceAfter is how long a voter may be silent before the leader
// replaces it (GroupConfig.ReplaceAfter, or its default).
func (a *groupActor) replaceAfter() time.Duration {
	if d := a.grp.cfg.ReplaceAfter; d > 0 {
		return d
	}
	c := a.consensus()
	return 5*time.Duration(c.MaxMissedHeartbeats)*c.HeartbeatInterval + c.ElectionTimeout
}

// rejoin drops this member's replica, which its shard no longer counts,
// and lets findShard join the shard again with a new replica id.
func (a *groupActor) rejoin(ctx actor.Context) {
	r := &a.rs
	a.grp.owner.dropRecord(a.grp.id)
	shard, replica, nh := groups.ShardID(a.grp.id, r.genesis), r.replica, a.host().nh
	a.stopReplica()
	r.replica, r.leader, r.term, r.voters = 0, id.PeerID{}, 0, 0
	r.leaderlessSince, r.askedJoin = time.Time{}, time.Time{}
	r.starting = true // until the old data is gone
	a.publishConsensus()
	timeout := a.consensus().ForwardTimeout
	a.tasks.Go(ctx, func(tctx context.Context) any {
		tctx, cancel := context.WithTimeout(tctx, timeout)
		defer cancel()
		_ = nh.SyncRemoveData(tctx, shard, replica)
		return &rivalResolved{}
	})
}

// reform replaces the lost shard with a new one of this member alone,
// whose first command installs the state it had.
func (a *groupActor) reform(ctx actor.Context, m *reformState) {
	r := &a.rs
	r.reforming = false
	if m.err != nil || !r.running {
		return
	}
	old, replica, nh := groups.ShardID(a.grp.id, r.genesis), r.replica, a.host().nh
	a.stopReplica()
	r.members, r.progress, r.peerTerms = map[id.PeerID]bool{}, map[id.PeerID]uint64{}, map[id.PeerID]uint64{}
	r.leader, r.term, r.voters, r.lastContact = id.PeerID{}, 0, 0, time.Time{}
	a.tasks.Go(ctx, func(tctx context.Context) any {
		_ = nh.SyncRemoveData(tctx, old, replica)
		return nil
	})
	g, err := groups.NewGenesis(nil)
	if err != nil {
		return
	}
	r.pendingInstall = m.state
	a.startReplica(ctx, g, groups.ReplicaID(a.self(), nextIncarnation()), false)
}

// install proposes the pending state as the re-formed shard's first
// command, once this member leads it.
func (a *groupActor) install(ctx actor.Context) {
	r := &a.rs
	if r.pendingInstall == nil || r.installing || !r.running || r.leader != a.self() {
		return
	}
	r.installing = true
	nh, shard, entry, timeout := a.host().nh, groups.ShardID(a.grp.id, r.genesis), statemachine.EncodeInstall(r.pendingInstall), a.consensus().ForwardTimeout
	a.tasks.Go(ctx, func(tctx context.Context) any {
		tctx, cancel := context.WithTimeout(tctx, timeout)
		defer cancel()
		res, err := nh.SyncPropose(tctx, nh.GetNoOPSession(shard), entry)
		if err == nil {
			err = statemachine.ResultError(res)
		}
		return &installDone{err: err}
	})
}

func (a *groupActor) installDone(m *installDone) {
	r := &a.rs
	r.installing = false
	if m.err == nil {
		r.pendingInstall = nil
		a.publishConsensus()
	}
	// On failure the next leader event or tick tries again.
}

// machineFailedNow stops a replica whose state machine failed: it can no
// longer apply what the others apply, so it must not keep voting or
// answering reads. The group stays joined (bonds, catalog) so that the
// failure is visible, and every call returns the error.
func (a *groupActor) machineFailedNow(m *machineFailed) {
	if a.rs.failed != nil {
		return
	}
	a.rs.failed = fmt.Errorf("actors: group %s stopped: %w", a.grp.id.Short(), m.err)
	a.stopReplica()
	a.publishConsensus()
}

// rival handles news of another shard of the same group (two members
// bootstrapped independently, e.g. before they could see each other).
// The shard with the longer committed log wins (tie: lower genesis), as
// in the reference; a member of the losing shard drops its replica and
// data and joins the winner. What it had committed is discarded: that
// count is reported on the group's Rivals value, and the loss as a
// RivalLoss event.
func (a *groupActor) rival(ctx actor.Context, theirs groups.ShardClaim) {
	r := &a.rs
	if !r.running || r.starting {
		a.rs.claims[theirs.Genesis] = max(a.rs.claims[theirs.Genesis], theirs.Committed)
		return
	}
	ours := groups.ShardClaim{Genesis: r.genesis, Committed: r.applied.Load()}
	if groups.Winner(ours, theirs) == ours {
		return
	}
	discarded := ours.Committed
	loss := &RivalLoss{Lost: r.genesis, Winner: theirs.Genesis}
	shard, replica := groups.ShardID(a.grp.id, r.genesis), r.replica
	a.grp.owner.dropRecord(a.grp.id)
	nh := a.host().nh
	a.stopReplica()
	r.genesis, r.replica, r.leader, r.term, r.voters = groups.Genesis{}, 0, id.PeerID{}, 0, 0
	r.progress, r.members, r.peerTerms = map[id.PeerID]uint64{}, map[id.PeerID]bool{}, map[id.PeerID]uint64{}
	r.pendingInstall, r.lastContact = nil, time.Time{}
	r.claims[theirs.Genesis] = theirs.Committed
	r.starting = true // until the old data is gone
	a.publishConsensus()
	a.grp.metrics.RivalLost(discarded)
	timeout := a.consensus().ForwardTimeout
	a.tasks.Go(ctx, func(tctx context.Context) any {
		tctx, cancel := context.WithTimeout(tctx, timeout)
		defer cancel()
		// A removed replica id never comes back (the next one is new),
		// but its data must go before the disk fills with dead shards.
		_ = nh.SyncRemoveData(tctx, shard, replica)
		return &rivalResolved{loss: loss}
	})
}

// rivalResolved reports a rival loss once the lost replica has stopped,
// with what it had applied by then: commands committed while it was
// being stopped were acknowledged too, and are discarded with the rest.
func (a *groupActor) rivalResolved(m *rivalResolved) {
	r := &a.rs
	r.starting = false
	if m.loss == nil {
		return
	}
	m.loss.Entries, m.loss.Commands = r.applied.Load(), r.own.Load()
	a.grp.rivals.Set(a.grp.rivals.Get().Plus(RivalMerge{Lost: 1, Discarded: m.loss.Entries, Commands: m.loss.Commands}))
	a.grp.losses.Publish(*m.loss)
}

// RivalMerge counts what this member lost to rival shards.
type RivalMerge struct {
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
func (m RivalMerge) Plus(o RivalMerge) RivalMerge {
	return RivalMerge{Lost: m.Lost + o.Lost, Discarded: m.Discarded + o.Discarded, Commands: m.Commands + o.Commands}
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

// stopReplica stops the member's replica when the group is left.
func (a *groupActor) stopReplica() {
	r := &a.rs
	if !r.running {
		return
	}
	shard := groups.ShardID(a.grp.id, r.genesis)
	_ = a.host().nh.StopShard(shard)
	a.host().unregister(shard)
	r.running = false
	a.publishConsensus()
}

// sendTo queues msg on the bond to peer, if it is up.
func (a *groupActor) sendTo(peer id.PeerID, msg *messages.BondMessage) {
	if ref, ok := a.bonds[peer]; ok && ref.up {
		a.grp.owner.sys.Root().Send(ref.pid, msg)
	}
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
			return sm.Result{}, dragonboat.ErrShardClosed
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
		if !dragonboat.IsTempError(err) && !errors.Is(err, context.DeadlineExceeded) {
			return nil, 0, fmt.Errorf("actors: read: %w", err)
		}
	}
}

// Rivals reports what this member's shards lost to rival shards.
func (grp *Group) Rivals() RivalMerge { return grp.rivals.Get() }

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
