package groups

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/mosaikgo/mosaik/id"
)

// The shard lifecycle: every decision a member takes about its replica of
// the group's shard, as a step machine in the style of etcd-io/raft. The
// group actor feeds it events (ticks, bonds, the catalog, what peers and
// the replication engine report, results of the work it asked for) with
// the logical time they happened at, and carries out the actions each
// step returns. Nothing here reads a clock, draws randomness of its own
// or talks to anyone, so every window of a failover can be replayed in a
// test (lifecycle_test.go, testdata/lifecycle).
//
// A member is in one phase at a time:
//
//	Loading ──► Seeking ──► Starting ──► Running ──► Reforming ──► Starting (new shard)
//	   │           ▲                        │
//	   │           └──────── Wiping ◄───────┘ (lost to a rival, or removed)
//	   └──► Starting (restart from the data directory)
//
// plus Failed (the state machine failed) and Left, which end it. The
// rules of each phase are at its step function; the failover rules, which
// decide what a member whose leader or quorum is gone does, are at
// [Lifecycle.stepRunning] and [Lifecycle.checkQuorum].

// Phase is where a member is in its shard's lifecycle.
type Phase uint8

// The phases; see the diagram above.
const (
	// PhaseLoading: reading the replica record a previous run left.
	PhaseLoading Phase = iota
	// PhaseSeeking: no shard; waiting to bootstrap one or asking to join.
	PhaseSeeking
	// PhaseStarting: a replica is being started.
	PhaseStarting
	// PhaseRunning: the replica runs.
	PhaseRunning
	// PhaseReforming: the replica runs, cut off from its quorum; the
	// member reads its state to start a new shard from it.
	PhaseReforming
	// PhaseWiping: the replica was stopped; its data is being removed
	// before the member seeks a shard again.
	PhaseWiping
	// PhaseFailed: the state machine failed; the replica is stopped for
	// good.
	PhaseFailed
	// PhaseLeft: the member left the group.
	PhaseLeft
)

// String names the phase for logs and views.
func (p Phase) String() string {
	switch p {
	case PhaseLoading:
		return "loading"
	case PhaseSeeking:
		return "seeking"
	case PhaseStarting:
		return "starting"
	case PhaseRunning:
		return "running"
	case PhaseReforming:
		return "reforming"
	case PhaseWiping:
		return "wiping"
	case PhaseFailed:
		return "failed"
	case PhaseLeft:
		return "left"
	}
	return "unknown"
}

// LifecycleConfig is what a member's lifecycle needs to know about itself
// and its group.
type LifecycleConfig struct {
	// Self is the member's peer id.
	Self id.PeerID
	// Consensus holds the group's timings; zero fields take defaults.
	Consensus ConsensusConfig
	// Observer members replicate but never vote, lead or re-form.
	Observer bool
	// StrictQuorum keeps a member cut off from its quorum offline instead
	// of re-forming.
	StrictQuorum bool
	// ReplaceAfter is how long a voter's bond must be down before the
	// leader replaces it; zero means [DefaultReplaceAfter].
	ReplaceAfter time.Duration
	// MaxVoters caps the committee; zero means [DefaultMaxVoters].
	MaxVoters int
	// NewGenesis draws the genesis of a shard this member founds.
	NewGenesis func() (Genesis, error)
	// NewReplica draws a replica id for this member that was never used
	// before ([ReplicaID] of a fresh incarnation).
	NewReplica func() uint64
}

// DefaultReplaceAfter is how long a voter's bond may stay down before the
// leader replaces it, when the group sets no ReplaceAfter: five
// failure-detection windows plus an election timeout, so that a node that
// restarts finds its seat still there.
func DefaultReplaceAfter(c ConsensusConfig) time.Duration {
	c = c.WithDefaults()
	return 5*time.Duration(c.MaxMissedHeartbeats)*c.HeartbeatInterval + c.ElectionTimeout
}

// CaughtUpSlack is how far behind the leader's applied index a non-voting
// member may be and still be promoted: it is then a few batches away.
const CaughtUpSlack = 64

// Record is what a member keeps in its data directory about its replica,
// so that a restarted node restarts it instead of joining as a stranger.
// dragonboat requires a replica to restart with the id and the voting
// mode it was first started with.
type Record struct {
	Genesis   Genesis
	Replica   uint64
	NonVoting bool
}

// ReplicaStatus is the replica as the replication engine reports it on
// this member: read by the actor on every tick and whenever the engine
// reports a change.
type ReplicaStatus struct {
	// Genesis names the shard the status is of; a status of another
	// shard than the member's is stale and ignored.
	Genesis Genesis
	// Found: the engine hosts the replica. A replica the engine unloaded
	// by itself was removed from its shard.
	Found bool
	// Applied is the log index of the last command applied (see
	// statemachine.Progress), Commands the member's own commands.
	Applied, Commands uint64
	// LeaderReplica is the leader's replica id; 0 while none is known.
	LeaderReplica uint64
	// Term is the current Raft term.
	Term uint64
	// Voters maps the voting replicas of the shard's configuration, as
	// far as this replica has applied it, to their peers. Empty until the
	// replica has applied a configuration.
	Voters map[uint64]id.PeerID
	// ConfigChangeID identifies that configuration.
	ConfigChangeID uint64
}

// Progress is what a member tells its bonded peers on every tick, and at
// once when something they act on changes (see messages.Progress).
type Progress struct {
	// Genesis is the sender's shard; zero when it runs none.
	Genesis Genesis
	// Replica is the sender's replica in that shard.
	Replica uint64
	// Applied is the log index the sender has applied (for a shard it
	// re-formed and is still installing, the index it will have).
	Applied uint64
	// Term is the Raft term the sender knows.
	Term uint64
	// Leader: the sender leads its shard in Term.
	Leader bool
	// KnowsLeader: the sender follows a leader it can reach.
	KnowsLeader bool
	// Committee is the leader's view of the committee; nil from others.
	Committee *Committee
	// Parent is the shard the sender's shard was re-formed from, if the
	// sender re-formed it.
	Parent Genesis
}

// Committee is a shard's configuration as its leader last read it.
type Committee struct {
	ConfigChangeID uint64
	// Voters and NonVoting are replica ids.
	Voters, NonVoting []uint64
	// Settled: no member is waiting to be promoted; a non-voting member
	// listed here has finished joining.
	Settled bool
}

// Lists reports whether replica is in the committee, voting or not.
func (c *Committee) Lists(replica uint64) bool {
	return c != nil && (slices.Contains(c.Voters, replica) || slices.Contains(c.NonVoting, replica))
}

// Membership is a shard's full configuration, read through its leader.
type Membership struct {
	ConfigChangeID uint64
	Voters         map[uint64]id.PeerID
	NonVoting      map[uint64]id.PeerID
}

// CatalogMember is a member of the group as the catalog lists it.
type CatalogMember struct {
	Peer id.PeerID
	// Genesis and Replica are what it advertises; zero if nothing.
	Genesis  Genesis
	Replica  uint64
	Observer bool
}

