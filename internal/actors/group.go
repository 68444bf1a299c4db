package actors

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/transport"
)

// Group actor messages.
type (
	catalogChanged struct{ snap *discovery.Snapshot }
	groupTick      struct{}
	advertised     struct{ joined bool }
	leaveDue       struct{}
	// dialNow dials a peer we have no bond with, whatever the dial rule
	// says. Only tests send it, to make both sides of a pair dial at once.
	dialNow struct {
		peer id.PeerID
		addr string
	}
)

// dialFailures counts the failed dials in a row to a peer, for the
// backoff, while its catalog entry stays at version.
type dialFailures struct {
	count   int
	version uint64
}

// bondRef is the group actor's record of one bond actor.
type bondRef struct {
	pid   *actor.PID
	dir   groups.Direction
	up    bool
	since time.Time
	queue *sendQueue // the bond's write queue, once up
}

// groupActor is the member of one group on one node: the Go form of the
// reference's group worker. It advertises the membership in the local
// entry, keeps one bond to every authorized member it sees in the catalog
// (lower peer id dials; the higher one dials too if nothing arrives),
// accepts the bonds routed to it, resolves duplicates, passes entry updates
// and topology news over bonds, and on leave says goodbye on every bond.
type groupActor struct {
	grp   *Group
	tasks *Tasks

	bonds     map[id.PeerID]*bondRef
	topology  map[groups.Pair]struct{} // bonds between other members, as announced
	firstSeen map[id.PeerID]time.Time  // when the catalog first listed a member we have no bond with
	retryAt   map[id.PeerID]time.Time  // no dial before this, after a failed attempt
	failures  map[id.PeerID]dialFailures
	// bondedOnce holds the peers this group has had a bond with (they
	// proved the group key): they are redialed without a growing pause.
	bondedOnce map[id.PeerID]struct{}
	localVer   uint64 // version of the local entry last pushed to bonds

	leaving, unadvertised bool

	// The consensus part (shard.go): the shard lifecycle, the origin of
	// its logical clock, and what the state machine reports.
	shard    *groups.Lifecycle
	origin   time.Time
	progress replicaProgress
}

func newGroupActor(grp *Group) actor.Actor { return &groupActor{grp: grp} }

func (a *groupActor) self() id.PeerID { return a.grp.owner.p.Key.PeerID() }

func (a *groupActor) consensus() groups.ConsensusConfig { return a.grp.cfg.Consensus }

func (a *groupActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.start(ctx)
	case *actor.Restarting:
		a.tasks.Stop()
	case *actor.Stopping:
		a.tasks.Stop()
		a.step(ctx, groups.Leave{})
	case *actor.Stopped:
		a.grp.metrics.Forget() // before a new join of the group may start its series
		a.grp.owner.forget(a.grp)
		a.grp.events.Close()
		a.grp.losses.Close()
		close(a.grp.left)
		a.grp.endCtx()
	case *catalogChanged:
		a.reconcile(ctx, m.snap)
		if !a.leaving {
			a.step(ctx, groups.CatalogChanged{Members: a.catalogMembers(m.snap)})
		}
	case *groupTick:
		a.reconcile(ctx, a.grp.owner.p.Discovery.Catalog())
		if !a.leaving {
			a.tickShard(ctx)
		}
	case *shardEvent:
		if mr, ok := m.ev.(groups.MembershipRead); ok {
			a.membershipRead(ctx, mr)
		} else {
			a.step(ctx, m.ev)
		}
	case *shardNews:
		a.shardNewsArrived(ctx, m)
	case *machineFailed:
		a.step(ctx, groups.MachineFailed{Err: m.err})
	case *incomingBond:
		a.incoming(ctx, m)
	case *bondUp:
		a.bondUp(ctx, m)
	case *bondDown:
		a.bondDown(ctx, m)
	case *bondReceived:
		a.received(ctx, m)
	case *advertised:
		if !m.joined {
			a.unadvertised = true
			a.maybeFinishLeave(ctx)
		}
	case *leaveGroup:
		if !m.keepReplica {
			a.grp.owner.dropRecord(a.grp.id)
		}
		a.leave(ctx)
	case *leaveDue:
		ctx.Stop(ctx.Self())
	case *dialNow:
		if _, bonded := a.bonds[m.peer]; !bonded {
			a.dial(ctx, m.peer, m.addr)
		}
	}
}

