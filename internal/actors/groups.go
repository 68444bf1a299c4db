package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/lni/dragonboat/v4/client"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/feed"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/metrics"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/transport"
)

// handshakeTimeout bounds how long an incoming bond may take to send its
// HandshakeStart before the link is closed with 30_408. It cannot come
// from the group's config: the group is named in the message awaited.
var handshakeTimeout = 5 * time.Second

// MaxInFlight bounds the proposals one group handle has in flight.
const MaxInFlight = 1024

// DefaultSnapshotEntries is GroupConfig.SnapshotEntries when it is zero.
// Each snapshot costs a state write plus dragonboat's 2 MiB block buffer,
// whatever the state's size; at one per 1000 entries a loaded group spent
// half its allocation, and most of its garbage collection, on snapshots
// (docs/performance.md, B1). A tenth of it is kept as log overhead.
const DefaultSnapshotEntries = 10000

// ErrGroupLeft is returned by calls on a group handle after Leave.
var ErrGroupLeft = errors.New("actors: group left")

// GroupsParams is what a node gives its groups supervisor.
type GroupsParams struct {
	Network   id.NetworkID
	Key       id.SecretKey
	Endpoint  transport.Endpoint
	Discovery *Discovery
	// DataDir holds the Raft logs and snapshots of every group; empty
	// keeps them in memory (tests and demos: nothing survives a restart).
	DataDir string
	// Metrics records groups, bonds and consensus; nil records nothing.
	Metrics *metrics.Node
	// Logger receives the groups' significant events (leader elected or
	// lost, shard bootstrapped or re-formed, rival loss, bonds refused);
	// nil discards them.
	Logger *slog.Logger
}

// Groups is a node's handle on its groups: it owns the /mosaik/groups/1
// protocol, routes incoming bonds to the member actor of their group, and
// spawns group actors under the node's groups supervisor.
type Groups struct {
	p         GroupsParams
	sys       *System
	pid       *actor.PID // the groups supervisor
	stats     BondStats
	consensus *consensusHost

	mu struct {
		sync.Mutex
		joined map[id.GroupID]*Group
	}
}

// StartGroups spawns the groups supervisor and starts serving bonds.
func StartGroups(sys *System, p GroupsParams) (*Groups, error) {
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	g := &Groups{p: p, sys: sys}
	g.mu.joined = map[id.GroupID]*Group{}
	host, err := startConsensus(p.Key.PeerID(), p.DataDir, sys.Root())
	if err != nil {
		p.Logger.Error("groups cannot start: Raft data directory", "dir", p.DataDir, "err", err)
		return nil, err
	}
	g.consensus = host
	// Group actors restart after a crash (one-for-one, at most 10 times a
	// minute); their bonds are re-dialled and their data kept by the
	// replication layer.
	strategy := actor.NewOneForOneStrategy(10, time.Minute, actor.DefaultDecider)
	pid, err := sys.Spawn(Props(func() actor.Actor { return &groupsSupervisor{} }, actor.WithSupervisor(strategy)), "groups")
	if err != nil {
		host.close()
		return nil, err
	}
	g.pid = pid
	if err := p.Endpoint.Handle(transport.ALPNGroups, g.serve); err != nil {
		host.close()
		return nil, fmt.Errorf("actors: groups: %w", err)
	}
	return g, nil
}

// Close stops the node's replication engine. Call it after every group
// has been left and the actors stopped.
func (g *Groups) Close() { g.consensus.close() }

// BondStats returns the node's bond traffic counters.
func (g *Groups) BondStats() *BondStats { return &g.stats }