// An Event is something that happened to the member, fed to
// [Lifecycle.Step].
type Event interface{ isEvent() }

// The events.
type (
	// Tick is the periodic step: every HeartbeatInterval.
	Tick struct{ Status ReplicaStatus }
	// StatusChanged: the engine reported a new leader or configuration.
	StatusChanged struct{ Status ReplicaStatus }
	// CatalogChanged carries the group's members as the catalog lists
	// them now (all of them: it replaces the last list).
	CatalogChanged struct{ Members []CatalogMember }
	// BondUp and BondDown: a bond with a member came up or went down.
	BondUp   struct{ Peer id.PeerID }
	BondDown struct{ Peer id.PeerID }
	// ProgressHeard: a bonded member sent its Progress.
	ProgressHeard struct {
		From     id.PeerID
		Progress Progress
	}
	// JoinRequested: a member asks to join our shard with Replica.
	JoinRequested struct {
		From    id.PeerID
		Genesis Genesis
		Replica uint64
	}
	// JoinAnswered: a member answered our JoinRequest.
	JoinAnswered struct {
		From     id.PeerID
		Genesis  Genesis
		Replica  uint64
		Accepted bool
		// Leader, if not zero, is who to ask instead.
		Leader id.PeerID
	}
	// RecordLoaded: the record is read (nil: there was none).
	RecordLoaded struct {
		Record *Record
		Err    error
	}
	// ReplicaStarted: a StartReplica finished.
	ReplicaStarted struct {
		Genesis Genesis
		Replica uint64
		Err     error
	}
	// MembershipRead: a ReadMembership of the shard named by Genesis
	// finished. (Each result of work on a shard names it: a result that
	// comes back after the member moved on to another shard is stale.)
	MembershipRead struct {
		Genesis    Genesis
		Membership Membership
		Err        error
	}
	// ChangeDone: a ChangeConfig finished.
	ChangeDone struct {
		Genesis Genesis
		Change  ConfigChange
		Err     error
	}
	// StateRead: a ReadState finished with the whole state and the
	// applied index it reflects.
	StateRead struct {
		Genesis Genesis
		State   []byte
		Applied uint64
		Err     error
	}
	// InstallDone: a ProposeInstall finished.
	InstallDone struct {
		Genesis Genesis
		Err     error
	}
	// DataRemoved: a RemoveData finished (whatever its outcome: a replica
	// id is never used again, so leftovers only cost disk).
	DataRemoved struct{ Genesis Genesis }
	// MachineFailed: the state machine failed.
	MachineFailed struct{ Err error }
	// Leave: the member leaves the group (or its node closes).
	Leave struct{}
)

func (Tick) isEvent()           {}
func (StatusChanged) isEvent()  {}
func (CatalogChanged) isEvent() {}
func (BondUp) isEvent()         {}
func (BondDown) isEvent()       {}
func (ProgressHeard) isEvent()  {}
func (JoinRequested) isEvent()  {}
func (JoinAnswered) isEvent()   {}
func (RecordLoaded) isEvent()   {}
func (ReplicaStarted) isEvent() {}
func (MembershipRead) isEvent() {}
func (ChangeDone) isEvent()     {}
func (StateRead) isEvent()      {}
func (InstallDone) isEvent()    {}
func (DataRemoved) isEvent()    {}
func (MachineFailed) isEvent()  {}
func (Leave) isEvent()          {}

// An Action is work a step asks the actor to do. Actions marked "then"
// report back with the event named.
type Action interface{ isAction() }

// The actions.
type (
	// LoadRecord reads the replica record; then RecordLoaded.
	LoadRecord struct{}
	// StartReplica starts a replica of the shard named by Genesis: as its
	// only member (Bootstrap), joining it as non-voting (Join), or again
	// from the data directory (neither) with the voting mode it was first
	// started with. The actor saves the record once it runs; then
	// ReplicaStarted.
	StartReplica struct {
		Genesis   Genesis
		Replica   uint64
		Bootstrap bool
		Join      bool
		NonVoting bool
	}
	// StopReplica stops the replica (at once; the engine finishes in the
	// background).
	StopReplica struct {
		Genesis Genesis
		Replica uint64
	}
	// RemoveData deletes a stopped replica's data; then DataRemoved.
	RemoveData struct {
		Genesis Genesis
		Replica uint64
	}
	// DropRecord forgets the replica record.
	DropRecord struct{}
	// Advertise puts the shard the member runs in its catalog entry
	// (zero Genesis: none).
	Advertise struct {
		Genesis Genesis
		Replica uint64
	}
	// SendProgress sends the Progress on every bond that is up.
	SendProgress struct{ Progress Progress }
	// SendJoinRequest asks the members To to add Replica to Genesis.
	SendJoinRequest struct {
		To      []id.PeerID
		Genesis Genesis
		Replica uint64
	}
	// SendJoinReply answers a JoinRequest.
	SendJoinReply struct {
		To       id.PeerID
		Genesis  Genesis
		Replica  uint64
		Accepted bool
		Leader   id.PeerID
		Reason   string
	}
	// ReadMembership reads the shard's configuration through its leader;
	// then MembershipRead.
	ReadMembership struct{}
	// ChangeConfig makes one configuration change, ordered after the
	// configuration ConfigChangeID names; then ChangeDone.
	ChangeConfig struct {
		Change         ConfigChange
		ConfigChangeID uint64
	}
	// ReadState reads the replica's whole state; then StateRead.
	ReadState struct{}
	// ProposeInstall proposes the install entry that makes a re-formed
	// shard start from State, continuing the log after index Base; then
	// InstallDone.
	ProposeInstall struct {
		State []byte
		Base  uint64
	}
	// Campaign makes the replica stand for election now instead of when
	// its election timeout runs out. It is asked for only while the
	// replica is the only voter of a shard this member bootstrapped, so
	// nobody else could lead; the engine ignores it where it cannot
	// campaign yet (its bootstrap configuration not applied), and the
	// next tick asks again.
	Campaign struct {
		Genesis Genesis
		Replica uint64
	}
	// ReportRivalLoss reports that the member's shard Lost to Winner, with
	// what it had applied when it stopped.
	ReportRivalLoss struct{ Lost, Winner Genesis }
	// Publish hands the member's new view to its readers.
	Publish struct{ View View }
)

func (LoadRecord) isAction()      {}
func (StartReplica) isAction()    {}
func (StopReplica) isAction()     {}
func (RemoveData) isAction()      {}
func (DropRecord) isAction()      {}
func (Advertise) isAction()       {}
func (SendProgress) isAction()    {}
func (SendJoinRequest) isAction() {}
func (SendJoinReply) isAction()   {}
func (ReadMembership) isAction()  {}
func (ChangeConfig) isAction()    {}
func (ReadState) isAction()       {}
func (ProposeInstall) isAction()  {}
func (Campaign) isAction()        {}
func (ReportRivalLoss) isAction() {}
func (Publish) isAction()         {}