func (a *groupActor) start(ctx actor.Context) {
	a.tasks = NewTasks()
	a.bonds = map[id.PeerID]*bondRef{}
	a.topology = map[groups.Pair]struct{}{}
	a.firstSeen = map[id.PeerID]time.Time{}
	a.retryAt = map[id.PeerID]time.Time{}
	a.failures = map[id.PeerID]dialFailures{}
	a.bondedOnce = map[id.PeerID]struct{}{}
	a.publish()
	// A previous run may have left a replica of this group in the data
	// directory: the lifecycle loads its record first.
	a.startShard(ctx)
	disc, gid, observer := a.grp.owner.p.Discovery, a.grp.id, a.grp.cfg.Leadership.Observer
	// Advertise the membership so that other members find us; an
	// observer says so at once, so that nobody waits for it to start the
	// group's shard.
	a.tasks.Go(ctx, func(tctx context.Context) any {
		_ = disc.UpdateLocal(tctx, func(e *discovery.Entry) {
			if !e.InGroup(gid) {
				e.Groups = append(e.Groups, gid)
			}
			if observer {
				if e.Shards == nil {
					e.Shards = map[id.GroupID]discovery.ShardAd{}
				}
				ad := e.Shards[gid]
				ad.Observer = true
				e.Shards[gid] = ad
			}
		})
		return nil
	})
	// Follow the catalog: every published snapshot becomes a message.
	sys, self := ctx.ActorSystem(), ctx.Self()
	a.tasks.Go(ctx, func(tctx context.Context) any {
		for {
			snap := disc.Catalog()
			sys.Root.Send(self, &catalogChanged{snap: snap})
			select {
			case <-snap.Changed():
			case <-tctx.Done():
				return nil
			}
		}
	})
	a.tasks.Every(ctx, a.consensus().HeartbeatInterval, &groupTick{})
}