// GroupConfig describes one group to join.
type GroupConfig struct {
	// Key is the group secret; members prove they hold it.
	Key groups.Key
	// Consensus holds the group's timings (part of the group id).
	Consensus groups.ConsensusConfig
	// Machine makes the group's state machine, one per replica (a
	// replica restored from a snapshot gets a fresh one). Its Signature is
	// part of the group id.
	Machine func() statemachine.Machine
	// Tickets are the validators a peer's tickets must pass, every one,
	// for it to bond (30 403 otherwise). Their signatures are part of the
	// group id, in order, so members configured differently never meet.
	// A peer's tickets are checked at the handshake, on every change of
	// its entry and on every tick: a ticket removed from the entry
	// (revoked) or expired ends the bond within a heartbeat interval.
	Tickets []discovery.TicketValidator
	// Leadership is this member's preference: by default any member may
	// vote and lead. It is local (not part of the group id).
	Leadership LeadershipPreference

	// StrictQuorum forbids a member cut off from every other member from
	// re-forming the group alone. By default (availability first, as in
	// the reference) such a member starts a new shard from its own state
	// after ReformThreshold, and a later merge by longest log may discard
	// what either side wrote meanwhile; with StrictQuorum it stays offline
	// until it reaches a quorum again, so no acknowledged write is ever
	// discarded once the group has formed. (Members that bootstrap apart,
	// before they ever meet, still form rival shards, and the merge
	// discards the shorter one's writes; RivalLoss reports them.)
	StrictQuorum bool

	// ReplaceAfter is how long a voter's bond must stay down before the
	// leader replaces it in the committee. Replacing is costly (the member
	// must rejoin with a new replica and catch up) and a restarting node
	// should find its place still there. Default: five failure-detection
	// windows (MaxMissedHeartbeats x HeartbeatInterval) plus the election
	// timeout.
	ReplaceAfter time.Duration

	// SnapshotEntries is how many applied commands trigger a snapshot of
	// the state machine, after which the log before it is compacted;
	// members that fall further behind catch up from the snapshot.
	// Default DefaultSnapshotEntries (10000).
	SnapshotEntries uint64

	// Authorize decides whether a peer that proved the key may bond, from
	// its catalog entry. It runs at handshake time and again whenever the
	// peer's entry changes; a peer that stops qualifying loses its bond
	// (30_403). It must not block. Nil admits every key holder.
	Authorize func(discovery.Entry) error
}

// ID is the group id the config describes.
func (c GroupConfig) ID() id.GroupID {
	sigs := make([]id.Digest, len(c.Tickets))
	for i, v := range c.Tickets {
		sigs[i] = v.Signature()
	}
	return groups.ID(c.Key, c.Consensus.WithDefaults(), c.Machine().Signature(), sigs...)
}

// LeadershipPreference says how a member takes part in its group's
// consensus.
type LeadershipPreference struct {
	// Observer members replicate the state but never vote and so never
	// lead; they do not count toward quorum.
	Observer bool
	// Reluctance multiplies this member's election timeout (values above
	// 1), so that others usually win elections; 0 or 1 is normal.
	Reluctance int
}

// Group is the handle of one joined group on one node.
type Group struct {
	id        id.GroupID
	cfg       GroupConfig
	owner     *Groups
	pid       *actor.PID
	view      *feed.Value[BondsView]
	consensus *feed.Value[Consensus]
	inflight  chan struct{}                  // one token per proposal in flight
	noop      atomic.Pointer[client.Session] // the shard's no-op session, shared by all proposals
	applied   *feed.Value[uint64]
	rivals    *feed.Value[RivalTally]
	losses    *feed.Feed[RivalLoss] // one event per rival loss
	events    *feed.Feed[BondEvent]
	left      chan struct{} // closed once the group actor stopped
	ctx       context.Context
	endCtx    context.CancelFunc // cancels ctx, as left is closed
	metrics   *metrics.Group
}

// Join joins a group, or returns the handle of the group already joined
// with the same id (Join is idempotent per group id; the first join's
// Authorize hook stays in force).
func (g *Groups) Join(cfg GroupConfig) (*Group, error) {
	cfg.Consensus = cfg.Consensus.WithDefaults()
	if err := cfg.Consensus.Validate(); err != nil {
		return nil, err
	}
	if cfg.Key.IsZero() {
		return nil, fmt.Errorf("actors: join: %w: group key is empty", groups.ErrBadKey)
	}
	if cfg.Machine == nil {
		return nil, errors.New("actors: join: GroupConfig.Machine is nil")
	}
	gid := cfg.ID()
	g.mu.Lock()
	defer g.mu.Unlock()
	if existing, ok := g.mu.joined[gid]; ok {
		return existing, nil
	}
	gctx, endCtx := context.WithCancel(context.Background())
	grp := &Group{
		ctx:       gctx,
		endCtx:    endCtx,
		id:        gid,
		cfg:       cfg,
		owner:     g,
		view:      feed.NewValue(BondsView{Self: g.p.Key.PeerID()}),
		consensus: feed.NewValue(Consensus{}),
		inflight:  make(chan struct{}, MaxInFlight),
		applied:   feed.NewValue[uint64](0),
		rivals:    feed.NewValue(RivalTally{}),
		losses:    feed.New[RivalLoss](),
		events:    feed.New[BondEvent](),
		left:      make(chan struct{}),
		metrics:   g.p.Metrics.Group(gid.Short()),
	}
	reply, err := g.sys.Root().RequestFuture(g.pid, &spawnGroup{group: grp}, 10*time.Second).Result()
	if err != nil {
		endCtx()
		return nil, fmt.Errorf("actors: join %s: %w", gid.Short(), err)
	}
	r := reply.(*spawnResult)
	if r.err != nil {
		endCtx()
		return nil, fmt.Errorf("actors: join %s: %w", gid.Short(), r.err)
	}
	grp.pid = r.pid
	g.mu.joined[gid] = grp
	g.p.Metrics.SetGroupsActive(len(g.mu.joined))
	return grp, nil
}