// View is a member's consensus as its readers see it.
type View struct {
	Phase   Phase
	Genesis Genesis
	Replica uint64
	// Running: the replica runs and takes commands (a re-formed shard
	// does once its state is installed).
	Running bool
	// Leader is the leader this member can reach; zero while there is
	// none (no leader, or one this member has lost contact with).
	Leader id.PeerID
	Term   uint64
	// Voters is the size of the committee, as far as this member's
	// replica has applied the configuration.
	Voters int
	// Voter: this member's replica votes.
	Voter bool
	// Joined: the member has finished joining: it is a voter, or a
	// non-voting member the leader does not mean to promote (the
	// committee is complete without it, or it is an observer).
	Joined bool
	// Reason says why the member is offline; empty when online.
	Reason string
	// Failed is the state machine's failure, once it failed.
	Failed error
}

// Online reports whether commands can be submitted here: the replica
// runs, a reachable leader is known, and the member has joined.
func (v View) Online() bool { return v.Running && !v.Leader.IsZero() && v.Joined }

// Reasons a member is offline, as View.Reason says them.
const (
	ReasonLoading       = "loading the data directory"
	ReasonSeeking       = "looking for the group's shard"
	ReasonStarting      = "starting the replica"
	ReasonNoLeader      = "no leader"
	ReasonLeaderLost    = "leader unreachable"
	ReasonJoining       = "joining the committee"
	ReasonNoQuorum      = "quorum unreachable"
	ReasonStrictQuorum  = "quorum unreachable; strict quorum keeps the member offline until it is reachable"
	ReasonReforming     = "re-forming the group from this member's state"
	ReasonInstalling    = "installing the state of the re-formed shard"
	ReasonWiping        = "removing a replica the group no longer runs"
	ReasonFailed        = "stopped by a failure"
	ReasonLeft          = "left the group"
	ReasonObserverAlone = "quorum unreachable; an observer never re-forms"
)

// peerState is what the lifecycle knows of one other member.
type peerState struct {
	up       bool
	downAt   time.Duration // when it last went down, if it was up
	wasUp    bool
	catalog  CatalogMember // zero if the catalog does not list it
	listed   bool
	progress Progress // its last Progress over its current bond
	heard    bool
}

// roundStage is where the leader's committee round is.
type roundStage uint8

const (
	roundIdle     roundStage = iota
	roundReading             // a ReadMembership is in flight
	roundChanging            // a ChangeConfig is in flight
)

// install is the state a re-formed shard starts from, until it is applied.
type install struct {
	state    []byte
	base     uint64
	proposed bool // a ProposeInstall is in flight
}

// Lifecycle is one member's shard lifecycle. It is not safe for
// concurrent use: one actor owns it.
type Lifecycle struct {
	cfg   LifecycleConfig
	now   time.Duration
	out   []Action
	phase Phase
	view  View

	peers map[id.PeerID]*peerState

	// The shard this member runs, starts or wipes.
	genesis   Genesis
	replica   uint64
	nonVoting bool
	restart   bool // the replica being started comes from the data directory
	founded   bool // this member bootstrapped the shard (founded or re-formed it)
	parent    Genesis
	status    ReplicaStatus
	joined    bool
	contactAt time.Duration // when a leader or a quorum of voters was last reachable
	pending   *install
	failed    error
	// What the member knows of its shard's voters before its replica has
	// applied a configuration: the last committee a leader sent, and the
	// leader that accepted it.
	heardCommittee *Committee
	acceptedBy     id.PeerID
	loss           *ReportRivalLoss // reported once the lost replica's data is gone
	// Since when a leader of the shard has listed a committee without our
	// replica while the replica named no leader; unseated is false while
	// that is not so.
	unseated   bool
	unseatedAt time.Duration

	// Seeking.
	askedAt time.Duration
	asked   bool
	seen    []FoundingPeer // the members seen at the last seek, for the quiet period
	seenAt  time.Duration  // when that set last changed

	// Leading: the committee round's stage (one read or change in flight
	// at a time), the members waiting to be added, and the committee as
	// last read.
	round     roundStage
	joiners   map[id.PeerID]uint64
	committee *Committee
	leading   bool          // this member leads, as of the last lead()
	ledAt     time.Duration // since when
}

// NewLifecycle returns a member's lifecycle, in PhaseLoading. The first
// step (any event) asks to load the record.
func NewLifecycle(cfg LifecycleConfig) *Lifecycle {
	cfg.Consensus = cfg.Consensus.WithDefaults()
	if cfg.ReplaceAfter <= 0 {
		cfg.ReplaceAfter = DefaultReplaceAfter(cfg.Consensus)
	}
	l := &Lifecycle{
		cfg:     cfg,
		peers:   map[id.PeerID]*peerState{},
		joiners: map[id.PeerID]uint64{},
		phase:   PhaseLoading,
	}
	l.view = l.computeView()
	return l
}

// Start returns the first actions: load the record.
func (l *Lifecycle) Start() []Action {
	return []Action{LoadRecord{}, Publish{View: l.view}}
}

// Phase is the member's current phase.
func (l *Lifecycle) Phase() Phase { return l.phase }

// View is the member's current view.
func (l *Lifecycle) View() View { return l.view }

// Replica returns the shard and replica the member runs, starts or wipes.
func (l *Lifecycle) Replica() (Genesis, uint64) { return l.genesis, l.replica }

// Step feeds one event, which happened at logical time now (time.Duration
// since any fixed origin, never decreasing), and returns the actions to
// carry out, in order.
func (l *Lifecycle) Step(now time.Duration, ev Event) []Action {
	l.now = max(l.now, now)
	l.out = nil
	if g, ok := shardOf(ev); ok && g != l.genesis {
		return nil // the result of work on a shard the member left
	}
	if (l.phase == PhaseRunning || l.phase == PhaseReforming) && l.contact() {
		// Contact lasted at least until this event, which may end it.
		l.contactAt = l.now
	}
	l.observe(ev)
	switch l.phase {
	case PhaseLoading:
		l.stepLoading(ev)
	case PhaseSeeking:
		l.stepSeeking(ev)
	case PhaseStarting:
		l.stepStarting(ev)
	case PhaseRunning:
		l.stepRunning(ev)
	case PhaseReforming:
		l.stepReforming(ev)
	case PhaseWiping:
		l.stepWiping(ev)
	case PhaseFailed:
		if _, ok := ev.(Leave); ok {
			l.becomeLeft()
		}
	}
	if v := l.computeView(); v != l.view {
		l.view = v
		l.emit(Publish{View: v})
	}
	return l.out
}

func (l *Lifecycle) emit(a Action) { l.out = append(l.out, a) }

// shardOf names the shard a result event is about, for those that are
// about one.
func shardOf(ev Event) (Genesis, bool) {
	switch ev := ev.(type) {
	case MembershipRead:
		return ev.Genesis, true
	case ChangeDone:
		return ev.Genesis, true
	case StateRead:
		return ev.Genesis, true
	case InstallDone:
		return ev.Genesis, true
	}
	return Genesis{}, false
}

func (l *Lifecycle) peer(p id.PeerID) *peerState {
	ps, ok := l.peers[p]
	if !ok {
		ps = &peerState{}
		l.peers[p] = ps
	}
	return ps
}