// reconcile brings bonds in line with the catalog: push a changed local
// entry, drop bonds whose peer lost authorization, and dial members we
// have no bond with.
func (a *groupActor) reconcile(ctx actor.Context, snap *discovery.Snapshot) {
	if a.leaving {
		return
	}
	now := time.Now()
	local := snap.LocalSigned()
	if local.Version() != a.localVer {
		a.localVer = local.Version()
		a.broadcast(groups.PeerEntryUpdateMessage(local.Proto()), id.PeerID{})
	}
	members := map[id.PeerID]discovery.Entry{}
	for _, e := range snap.Peers() {
		if e.InGroup(a.grp.id) {
			members[e.Peer] = e
		}
	}
	// Membership itself is not re-checked here: the catalog may lag behind
	// a bond (the handshake proved the key), and a member that leaves says
	// so with a Departure. Authorization is, since entries carry tickets.
	for peer, ref := range a.bonds {
		if e, ok := snap.Get(peer); ok {
			if err := a.authorize(e); err != nil {
				ctx.Send(ref.pid, &closeBond{code: transport.CodeNotAllowed, reason: err.Error()})
			}
		}
	}
	// Learned bonds of others are forgotten once an end has left the
	// catalog. Group membership in entries is not used for this: entries
	// may lag behind bonds.
	changed := false
	for pair := range a.topology {
		_, okA := snap.Get(pair.A)
		_, okB := snap.Get(pair.B)
		if !okA || !okB {
			delete(a.topology, pair)
			changed = true
		}
	}
	if changed {
		a.publish()
	}
	for _, m := range []map[id.PeerID]time.Time{a.firstSeen, a.retryAt} {
		for peer := range m {
			if _, ok := members[peer]; !ok {
				delete(m, peer)
			}
		}
	}
	for peer := range a.failures {
		if _, ok := members[peer]; !ok {
			delete(a.failures, peer)
		}
	}
	for peer := range a.bondedOnce {
		if _, ok := members[peer]; !ok {
			delete(a.bondedOnce, peer)
		}
	}
	// The higher peer waits this long for the lower one to dial before it
	// dials itself: the lower one may not have it in its catalog yet.
	fallback := 5 * a.consensus().HeartbeatInterval
	dialing := 0
	for _, ref := range a.bonds {
		if !ref.up && ref.dir == groups.Outgoing {
			dialing++
		}
	}
	for _, peer := range slices.SortedFunc(maps.Keys(members), id.PeerID.Compare) {
		if _, bonded := a.bonds[peer]; bonded {
			continue
		}
		if _, seen := a.firstSeen[peer]; !seen {
			a.firstSeen[peer] = now
		}
		e := members[peer]
		if f, ok := a.failures[peer]; ok && f.version != e.Version {
			// A new entry (a restart, a new address): the failures were
			// the old one's.
			delete(a.failures, peer)
			delete(a.retryAt, peer)
		}
		if now.Before(a.retryAt[peer]) || len(e.Addrs) == 0 || a.authorize(e) != nil {
			continue
		}
		if dialing >= groups.MaxDialsInFlight {
			break // the next reconcile (a tick at most) dials more
		}
		if groups.Dials(a.self(), peer) || now.Sub(a.firstSeen[peer]) >= fallback {
			a.dial(ctx, peer, e.Addrs[0])
			dialing++
		}
	}
}

func (a *groupActor) wasBonded(peer id.PeerID) bool {
	_, ok := a.bondedOnce[peer]
	return ok
}

func (a *groupActor) authorize(e discovery.Entry) error { return a.grp.cfg.admits(e) }

func (a *groupActor) params(peer id.PeerID, dir groups.Direction) bondParams {
	o := a.grp.owner
	return bondParams{
		group:      a.grp.id,
		network:    o.p.Network,
		key:        a.grp.cfg.Key,
		self:       a.self(),
		peer:       peer,
		consensus:  a.consensus(),
		dir:        dir,
		endpoint:   o.p.Endpoint,
		raft:       o.consensus.factory.Deliver,
		knownBonds: a.upPeers(),
		stats:      &o.stats,
		metrics:    a.grp.metrics,
	}
}

func (a *groupActor) spawnBond(ctx actor.Context, p bondParams) {
	pid := ctx.SpawnPrefix(Props(newBondActor(p)), p.peer.Short())
	a.bonds[p.peer] = &bondRef{pid: pid, dir: p.dir, since: time.Now()}
}

func (a *groupActor) dial(ctx actor.Context, peer id.PeerID, addr string) {
	p := a.params(peer, groups.Outgoing)
	p.addr = addr
	a.spawnBond(ctx, p)
}

// incoming takes a bond whose handshake the groups handler verified. If a
// bond with the peer exists already, both sides keep the same one of the
// two (groups.KeepArriving) and the other closes with 30_429.
func (a *groupActor) incoming(ctx actor.Context, m *incomingBond) {
	peer := m.link.Peer()
	if a.leaving {
		m.link.Close(transport.CodeGroupNotFound, "leaving the group")
		return
	}
	if ref, ok := a.bonds[peer]; ok {
		if !groups.KeepArriving(a.self(), peer, ref.dir, groups.Incoming) {
			m.link.Close(transport.CodeAlreadyBonded, "already bonded")
			a.grp.events.Publish(BondEvent{Peer: peer, Err: &transport.CloseError{Code: transport.CodeAlreadyBonded, Reason: "duplicate refused"}})
			return
		}
		ctx.Send(ref.pid, &closeBond{code: transport.CodeAlreadyBonded, reason: "replaced by the preferred bond"})
		if ref.up {
			a.host().unroute(peer, ref.queue)
		}
		delete(a.bonds, peer)
	}
	p := a.params(peer, groups.Incoming)
	p.link, p.secret = m.link, m.secret
	a.spawnBond(ctx, p)
	a.learn(peer, m.start.KnownBonds)
}