// LeaveAll leaves every joined group concurrently and waits for all, or
// until ctx ends.
// The replicas stay in the data directory: a node that closes and starts
// again restarts them.
func (g *Groups) LeaveAll(ctx context.Context) error {
	g.mu.Lock()
	joined := slices.Collect(maps.Values(g.mu.joined))
	g.mu.Unlock()
	errs := make([]error, len(joined))
	var wg sync.WaitGroup
	for i, grp := range joined {
		wg.Go(func() { errs[i] = grp.leave(ctx, true) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Status reports this member's view of every joined group, in group id
// order. It reads published values only, so it never waits on an actor.
func (g *Groups) Status() []groups.Status {
	g.mu.Lock()
	joined := slices.Collect(maps.Values(g.mu.joined))
	g.mu.Unlock()
	slices.SortFunc(joined, func(a, b *Group) int { return a.id.Compare(b.id) })
	out := make([]groups.Status, 0, len(joined))
	for _, grp := range joined {
		out = append(out, grp.Status())
	}
	return out
}

// Status reports this member's view of the group: lifecycle, leader,
// term, committee, applied index and bonds.
func (g *Group) Status() groups.Status {
	return groups.StatusOf(g.id, g.consensus.Get().View, g.cfg.Leadership.Observer, g.applied.Get(), len(g.view.Get().Peers))
}

// forget removes a group that has stopped from the routing table.
func (g *Groups) forget(grp *Group) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.mu.joined[grp.id] == grp {
		delete(g.mu.joined, grp.id)
	}
	g.p.Metrics.SetGroupsActive(len(g.mu.joined))
}

// lookup is the handshake's view of the joined groups.
func (g *Groups) lookup(gid id.GroupID) (*Group, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	grp, ok := g.mu.joined[gid]
	return grp, ok
}

// authorize applies a group's hook to a peer's current catalog entry. A
// peer we hold no entry for cannot be judged and is refused; it will dial
// again once our catalog lists it.
func (g *Groups) authorize(cfg GroupConfig, peer id.PeerID) error {
	if cfg.Authorize == nil && len(cfg.Tickets) == 0 {
		return nil
	}
	e, ok := g.p.Discovery.Catalog().Get(peer)
	if !ok {
		return fmt.Errorf("peer %s is not in the catalog", peer.Short())
	}
	return cfg.admits(e)
}

// admits applies the group's admission rules to a peer's entry: its
// tickets, then the Authorize hook.
func (c GroupConfig) admits(e discovery.Entry) error {
	if _, err := e.ValidateTickets(c.Tickets); err != nil {
		return err
	}
	if c.Authorize != nil {
		return c.Authorize(e)
	}
	return nil
}

// serve is the accepting side of /mosaik/groups/1, on an endpoint
// goroutine: read HandshakeStart, verify it (network, group, proof,
// authorization) and hand the link to the group's actor, or close it with
// the code that says why. A refused dialer leaves no state behind.
func (g *Groups) serve(link transport.Link) {
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	defer cancel()
	payload, err := link.RecvFrame(ctx)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			link.Close(transport.CodeTimeout, "no handshake")
		}
		return
	}
	m, err := groups.DecodeHandshakeStart(payload)
	if err == nil {
		// Keep the secret VerifyStart derives: the bond needs it again for
		// its own proof, and deriving costs a TLS exporter call.
		var secret []byte
		keep := func(label string) ([]byte, error) {
			s, err := link.SharedSecret(label)
			secret = s
			return s, err
		}
		var start groups.Start
		start, err = groups.VerifyStart(m, g.p.Network, g.joinedGroup, keep, link.Peer())
		if err == nil {
			grp, ok := g.lookup(start.Group)
			if !ok {
				err = &groups.Rejection{Code: transport.CodeGroupNotFound, Reason: "group left"}
			} else {
				g.sys.Root().Send(grp.pid, &incomingBond{link: link, start: start, secret: secret})
				return
			}
		}
	}
	var rej *groups.Rejection
	if errors.As(err, &rej) {
		g.p.Logger.Info("refused an incoming bond", "peer", link.Peer().Short(), "code", uint32(rej.Code), "reason", rej.Reason)
		link.Close(rej.Code, rej.Reason)
		return
	}
	g.p.Logger.Info("refused an incoming bond", "peer", link.Peer().Short(), "code", uint32(transport.CodeBadHandshake), "err", err)
	link.Close(transport.CodeBadHandshake, "handshake failed")
}

func (g *Groups) joinedGroup(gid id.GroupID) (groups.JoinedGroup, bool) {
	grp, ok := g.lookup(gid)
	if !ok {
		return groups.JoinedGroup{}, false
	}
	cfg := grp.cfg
	return groups.JoinedGroup{
		Key:       cfg.Key,
		Authorize: func(peer id.PeerID) error { return g.authorize(cfg, peer) },
	}, true
}

// ID is the group's id.
func (grp *Group) ID() id.GroupID { return grp.id }

// Bonds returns the current view of the group's bonds.
func (grp *Group) Bonds() BondsView { return grp.view.Get() }

// WaitBonds returns once cond holds for the bond view (at once if it
// already does), or with ctx's error.
// After Leave it returns ErrGroupLeft.
func (grp *Group) WaitBonds(ctx context.Context, cond func(BondsView) bool) (BondsView, error) {
	return waitGroupValue(ctx, grp, grp.view, cond)
}

// waitGroupValue waits until cond holds for one of a group's watchable
// values (at once if it already does), the group is left (ErrGroupLeft),
// or ctx ends.
func waitGroupValue[T any](ctx context.Context, grp *Group, v *feed.Value[T], cond func(T) bool) (T, error) {
	for {
		cur, changed := v.Load()
		if cond(cur) {
			return cur, nil
		}
		select {
		case <-changed:
		case <-grp.left:
			return v.Get(), ErrGroupLeft
		case <-ctx.Done():
			return cur, ctx.Err()
		}
	}
}

// Subscribe returns bond events from now on.
func (grp *Group) Subscribe() *feed.Subscription[BondEvent] { return grp.events.Subscribe(0) }

// Leave sends Departure on every bond, removes the group from the local
// entry and stops the group actor. It returns once the actor has stopped
// or ctx ends. Calling it again is harmless.
func (grp *Group) Leave(ctx context.Context) error { return grp.leave(ctx, false) }

func (grp *Group) leave(ctx context.Context, keepReplica bool) error {
	select {
	case <-grp.left:
		return nil
	default:
	}
	grp.owner.sys.Root().Send(grp.pid, &leaveGroup{keepReplica: keepReplica})
	select {
	case <-grp.left:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("actors: leave %s: %w", grp.id.Short(), ctx.Err())
	}
}

// Left is closed once the group's actor has stopped.
func (grp *Group) Left() <-chan struct{} { return grp.left }

// Context is cancelled once the group's actor has stopped, as Left is
// closed: work that must end with the group can hang off it (with
// context.AfterFunc, say) without a goroutine of its own.
func (grp *Group) Context() context.Context { return grp.ctx }

// BondsView is a group's bonds as one member sees them.
type BondsView struct {
	Self id.PeerID
	// Peers are this member's bonded peers, in peer order.
	Peers []id.PeerID
	// Topology holds every bond the member knows of in the group: its own
	// and those other members announced (BondFormed, handshakes).
	Topology []groups.Pair
}

// Has reports whether this member has a bond with p.
func (v BondsView) Has(p id.PeerID) bool {
	for _, q := range v.Peers {
		if q == p {
			return true
		}
	}
	return false
}

// Knows reports whether the topology holds a bond between a and b.
func (v BondsView) Knows(a, b id.PeerID) bool {
	want := groups.PairOf(a, b)
	for _, p := range v.Topology {
		if p == want {
			return true
		}
	}
	return false
}

// BondEvent reports a bond of this member coming up or going down.
type BondEvent struct {
	Peer id.PeerID
	Up   bool
	// Err tells why a bond went down or a bond attempt failed (a
	// *transport.CloseError or *groups.Rejection carries the close code);
	// nil for a bond that came up or ended cleanly.
	Err error
}

// Messages of the groups supervisor and group actors.
type (
	spawnGroup   struct{ group *Group }
	incomingBond struct {
		link   transport.Link
		start  groups.Start
		secret []byte // the link's shared secret for the group's label
	}
	// leaveGroup: keepReplica is set when the node closes, so that its
	// replica restarts with it; an explicit Leave forgets the replica.
	leaveGroup struct{ keepReplica bool }
)

// groupsSupervisor is the parent of every group actor of a node.
type groupsSupervisor struct{}

func (s *groupsSupervisor) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(*spawnGroup); ok {
		grp := m.group
		// Bonds end rather than restart: a crashed bond's link state is
		// lost, and the group actor dials again.
		strategy := actor.NewOneForOneStrategy(0, time.Second, func(any) actor.Directive { return actor.StopDirective })
		pid, err := ctx.SpawnNamed(Props(func() actor.Actor { return newGroupActor(grp) }, actor.WithSupervisor(strategy)), grp.id.String())
		ctx.Respond(&spawnResult{pid: pid, err: err})
	}
}