// observe keeps the bookkeeping every phase shares: bonds, the catalog,
// what peers said, and the replica's status.
func (l *Lifecycle) observe(ev Event) {
	switch ev := ev.(type) {
	case BondUp:
		ps := l.peer(ev.Peer)
		ps.up, ps.wasUp = true, true
		// What it said over an earlier bond may be stale.
		ps.heard = false
	case BondDown:
		if ps, ok := l.peers[ev.Peer]; ok && ps.up {
			ps.up, ps.downAt = false, l.now
		}
	case CatalogChanged:
		for _, ps := range l.peers {
			ps.listed, ps.catalog = false, CatalogMember{}
		}
		for _, m := range ev.Members {
			if m.Peer == l.cfg.Self {
				continue
			}
			ps := l.peer(m.Peer)
			ps.listed, ps.catalog = true, m
		}
		// A member neither listed nor ever bonded is forgotten: over a
		// long life with churn (or a flood of advertisers) peers would
		// otherwise pile up. One that was bonded is kept: the leader
		// counts how long its bond has been down.
		maps.DeleteFunc(l.peers, func(_ id.PeerID, ps *peerState) bool { return !ps.listed && !ps.wasUp })
	case ProgressHeard:
		ps := l.peer(ev.From)
		ps.progress, ps.heard = ev.Progress, true
		p := ev.Progress
		if p.Leader && p.Committee != nil && p.Genesis == l.genesis && !l.genesis.IsZero() {
			l.heardCommittee = p.Committee
		}
	case Tick:
		l.observeStatus(ev.Status)
	case StatusChanged:
		l.observeStatus(ev.Status)
	}
}

func (l *Lifecycle) observeStatus(s ReplicaStatus) {
	if (l.phase != PhaseRunning && l.phase != PhaseReforming) || s.Genesis != l.genesis {
		return
	}
	l.status = s
	if p, ok := s.Voters[l.replica]; ok && p == l.cfg.Self {
		l.joined = true
	}
	if s.LeaderReplica != 0 {
		l.unseated = false
	}
}