// learn records the bonds a peer told us it has.
func (a *groupActor) learn(peer id.PeerID, bonded []id.PeerID) {
	for _, q := range bonded {
		a.learnPair(groups.PairOf(peer, q))
	}
}

// learnPair records a bond between two other members. Our own bonds are
// not learned: they are read from a.bonds, which is always current.
func (a *groupActor) learnPair(p groups.Pair) {
	if p.A != p.B && !p.Has(a.self()) {
		a.topology[p] = struct{}{}
	}
}

func (a *groupActor) bondUp(ctx actor.Context, m *bondUp) {
	ref, ok := a.bonds[m.peer]
	if !ok || ref.pid != m.pid {
		return // replaced while its handshake ran; it is being closed
	}
	ref.up, ref.queue = true, m.queue
	a.host().route(m.peer, m.queue)
	delete(a.retryAt, m.peer)
	delete(a.failures, m.peer)
	delete(a.firstSeen, m.peer)
	a.bondedOnce[m.peer] = struct{}{}
	a.learn(m.peer, m.knownBonds)
	a.broadcast(groups.BondFormedMessage(groups.PairOf(a.self(), m.peer)), m.peer)
	// The new peer's handshake carried our bonds as they were when it
	// began; tell it again, since bonds may have formed meanwhile.
	for _, q := range a.upPeers() {
		if q != m.peer {
			ctx.Send(ref.pid, groups.BondFormedMessage(groups.PairOf(a.self(), q)))
		}
	}
	a.publish()
	a.grp.events.Publish(BondEvent{Peer: m.peer, Up: true})
	a.step(ctx, groups.BondUp{Peer: m.peer})
}

func (a *groupActor) bondDown(ctx actor.Context, m *bondDown) {
	// Raft frames must never go to the queue of a bond that is gone,
	// whether or not it was still the peer's current bond: they would
	// vanish without an error.
	a.host().unroute(m.peer, m.queue)
	ref, ok := a.bonds[m.peer]
	if ok && ref.pid == m.pid {
		delete(a.bonds, m.peer)
		if ref.up {
			a.step(ctx, groups.BondDown{Peer: m.peer})
		} else {
			// A failed attempt (wrong key, refused, unreachable) is not
			// retried at once: that would be a dial storm. For a peer
			// never bonded, each failure in a row doubles the pause.
			f := a.failures[m.peer]
			f.count++
			a.logBondFailure(m.peer, m.err, f.count)
			if e, ok := a.grp.owner.p.Discovery.Catalog().Get(m.peer); ok {
				f.version = e.Version
			}
			a.failures[m.peer] = f
			a.retryAt[m.peer] = time.Now().Add(groups.DialBackoff(f.count, a.consensus().ForwardTimeout, a.wasBonded(m.peer)))
		}
		a.publish()
	}
	a.grp.events.Publish(BondEvent{Peer: m.peer, Err: m.err})
	a.maybeFinishLeave(ctx)
}

func (a *groupActor) received(ctx actor.Context, m *bondReceived) {
	switch k := m.msg.GetKind().(type) {
	case *messages.BondMessage_JoinRequest, *messages.BondMessage_JoinReply, *messages.BondMessage_Progress:
		a.receivedConsensus(ctx, m.peer, m.msg)
	case *messages.BondMessage_PeerEntryUpdate:
		a.grp.owner.p.Discovery.Offer(k.PeerEntryUpdate.GetEntry())
	case *messages.BondMessage_BondFormed:
		pair, err := groups.BondFormedPair(k.BondFormed)
		if err == nil {
			a.learnPair(pair)
			a.publish()
		}
	}
	// Raft frames never come here: bonds hand them to the replication
	// engine directly (see bondParams.raft).
}