// bonded lists the members with a bond up, in PeerID order.
func (l *Lifecycle) bonded() []id.PeerID {
	var out []id.PeerID
	for p, ps := range l.peers {
		if ps.up {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, id.PeerID.Compare)
	return out
}

func (l *Lifecycle) up(p id.PeerID) bool {
	ps, ok := l.peers[p]
	return ok && ps.up
}

// said returns what p said over its current bond, if anything.
func (l *Lifecycle) said(p id.PeerID) (Progress, bool) {
	ps, ok := l.peers[p]
	if !ok || !ps.up || !ps.heard {
		return Progress{}, false
	}
	return ps.progress, true
}

// ---- Loading -------------------------------------------------------------

// stepLoading waits for the record. A record restarts its replica; none
// means the member seeks a shard; an unreadable one fails the group
// rather than starting a fresh replica over a log that may exist.
func (l *Lifecycle) stepLoading(ev Event) {
	switch ev := ev.(type) {
	case RecordLoaded:
		switch {
		case ev.Err != nil:
			l.becomeFailed(ev.Err)
		case ev.Record == nil:
			l.becomeSeeking()
		default:
			l.becomeStarting(StartReplica{Genesis: ev.Record.Genesis, Replica: ev.Record.Replica, NonVoting: ev.Record.NonVoting})
		}
	case Leave:
		l.becomeLeft()
	}
}

// ---- Seeking -------------------------------------------------------------

func (l *Lifecycle) becomeSeeking() {
	l.phase = PhaseSeeking
	l.resetShard()
	l.asked = false
	l.seen, l.seenAt = nil, l.now
	l.seek()
}

// resetShard forgets everything about the shard the member ran.
func (l *Lifecycle) resetShard() {
	l.genesis, l.replica, l.nonVoting, l.restart, l.founded, l.parent = Genesis{}, 0, false, false, false, Genesis{}
	l.status, l.joined, l.pending = ReplicaStatus{}, false, nil
	l.heardCommittee, l.acceptedBy = nil, id.PeerID{}
	l.unseated = false
	l.round, l.committee = roundIdle, nil
	clear(l.joiners)
}

// stepSeeking joins a shard bonded members run, or bootstraps one.
func (l *Lifecycle) stepSeeking(ev Event) {
	switch ev := ev.(type) {
	case Tick:
		// Members that seek say so: a member founding a shard early
		// waits to hear it from each of them (ShouldBootstrapEarly).
		l.emit(SendProgress{Progress: l.progress()})
		l.seek()
	case CatalogChanged, ProgressHeard:
		l.seek()
	case BondUp:
		l.emit(SendProgress{Progress: l.progress()})
		// The new bond may be to the leader, which the last request
		// could not reach: ask again now rather than after the pause.
		l.asked = false
		l.seek()
	case JoinAnswered:
		if ev.Replica != l.replica || l.replica == 0 {
			return
		}
		if ev.Accepted {
			l.becomeStarting(StartReplica{Genesis: ev.Genesis, Replica: l.replica, Join: true, NonVoting: true})
			l.acceptedBy = ev.From
			return
		}
		if !ev.Leader.IsZero() && ev.Leader != ev.From && ev.Leader != l.cfg.Self {
			l.emit(SendJoinRequest{To: []id.PeerID{ev.Leader}, Genesis: ev.Genesis, Replica: l.replica})
		}
	case JoinRequested:
		l.emit(SendJoinReply{To: ev.From, Genesis: ev.Genesis, Replica: ev.Replica, Reason: "not a member of that shard"})
	case Leave:
		l.becomeLeft()
	}
}

// seek applies the bootstrap and join rules ([JoinTarget],
// [ShouldBootstrap]) to what bonded members advertise.
func (l *Lifecycle) seek() {
	bonded, known := l.bondedGeneses()
	for i, pg := range bonded {
		bonded[i].Committed = l.liveClaim(pg.Genesis)
	}
	if target, ok := JoinTarget(bonded); ok {
		if l.asked && l.now-l.askedAt < l.cfg.Consensus.ForwardTimeout {
			return
		}
		l.asked, l.askedAt = true, l.now
		if l.replica == 0 {
			l.replica = l.cfg.NewReplica()
		}
		var to []id.PeerID
		for _, pg := range bonded {
			if pg.Genesis == target {
				to = append(to, pg.Peer)
			}
		}
		l.emit(SendJoinRequest{To: to, Genesis: target, Replica: l.replica})
		return
	}
	// An observer never starts a shard: it would hold the only vote. Nor
	// does anyone while a bonded member's shard is unknown (a bond can
	// come up before the member's entry reaches the catalog), or while
	// the catalog shows a member running a shard it has no bond with yet
	// (a node restarting under load may take longer than the bootstrap
	// delay to bond): starting a rival of a running shard would cost one
	// of them its writes.
	if l.cfg.Observer || !known || l.shardAdvertised() {
		return
	}
	founders := l.founders()
	if !slices.EqualFunc(founders, l.seen, func(a, b FoundingPeer) bool { return a.Peer == b.Peer && a.Bonded == b.Bonded }) {
		l.seen, l.seenAt = founders, l.now
	}
	early := ShouldBootstrapEarly(l.cfg.Self, founders, l.now-l.seenAt, EarlyBootstrapQuiet(l.cfg.Consensus))
	if !early && !ShouldBootstrap(l.cfg.Self, false, l.voterCandidates(bonded), l.now, l.cfg.Consensus.BootstrapDelay) {
		return
	}
	g, err := l.cfg.NewGenesis()
	if err != nil {
		return // tried again on the next tick
	}
	l.becomeStarting(StartReplica{Genesis: g, Replica: l.cfg.NewReplica(), Bootstrap: true})
}

// bondedGeneses collects what bonded members advertise about their
// shard, from the catalog or, where it has none yet, from their Progress.
// known is false while some bonded member is in neither: it may run one.
func (l *Lifecycle) bondedGeneses() (out []PeerGenesis, known bool) {
	known = true
	for _, p := range l.bonded() {
		ps := l.peers[p]
		pg := PeerGenesis{Peer: p, Genesis: ps.catalog.Genesis}
		if pg.Genesis.IsZero() {
			if said, ok := l.said(p); ok {
				pg.Genesis = said.Genesis
			}
			known = known && (ps.listed || ps.heard)
		}
		out = append(out, pg)
	}
	return out, known
}

// shardAdvertised reports whether the catalog lists a member running a
// shard.
func (l *Lifecycle) shardAdvertised() bool {
	for _, ps := range l.peers {
		if ps.listed && !ps.catalog.Genesis.IsZero() {
			return true
		}
	}
	return false
}

// founders lists the members seen while seeking, by the catalog or by a
// bond, for [ShouldBootstrapEarly], in PeerID order. Members the catalog
// lists as observers are left out; a bonded member not listed yet counts.
func (l *Lifecycle) founders() []FoundingPeer {
	var out []FoundingPeer
	for p, ps := range l.peers {
		if (!ps.listed && !ps.up) || ps.catalog.Observer {
			continue
		}
		said, ok := l.said(p)
		out = append(out, FoundingPeer{Peer: p, Bonded: ps.up, Idle: ok && said.Genesis.IsZero()})
	}
	slices.SortFunc(out, func(a, b FoundingPeer) int { return a.Peer.Compare(b.Peer) })
	return out
}

// voterCandidates leaves observers out of the bootstrap decision.
func (l *Lifecycle) voterCandidates(bonded []PeerGenesis) []PeerGenesis {
	return slices.DeleteFunc(slices.Clone(bonded), func(pg PeerGenesis) bool { return l.peers[pg.Peer].catalog.Observer })
}

// ---- Starting ------------------------------------------------------------

func (l *Lifecycle) becomeStarting(s StartReplica) {
	l.phase = PhaseStarting
	pending, parent := l.pending, l.parent // kept across a re-form
	l.resetShard()
	l.pending, l.parent = pending, parent
	l.genesis, l.replica, l.nonVoting = s.Genesis, s.Replica, s.NonVoting
	l.restart = !s.Bootstrap && !s.Join
	l.founded = s.Bootstrap
	l.emit(s)
}

// stepStarting waits for the replica. A replica that will not restart
// from the data directory fails the group: starting afresh would throw
// away what the directory holds.
func (l *Lifecycle) stepStarting(ev Event) {
	switch ev := ev.(type) {
	case ReplicaStarted:
		if ev.Genesis != l.genesis || ev.Replica != l.replica {
			return
		}
		switch {
		case ev.Err != nil && l.restart:
			l.becomeFailed(fmt.Errorf("groups: restart replica %d of shard %s: %w", l.replica, l.genesis.Short(), ev.Err))
		case ev.Err != nil:
			l.becomeSeeking()
		default:
			l.becomeRunning()
		}
	case Leave:
		l.becomeLeft()
	}
}

// ---- Running -------------------------------------------------------------

func (l *Lifecycle) becomeRunning() {
	l.phase = PhaseRunning
	l.contactAt = l.now
	l.emit(Advertise{Genesis: l.genesis, Replica: l.replica})
	// Tell the members at once: the leader is waiting for a joiner's
	// progress to promote it.
	l.emit(SendProgress{Progress: l.progress()})
}

// stepRunning is the member with a running replica. Its rules:
//
//   - It reports its Progress to every bonded member on each tick.
//   - It names a leader only while it can reach it ([Lifecycle.leader]).
//   - It has joined once it votes, or once the leader lists it as a
//     non-voting member of a settled committee.
//   - The leader runs committee rounds ([NextChange]) and answers joins.
//   - A member cut off from its quorum re-forms or waits
//     ([Lifecycle.checkQuorum]).
//   - A shard that beats ours in the rival rule wins: the member wipes
//     its replica and joins it ([Lifecycle.rival]).
//   - A member whose replica the shard removed wipes it and rejoins.
func (l *Lifecycle) stepRunning(ev Event) {
	switch ev := ev.(type) {
	case Tick:
		if !ev.Status.Found && ev.Status.Genesis == l.genesis {
			l.becomeWiping(nil) // removed from the shard
			return
		}
		l.emit(SendProgress{Progress: l.progress()})
		if l.checkQuorum() {
			return
		}
		l.campaign()
		l.lead()
	case StatusChanged:
		l.campaign()
		l.lead()
	case ProgressHeard:
		l.heardProgress(ev.From, ev.Progress)
	case JoinRequested:
		l.joinRequested(ev)
	case MembershipRead:
		l.membershipRead(ev)
	case ChangeDone:
		l.changeDone(ev)
	case InstallDone:
		if l.pending != nil {
			l.pending.proposed = false
			if ev.Err == nil {
				l.pending = nil
			}
		}
	case MachineFailed:
		l.becomeFailed(ev.Err)
	case Leave:
		l.becomeLeft()
	}
}

// progress is what this member tells its bonded members.
func (l *Lifecycle) progress() Progress {
	leader := l.leader()
	p := Progress{
		Genesis:     l.genesis,
		Replica:     l.replica,
		Applied:     l.applied(),
		Term:        l.status.Term,
		Leader:      leader == l.cfg.Self,
		KnowsLeader: !leader.IsZero(),
		Parent:      l.parent,
	}
	if p.Leader {
		p.Committee = l.committee
	}
	return p
}

// applied is the index this member's replica has applied, or, for a
// re-formed shard still installing its state, the index it will have.
func (l *Lifecycle) applied() uint64 {
	if l.pending != nil {
		return max(l.status.Applied, l.pending.base+1)
	}
	return l.status.Applied
}

// liveClaim is the standing of shard g in a rivalry: the most that a
// member of it this member can reach has applied (this member included),
// as they last said. Members out of reach do not count: a shard whose
// leader died with the longest log must not outrank the shard its
// survivors re-formed, which holds all that is left of it. And a member
// still catching up speaks for its shard, not for its own replica, or it
// would lose its new shard to the rival it just left.
func (l *Lifecycle) liveClaim(g Genesis) uint64 {
	var most uint64
	if g == l.genesis && (l.phase == PhaseRunning || l.phase == PhaseReforming) {
		most = l.applied()
	}
	for _, p := range l.bonded() {
		if said, ok := l.said(p); ok && said.Genesis == g {
			most = max(most, said.Applied)
		}
	}
	return most
}

// leader is the leader this member can reach: the replication engine's
// leader, unless its bond is down or it said since that it no longer
// leads. A non-voting replica never forgets a leader by itself (it does
// not campaign), so without these checks a member would name a dead
// leader for good.
func (l *Lifecycle) leader() id.PeerID {
	if l.phase != PhaseRunning && l.phase != PhaseReforming {
		return id.PeerID{}
	}
	lr := l.status.LeaderReplica
	if lr == 0 {
		return id.PeerID{}
	}
	if lr == l.replica {
		return l.cfg.Self
	}
	p, ok := l.owner(lr)
	if !ok || p == l.cfg.Self || !l.up(p) {
		return id.PeerID{}
	}
	if said, ok := l.said(p); ok && said.Genesis == l.genesis && said.Term >= l.status.Term && !said.Leader {
		return id.PeerID{}
	}
	return p
}

// heardProgress handles a bonded member's Progress: a leader's committee
// (joined, or removed from the shard), a non-voter that caught up, or a
// rival shard.
func (l *Lifecycle) heardProgress(from id.PeerID, p Progress) {
	if p.Genesis.IsZero() {
		return
	}
	if p.Genesis != l.genesis {
		l.rival(p)
		return
	}
	if p.Leader && p.Term >= l.status.Term && p.Committee != nil {
		c := p.Committee
		switch {
		case c.Lists(l.replica):
			l.unseated = false
			if c.Settled || l.cfg.Observer {
				l.joined = true
			}
		case from == l.leader() && p.Term == l.status.Term &&
			c.ConfigChangeID >= l.status.ConfigChangeID && l.status.ConfigChangeID != 0:
			// The leader's configuration is at least as new as ours and
			// has no seat for us: our replica was removed while we could
			// not hear of it.
			l.becomeWiping(nil)
			return
		case l.status.LeaderReplica == 0 && c.ConfigChangeID >= l.status.ConfigChangeID:
			// Our replica hears from no leader, and a leader of its shard
			// has no seat for it: it was removed while this member was
			// down (a shard never contacts a removed replica, so the rule
			// above cannot apply). A committee read just before the
			// change that added us says the same for a moment, so the
			// member believes it only once it has held for as long as a
			// member waits before it re-forms.
			switch {
			case !l.unseated:
				l.unseated, l.unseatedAt = true, l.now
			case l.now-l.unseatedAt >= ReformThreshold(l.cfg.Consensus):
				l.becomeWiping(nil)
				return
			}
		}
	}
	if l.leader() == l.cfg.Self && l.round == roundIdle {
		if l.committee != nil && slices.Contains(l.committee.NonVoting, l.replicaOf(from)) {
			// A non-voter reported progress: it may be ready.
			l.startRound()
		}
	}
}

// replicaOf is p's replica in our shard, as it said or advertises; 0 if
// unknown.
func (l *Lifecycle) replicaOf(p id.PeerID) uint64 {
	ps, ok := l.peers[p]
	switch {
	case !ok:
		return 0
	case ps.heard && ps.progress.Genesis == l.genesis:
		return ps.progress.Replica
	case ps.listed && ps.catalog.Genesis == l.genesis:
		return ps.catalog.Replica
	}
	return 0
}

// ---- Failover ------------------------------------------------------------

// checkQuorum applies the failover rules to a member whose replica runs.
// It reports whether the member left PhaseRunning.
//
// A member has contact while it can reach a leader, or a quorum of the
// voters its replica knows (itself included if it votes): then the
// replication engine elects, and nothing is to be done here. A member
// without contact for longer than [ReformThreshold] is cut off:
//
//   - with StrictQuorum (or as an observer) it stays offline and says so,
//     until contact returns;
//   - otherwise the members cut off together re-form the group: the one
//     with the highest applied index (then the lowest PeerID) among those
//     it can reach that run the same shard starts a new shard from its
//     state ([Lifecycle.becomeReforming]); the others wait for that
//     shard, which beats theirs by one entry, and join it through the
//     rival rule. A member that can reach another that still follows a
//     leader waits instead: the shard lives on, only out of its reach.
func (l *Lifecycle) checkQuorum() bool {
	if l.contact() {
		l.contactAt = l.now
		return false
	}
	if l.now-l.contactAt <= ReformThreshold(l.cfg.Consensus) || l.cfg.StrictQuorum || l.cfg.Observer || l.pending != nil {
		return false
	}
	self := ShardClaim{Genesis: l.genesis, Committed: l.applied()}
	for _, p := range l.bonded() {
		said, ok := l.said(p)
		if !ok || said.Genesis != l.genesis || l.peers[p].catalog.Observer {
			continue
		}
		if said.KnowsLeader {
			return false
		}
		if said.Applied > self.Committed || (said.Applied == self.Committed && p.Less(l.cfg.Self)) {
			return false // p re-forms; we join its shard when it appears
		}
	}
	l.becomeReforming()
	return true
}

// contact reports whether the member can reach a leader or a quorum of
// its shard's voters ([Lifecycle.voters]).
func (l *Lifecycle) contact() bool {
	if !l.leader().IsZero() {
		return true
	}
	voters := l.voters()
	if len(voters) == 0 {
		return true // nothing to judge by (see voters)
	}
	reach := 0
	for _, p := range voters {
		if p == l.cfg.Self || (!p.IsZero() && l.up(p)) {
			reach++
		}
	}
	return reach >= Quorum(len(voters))
}

// voters returns the shard's voting replicas and their peers (zero where
// the peer is unknown), as well as the member knows them: the
// configuration its replica has applied; before it has applied one (a
// joiner that has not received the log yet), the committee its leader
// last sent; before that, the leader that accepted it. Only a replica
// that has none of these (restarted empty) has nothing to judge by.
func (l *Lifecycle) voters() map[uint64]id.PeerID {
	if len(l.status.Voters) > 0 {
		return l.status.Voters
	}
	if c := l.heardCommittee; c != nil && len(c.Voters) > 0 {
		out := make(map[uint64]id.PeerID, len(c.Voters))
		for _, rid := range c.Voters {
			out[rid], _ = l.owner(rid)
		}
		return out
	}
	if !l.acceptedBy.IsZero() {
		return map[uint64]id.PeerID{0: l.acceptedBy}
	}
	return nil
}

// owner returns the peer of a replica of our shard: from the
// configuration applied, from what members said of themselves, or from
// what they advertise.
func (l *Lifecycle) owner(replica uint64) (id.PeerID, bool) {
	if replica == l.replica {
		return l.cfg.Self, true
	}
	if p, ok := l.status.Voters[replica]; ok {
		return p, true
	}
	for q, ps := range l.peers {
		if ps.heard && ps.progress.Genesis == l.genesis && ps.progress.Replica == replica {
			return q, true
		}
		if ps.listed && ps.catalog.Genesis == l.genesis && ps.catalog.Replica == replica {
			return q, true
		}
	}
	return id.PeerID{}, false
}

// ---- Reforming -----------------------------------------------------------

func (l *Lifecycle) becomeReforming() {
	l.phase = PhaseReforming
	l.emit(ReadState{})
}

// stepReforming waits for the member's state, then replaces its shard
// with a new one of its own, whose first entry installs that state and
// continues the log after its index. Contact regained meanwhile calls
// the re-form off.
func (l *Lifecycle) stepReforming(ev Event) {
	switch ev := ev.(type) {
	case StateRead:
		if ev.Err != nil || l.contact() {
			l.phase = PhaseRunning
			l.contactAt = l.now
			return
		}
		g, err := l.cfg.NewGenesis()
		if err != nil {
			l.phase = PhaseRunning
			return
		}
		old, replica := l.genesis, l.replica
		l.emit(StopReplica{Genesis: old, Replica: replica})
		l.emit(RemoveData{Genesis: old, Replica: replica})
		l.pending = &install{state: ev.State, base: ev.Applied}
		l.parent = old
		l.becomeStarting(StartReplica{Genesis: g, Replica: l.cfg.NewReplica(), Bootstrap: true})
	case Tick:
		if !ev.Status.Found && ev.Status.Genesis == l.genesis {
			l.becomeWiping(nil)
			return
		}
		l.emit(SendProgress{Progress: l.progress()})
	case ProgressHeard:
		if !ev.Progress.Genesis.IsZero() && ev.Progress.Genesis != l.genesis {
			l.rival(ev.Progress)
		}
	case JoinRequested:
		l.emit(SendJoinReply{To: ev.From, Genesis: ev.Genesis, Replica: ev.Replica, Reason: "re-forming"})
	case MachineFailed:
		l.becomeFailed(ev.Err)
	case Leave:
		l.becomeLeft()
	}
}

// ---- Rivals --------------------------------------------------------------

// rival handles news of another shard of the group. The shard with the
// longer log wins ([Winner]); a member of the losing shard wipes its
// replica and joins the winner. What it had applied is discarded and
// reported, unless the winner was re-formed from this member's shard:
// that shard holds everything this member had.
func (l *Lifecycle) rival(p Progress) {
	ours := ShardClaim{Genesis: l.genesis, Committed: l.liveClaim(l.genesis)}
	theirs := ShardClaim{Genesis: p.Genesis, Committed: l.liveClaim(p.Genesis)}
	if Winner(ours, theirs) == ours {
		return
	}
	var loss *ReportRivalLoss
	if p.Parent != l.genesis {
		loss = &ReportRivalLoss{Lost: l.genesis, Winner: p.Genesis}
	}
	l.becomeWiping(loss)
}

// ---- Wiping --------------------------------------------------------------

// becomeWiping stops the replica and removes its data; the member then
// seeks a shard with a new replica id (dragonboat never takes a removed
// one back). loss, if set, is reported once the replica has stopped.
func (l *Lifecycle) becomeWiping(loss *ReportRivalLoss) {
	l.phase = PhaseWiping
	l.loss = loss
	l.emit(StopReplica{Genesis: l.genesis, Replica: l.replica})
	l.emit(DropRecord{})
	l.emit(Advertise{})
	l.emit(RemoveData{Genesis: l.genesis, Replica: l.replica})
	l.pending, l.parent = nil, Genesis{}
}

func (l *Lifecycle) stepWiping(ev Event) {
	switch ev := ev.(type) {
	case DataRemoved:
		if ev.Genesis != l.genesis {
			return
		}
		if l.loss != nil {
			l.emit(*l.loss)
			l.loss = nil
		}
		l.becomeSeeking()
	case JoinRequested:
		l.emit(SendJoinReply{To: ev.From, Genesis: ev.Genesis, Replica: ev.Replica, Reason: "not a member of that shard"})
	case Leave:
		l.becomeLeft()
	}
}

// ---- Failed and Left -----------------------------------------------------

func (l *Lifecycle) becomeFailed(err error) {
	l.stopIfRunning()
	l.phase = PhaseFailed
	l.failed = err
}

func (l *Lifecycle) becomeLeft() {
	l.stopIfRunning()
	l.phase = PhaseLeft
}

func (l *Lifecycle) stopIfRunning() {
	switch l.phase {
	case PhaseStarting, PhaseRunning, PhaseReforming:
		l.emit(StopReplica{Genesis: l.genesis, Replica: l.replica})
	}
}

// ---- Leading -------------------------------------------------------------

// campaign asks the replica of a shard this member bootstrapped to stand
// for election at once while it is the shard's only voter and leads
// nobody: a one-voter shard elects itself anyway, after a randomised
// election timeout that would only delay the group's first leader (and
// a re-formed shard's return). Nobody else can lead it, so there is no
// one to disturb.
func (l *Lifecycle) campaign() {
	s := l.status
	if !l.founded || s.LeaderReplica != 0 || len(s.Voters) != 1 || s.Voters[l.replica] != l.cfg.Self {
		return
	}
	l.emit(Campaign{Genesis: l.genesis, Replica: l.replica})
}

// lead does the leader's duties: install a re-formed shard's state, then
// keep the committee in shape.
func (l *Lifecycle) lead() {
	if leader := l.leader(); leader != l.cfg.Self {
		l.committee, l.leading = nil, false
		if !leader.IsZero() {
			l.redirectJoiners(leader)
		}
		return
	}
	if !l.leading {
		l.leading, l.ledAt = true, l.now
	}
	if l.pending != nil {
		if !l.pending.proposed {
			l.pending.proposed = true
			l.emit(ProposeInstall{State: l.pending.state, Base: l.pending.base})
		}
		return
	}
	if l.round == roundIdle {
		l.startRound()
	}
}

func (l *Lifecycle) startRound() {
	l.round = roundReading
	l.emit(ReadMembership{})
}

// joinRequested answers a member that asks to join: the leader queues it
// for the committee round, which adds it as non-voting and then answers;
// anyone else points at the leader. A voter (or the founder, before its
// replica has applied its first configuration) that knows no leader yet
// queues the request too: it may be about to lead (a shard just
// bootstrapped asks its members to join before its first election is
// over), and refusing would make the joiner wait out its retry pause.
// If another member turns out to lead, the queued joiners are pointed at
// it ([Lifecycle.redirectJoiners]).
func (l *Lifecycle) joinRequested(ev JoinRequested) {
	reply := SendJoinReply{To: ev.From, Genesis: ev.Genesis, Replica: ev.Replica}
	_, voter := l.status.Voters[l.replica]
	switch leader := l.leader(); {
	case ev.Genesis != l.genesis:
		reply.Reason = "not a member of that shard"
	case leader.IsZero() && (voter || l.founded):
		l.joiners[ev.From] = ev.Replica
		return
	case leader != l.cfg.Self:
		reply.Reason, reply.Leader = "not the leader", leader
	case l.committee.Lists(ev.Replica):
		// A retry of a join that succeeded while its answer was lost.
		reply.Accepted = true
	default:
		l.joiners[ev.From] = ev.Replica
		if l.round == roundIdle && l.pending == nil {
			l.startRound()
		}
		return
	}
	l.emit(reply)
}

// redirectJoiners points the joiners queued while no leader was known at
// the leader that emerged.
func (l *Lifecycle) redirectJoiners(leader id.PeerID) {
	for _, p := range slices.SortedFunc(maps.Keys(l.joiners), id.PeerID.Compare) {
		l.emit(SendJoinReply{To: p, Genesis: l.genesis, Replica: l.joiners[p], Reason: "not the leader", Leader: leader})
		delete(l.joiners, p)
	}
}

// membershipRead decides the round's one change, if any, and tells the
// members the committee as it stands.
func (l *Lifecycle) membershipRead(ev MembershipRead) {
	if l.round != roundReading {
		return // not ours: a read from before a change of leader
	}
	if ev.Err != nil || l.leader() != l.cfg.Self {
		l.round = roundIdle
		return
	}
	m := ev.Membership
	members := make([]Member, 0, len(m.Voters)+len(m.NonVoting)+len(l.joiners))
	for _, rid := range slices.Sorted(maps.Keys(m.Voters)) {
		members = append(members, l.member(rid, m.Voters[rid], true))
	}
	for _, rid := range slices.Sorted(maps.Keys(m.NonVoting)) {
		members = append(members, l.member(rid, m.NonVoting[rid], false))
	}
	for p, rid := range l.joiners {
		if _, added := m.Voters[rid]; added {
			delete(l.joiners, p)
			continue
		}
		if _, added := m.NonVoting[rid]; added {
			delete(l.joiners, p)
			l.emit(SendJoinReply{To: p, Genesis: l.genesis, Replica: rid, Accepted: true})
			continue
		}
		ps := l.peers[p]
		members = append(members, Member{Peer: p, Replica: rid, Joining: true, Alive: ps != nil && ps.up, Observer: ps != nil && ps.catalog.Observer})
	}
	change, ok := NextChange(members, l.cfg.Self, l.cfg.MaxVoters, l.cfg.ReplaceAfter)
	l.committee = &Committee{
		ConfigChangeID: m.ConfigChangeID,
		Voters:         slices.Sorted(maps.Keys(m.Voters)),
		NonVoting:      slices.Sorted(maps.Keys(m.NonVoting)),
		Settled:        !PromotionsPending(members, l.cfg.Self, l.cfg.MaxVoters, l.cfg.ReplaceAfter),
	}
	l.emit(SendProgress{Progress: l.progress()})
	if !ok {
		l.round = roundIdle
		return
	}
	l.round = roundChanging
	l.emit(ChangeConfig{Change: change, ConfigChangeID: m.ConfigChangeID})
}

// member is the leader's view of one replica of the configuration.
func (l *Lifecycle) member(rid uint64, p id.PeerID, voter bool) Member {
	m := Member{Peer: p, Replica: rid, Voter: voter, Alive: p == l.cfg.Self}
	ps, ok := l.peers[p]
	switch {
	case m.Alive:
	case ok && ps.up:
		m.Alive = true
	case ok && ps.wasUp:
		m.DeadFor = l.now - ps.downAt
	default:
		// Never bonded while this member led: dead at least since it
		// took the lead (it may have died before), so that a voter lost
		// under the last leader is still replaced under this one.
		m.DeadFor = l.now - l.ledAt
	}
	if ok {
		m.Observer = ps.catalog.Observer
	}
	said, heard := l.said(p)
	m.CaughtUp = p == l.cfg.Self || (heard && said.Genesis == l.genesis && said.Applied+CaughtUpSlack >= l.status.Applied)
	return m
}

// changeDone ends a change: an added joiner is told to start, and a
// change that went through is followed at once by the next round, so a
// committee grows at the pace of its commits rather than of ticks.
func (l *Lifecycle) changeDone(ev ChangeDone) {
	if l.round != roundChanging {
		return
	}
	l.round = roundIdle
	if ev.Err != nil {
		return // the next tick tries again
	}
	if ev.Change.Kind == AddNonVoting {
		if want, ok := l.joiners[ev.Change.Peer]; ok && want == ev.Change.Replica {
			delete(l.joiners, ev.Change.Peer)
			l.emit(SendJoinReply{To: ev.Change.Peer, Genesis: l.genesis, Replica: ev.Change.Replica, Accepted: true})
		}
	}
	if l.leader() == l.cfg.Self && l.pending == nil {
		l.startRound()
	}
}

// ---- View ----------------------------------------------------------------

func (l *Lifecycle) computeView() View {
	v := View{Phase: l.phase, Genesis: l.genesis, Failed: l.failed}
	if !l.genesis.IsZero() {
		v.Replica = l.replica
	}
	switch l.phase {
	case PhaseLoading:
		v.Reason = ReasonLoading
	case PhaseSeeking:
		v.Reason = ReasonSeeking
	case PhaseStarting:
		v.Reason = ReasonStarting
	case PhaseWiping:
		v.Reason = ReasonWiping
	case PhaseFailed:
		v.Reason = ReasonFailed
	case PhaseLeft:
		v.Reason = ReasonLeft
	case PhaseRunning, PhaseReforming:
		v.Running = l.pending == nil
		v.Leader, v.Term = l.leader(), l.status.Term
		v.Voters = len(l.voters())
		_, v.Voter = l.status.Voters[l.replica]
		v.Joined = l.joined || v.Voter
		v.Reason = l.offlineReason(v)
	}
	return v
}

// offlineReason says why a member with a running replica is offline.
func (l *Lifecycle) offlineReason(v View) string {
	switch {
	case l.phase == PhaseReforming:
		return ReasonReforming
	case l.pending != nil:
		return ReasonInstalling
	case !v.Leader.IsZero() && !v.Joined:
		return ReasonJoining
	case !v.Leader.IsZero():
		return ""
	case !l.contact():
		if l.now-l.contactAt > ReformThreshold(l.cfg.Consensus) {
			if l.cfg.StrictQuorum {
				return ReasonStrictQuorum
			}
			if l.cfg.Observer {
				return ReasonObserverAlone
			}
		}
		return ReasonNoQuorum
	case l.status.LeaderReplica != 0:
		return ReasonLeaderLost
	}
	return ReasonNoLeader
}

// String describes the member for logs and test failures.
func (l *Lifecycle) String() string {
	v := l.view
	s := fmt.Sprintf("%s %s", l.cfg.Self.Short(), v.Phase)
	if !v.Genesis.IsZero() {
		s += fmt.Sprintf(" shard=%s replica=%d", v.Genesis.Short(), v.Replica)
	}
	if !v.Leader.IsZero() {
		s += " leader=" + v.Leader.Short()
	}
	if v.Reason != "" {
		s += " (" + v.Reason + ")"
	}
	return s
}