// sendTo queues msg on the bond to peer, if it is up.
func (a *groupActor) sendTo(peer id.PeerID, msg *messages.BondMessage) {
	if ref, ok := a.bonds[peer]; ok && ref.up {
		a.grp.owner.sys.Root().Send(ref.pid, msg)
	}
}

// broadcast queues msg on every bond that is up, except to skip.
func (a *groupActor) broadcast(msg *messages.BondMessage, skip id.PeerID) {
	for peer, ref := range a.bonds {
		if ref.up && peer != skip {
			a.grp.owner.sys.Root().Send(ref.pid, msg)
		}
	}
}

func (a *groupActor) upPeers() []id.PeerID {
	var out []id.PeerID
	for peer, ref := range a.bonds {
		if ref.up {
			out = append(out, peer)
		}
	}
	slices.SortFunc(out, id.PeerID.Compare)
	return out
}

func (a *groupActor) publish() {
	peers := a.upPeers()
	all := maps.Clone(a.topology)
	for _, p := range peers {
		all[groups.PairOf(a.self(), p)] = struct{}{}
	}
	pairs := slices.SortedFunc(maps.Keys(all), func(x, y groups.Pair) int {
		if c := x.A.Compare(y.A); c != 0 {
			return c
		}
		return x.B.Compare(y.B)
	})
	a.grp.view.Set(BondsView{Self: a.self(), Peers: peers, Topology: pairs})
	a.grp.metrics.SetBonds(len(peers))
}

// leave says goodbye: Departure on every bond, the membership removed
// from the local entry, then the actor stops, once both are done or the
// grace period ends.
func (a *groupActor) leave(ctx actor.Context) {
	if a.leaving {
		return
	}
	a.leaving = true
	for _, ref := range a.bonds {
		ctx.Send(ref.pid, &departBond{reason: "left the group"})
	}
	disc, gid := a.grp.owner.p.Discovery, a.grp.id
	grace := 2 * a.consensus().ForwardTimeout
	a.tasks.Go(ctx, func(tctx context.Context) any {
		tctx, cancel := context.WithTimeout(tctx, grace)
		defer cancel()
		_ = disc.UpdateLocal(tctx, func(e *discovery.Entry) {
			e.Groups = slices.DeleteFunc(e.Groups, func(g id.GroupID) bool { return g == gid })
		})
		return &advertised{joined: false}
	})
	a.tasks.Go(ctx, func(tctx context.Context) any {
		select {
		case <-time.After(grace):
			return &leaveDue{}
		case <-tctx.Done():
			return nil
		}
	})
	a.maybeFinishLeave(ctx)
}

func (a *groupActor) maybeFinishLeave(ctx actor.Context) {
	if a.leaving && a.unadvertised && len(a.bonds) == 0 {
		ctx.Stop(ctx.Self())
	}
}

// logBondFailure logs a failed bond attempt: at Warn the first time in a
// row when the peer refused us with a code that points at configuration
// (wrong key, tickets, network), at Debug otherwise.
func (a *groupActor) logBondFailure(peer id.PeerID, err error, inARow int) {
	level := slog.LevelDebug
	attrs := []any{"peer", peer.Short(), "attempt", inARow, "err", err}
	var ce *transport.CloseError
	if errors.As(err, &ce) {
		attrs = append(attrs, "code", uint32(ce.Code))
		switch ce.Code {
		case transport.CodeNotAllowed, transport.CodeInvalidProof, transport.CodeDifferentNetwork, transport.CodeGroupNotFound:
			if inARow == 1 {
				level = slog.LevelWarn
			}
		}
	}
	a.log().Log(context.Background(), level, "bond refused or failed", attrs...)
}
