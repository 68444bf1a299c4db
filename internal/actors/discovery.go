package actors

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/memberlist"
	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/feed"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/metrics"
	"github.com/mosaikgo/mosaik/transport"
)

// DiscoveryParams is what a node hands its discovery actor.
type DiscoveryParams struct {
	Key      id.SecretKey
	Network  id.NetworkID
	Config   discovery.Config
	Endpoint transport.Endpoint
	// Local is the node's first entry; Network, Peer and Version are set
	// by the actor.
	Local discovery.Entry
	// Bootstrap lists gossip addresses to rejoin while this node knows no
	// other member.
	Bootstrap []string
	// Now is the clock; nil means time.Now. Tests pass a fake.
	Now func() time.Time
	// Metrics records catalog size and events; nil records nothing.
	Metrics *metrics.Node
	// NetworkSecret, when set, is the network's secret (the gossip
	// secret): peers must prove they hold it before a sync link carries a
	// catalog either way (see discovery.Admission). Empty leaves sync open
	// to anyone who knows the network's name, as gossip then is.
	NetworkSecret []byte
}

// DiscoveryStats counts what discovery rejected and did. Every field only
// grows.
type DiscoveryStats struct {
	Rejected   atomic.Uint64 // entries, heads or payloads that failed validation
	Fetches    atomic.Uint64 // direct fetches of entries from their owners
	Discovered atomic.Uint64
	Updated    atomic.Uint64
	Departed   atomic.Uint64
	Forgotten  atomic.Uint64 // kept entries of departed peers dropped after PurgeAfter
	Syncs      atomic.Uint64 // full catalog states of this network merged (push-pull or sync)
	PushBacks  atomic.Uint64 // push-backs started: entries handed to a push-pull's sender that its state lacked

	// What the bounds against outsiders turned away.
	CatalogRefused atomic.Uint64 // entries and peers refused at the catalog's bounds (MaxPeers, MaxCatalogBytes)
	SyncCapped     atomic.Uint64 // entries of new peers past MaxNewPerSync in one catalog state
	Shed           atomic.Uint64 // payloads dropped because the actor's queue was full
	SyncRefused    atomic.Uint64 // sync links closed for another network or no valid proof of the secret
	SyncBusy       atomic.Uint64 // sync links closed because maxSyncsServed were being served
	PushBackDrops  atomic.Uint64 // push-backs refused: too many queued, or one to the peer started within pushBackEvery
}

// Discovery is a node's handle on its discovery actor: the catalog's
// current snapshot and events for readers anywhere, the memberlist
// delegates that feed the actor, and the calls that change the local entry.
type Discovery struct {
	p      DiscoveryParams
	sys    *System
	pid    *actor.PID
	watch  *discovery.Watch
	events *feed.Feed[discovery.Event]
	stats  DiscoveryStats

	closed atomic.Bool   // set by Close; late gossip callbacks are dropped
	done   chan struct{} // closed by Close: waits for the actor end
	close  sync.Once
	ml     atomic.Pointer[memberlist.Memberlist] // set by Attach; outlives actor restarts
	// advertise serializes UpdateNode calls (read side) against Detach
	// (write side): memberlist's UpdateNode dereferences the local node's
	// state, which is gone once a leave has been gossiped and reaped.
	advertise  sync.RWMutex
	meta       atomic.Pointer[[]byte] // signed head for memberlist meta
	broadcasts *memberlist.TransmitLimitedQueue
	members    atomic.Int32 // memberlist's node count, for retransmit scaling

	adm     discovery.Admission
	serving chan struct{} // one token per sync link being served
	// status reports the node's groups to peers that ask (SyncAsk.Status);
	// set by SetStatusSource once the groups layer runs.
	status atomic.Pointer[func() []groups.Status]
	queue  inputQueue // payloads sent to the actor and not yet taken
}

// inputQueue bounds the payloads waiting in the discovery actor's mailbox
// (see discovery.Config.MaxQueuedInputs): protoactor's mailboxes are
// unbounded, so the bound is kept beside it, as credit taken by the
// sender and returned by the actor.
type inputQueue struct {
	maxInputs, maxBytes int64
	inputs, bytes       atomic.Int64
}

// take reserves room for one payload of size bytes, or reports that it
// does not fit. A payload larger than the whole byte bound fits when
// nothing else waits, so that it is slowed, never refused for good.
func (q *inputQueue) take(size int64) bool {
	if q.inputs.Add(1) > q.maxInputs {
		q.inputs.Add(-1)
		return false
	}
	if b := q.bytes.Add(size); b > q.maxBytes && b != size {
		q.bytes.Add(-size)
		q.inputs.Add(-1)
		return false
	}
	return true
}

// release returns one payload's room.
func (q *inputQueue) release(size int64) {
	q.inputs.Add(-1)
	q.bytes.Add(-size)
}

// queuedPayload is a payload that took room in the input queue; merged,
// if set, is closed once the actor has merged it.
type queuedPayload struct {
	payload *messages.GossipPayload
	merged  chan struct{}
}

// barrier is closed by the actor when it reaches it in its mailbox: every
// message sent before it has been handled.
type barrier struct{ done chan struct{} }

// ErrDiscoveryClosed is returned by waits on a discovery that was closed.
var ErrDiscoveryClosed = errors.New("actors: discovery closed")

// ErrBusy is returned by a sync whose state the discovery actor's full
// input queue could not take: the node is shedding load.
var ErrBusy = errors.New("actors: discovery busy: input queue full")

// StartDiscovery signs the node's first entry, spawns the discovery actor
// as a child of sys, and serves /mosaik/discovery/sync/2 on the endpoint.
// Attach memberlist afterwards (created with [Discovery.Delegate] and
// [Discovery.EventDelegate]).
func StartDiscovery(sys *System, p DiscoveryParams) (*Discovery, error) {
	if p.Now == nil {
		p.Now = time.Now
	}
	p.Config = p.Config.WithDefaults()
	d := &Discovery{p: p, sys: sys, events: feed.New[discovery.Event](), done: make(chan struct{}),
		adm:     discovery.NewAdmission(p.Network, p.NetworkSecret),
		serving: make(chan struct{}, maxSyncsServed)}
	d.queue.maxInputs, d.queue.maxBytes = int64(p.Config.MaxQueuedInputs), int64(p.Config.MaxQueuedBytes)
	d.broadcasts = &memberlist.TransmitLimitedQueue{
		NumNodes:       func() int { return int(max(d.members.Load(), 1)) },
		RetransmitMult: 3,
	}
	local := p.Local.Clone()
	local.Network, local.Peer = p.Network, p.Key.PeerID()
	local.Version = discovery.NextVersion(0, p.Now())
	signed, err := discovery.Sign(local, p.Key)
	if err != nil {
		return nil, err
	}
	core := discovery.NewCatalog(signed, p.Config.PurgeAfter)
	core.Limit(p.Config.MaxPeers, p.Config.MaxCatalogBytes)
	d.watch = discovery.NewWatch(core.Snapshot())
	if err := d.setHead(signed); err != nil {
		return nil, err
	}
	pid, err := sys.Spawn(Props(func() actor.Actor { return &discoveryActor{d: d, core: core} }), "discovery")
	if err != nil {
		return nil, err
	}
	d.pid = pid
	d.queueBroadcast(signed) // announce ourselves with the first gossip
	if err := p.Endpoint.Handle(transport.ALPNDiscoverySync, d.serveSync); err != nil {
		return nil, fmt.Errorf("actors: discovery: %w", err)
	}
	return d, nil
}

// Catalog returns the current snapshot.
func (d *Discovery) Catalog() *discovery.Snapshot { return d.watch.Current() }

// Subscribe returns catalog events from now on.
func (d *Discovery) Subscribe() *feed.Subscription[discovery.Event] { return d.events.Subscribe(0) }

// Stats returns the live counters.
func (d *Discovery) Stats() *DiscoveryStats { return &d.stats }

// Attach hands the running memberlist to the actor, which uses it to
// re-advertise the local head, to fetch entries by push-pull and to
// rejoin departed peers. It is kept on the handle, not in the actor, so a
// restarted actor still has it.
func (d *Discovery) Attach(ml *memberlist.Memberlist) { d.ml.Store(ml) }

// Detach takes memberlist away from the actor before the node leaves. It
// waits for a running re-advertisement (bounded by LeaveTimeout), so that
// no UpdateNode overlaps memberlist's Leave or runs after it.
func (d *Discovery) Detach() {
	d.advertise.Lock()
	defer d.advertise.Unlock()
	d.ml.Store(nil)
}

// UpdateLocal applies change to a copy of the local entry, re-signs it
// with a new version and spreads it. It returns once the actor has
// installed the new entry, or when ctx ends.
func (d *Discovery) UpdateLocal(ctx context.Context, change func(*discovery.Entry)) error {
	reply := make(chan error, 1) // buffered: the actor never waits on it
	d.sys.Root().Send(d.pid, &updateLocal{change: change, reply: reply})
	select {
	case err := <-reply:
		if err != nil {
			return fmt.Errorf("actors: update local entry: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Offer hands the actor a signed entry that arrived outside gossip (over
// a bond); it is verified and merged like any other.
func (d *Discovery) Offer(entry *messages.SignedPeerEntry) {
	if entry == nil {
		return
	}
	b, err := proto.Marshal(&messages.CatalogState{NetworkId: d.p.Network.Proto(), Entries: []*messages.SignedPeerEntry{entry}})
	if err == nil {
		d.sendPayload(messages.GossipPayload_KIND_SYNC, b)
	}
}

// Depart says farewell: it signs a last entry marked departing and hands
// it to every peer in the catalog over sync links, in parallel, so that
// each one drops this node at once and records why. Gossip would carry the
// farewell too, but with no ordering against memberlist's own leave
// message, which peers cannot tell apart from a death.
func (d *Discovery) Depart(ctx context.Context) error {
	if err := d.UpdateLocal(ctx, func(e *discovery.Entry) { e.Departing = true }); err != nil {
		return err
	}
	snap := d.Catalog()
	farewell := &messages.CatalogState{
		NetworkId: d.p.Network.Proto(),
		Entries:   []*messages.SignedPeerEntry{snap.LocalSigned().Proto()},
	}
	// Only our own entry comes back: the answer is not wanted, and a whole
	// catalog from every peer would be wasted work while closing.
	ask := discovery.SyncAsk{Push: true, Only: d.p.Key.PeerID()}
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxFarewells)
	for _, e := range snap.Peers() {
		if len(e.Addrs) == 0 {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			// A peer that cannot be told learns from gossip instead.
			_, _ = d.syncWith(ctx, e.Peer, e.Addrs[0], ask, farewell)
		})
	}
	wg.Wait()
	return nil
}

// Close ends event subscriptions and drops anything memberlist's
// goroutines still deliver after its Shutdown. The actor itself stops with
// its system.
func (d *Discovery) Close() {
	d.closed.Store(true)
	d.close.Do(func() { close(d.done) })
	d.events.Close()
}

func (d *Discovery) setHead(s discovery.Signed) error {
	b, err := discovery.EncodeHead(discovery.HeadOf(s), d.p.Key)
	if err != nil {
		return fmt.Errorf("actors: encode head: %w", err)
	}
	if len(b) > memberlist.MetaMaxSize {
		return fmt.Errorf("actors: head of %d bytes exceeds memberlist's %d", len(b), memberlist.MetaMaxSize)
	}
	d.meta.Store(&b)
	return nil
}

// send hands a message to the actor. memberlist callbacks use it: it
// copies nothing itself, never blocks and never calls memberlist.
func (d *Discovery) send(m proto.Message) {
	if !d.closed.Load() {
		d.sys.Root().Send(d.pid, m)
	}
}

// sendPayload hands a payload to the actor if the input queue has room,
// and otherwise drops it and counts it (Shed): under a flood the node
// sheds work instead of queueing it without bound. Like send, it never
// blocks.
func (d *Discovery) sendPayload(kind messages.GossipPayload_Kind, data []byte) {
	d.queuePayload(kind, data, nil)
}

// queuePayload is sendPayload that reports whether the payload was taken;
// merged, if set, is closed once the actor has merged it.
func (d *Discovery) queuePayload(kind messages.GossipPayload_Kind, data []byte, merged chan struct{}) bool {
	if d.closed.Load() {
		return false
	}
	if !d.queue.take(int64(len(data))) {
		d.stats.Shed.Add(1)
		return false
	}
	d.sys.Root().Send(d.pid, &queuedPayload{payload: &messages.GossipPayload{Kind: kind, Data: data}, merged: merged})
	return true
}

// mergeAndWait hands a catalog state to the actor and returns once it is
// merged into the catalog, ctx ends, or the node closes.
func (d *Discovery) mergeAndWait(ctx context.Context, data []byte) error {
	merged := make(chan struct{})
	if !d.queuePayload(messages.GossipPayload_KIND_SYNC, data, merged) {
		if d.closed.Load() {
			return ErrDiscoveryClosed
		}
		return ErrBusy
	}
	return d.await(ctx, merged)
}

// Settle returns once the actor has handled everything sent to it before
// the call (memberlist's callbacks included), so that the catalog reflects
// it, or ctx ends, or the node closes.
func (d *Discovery) Settle(ctx context.Context) error {
	if d.closed.Load() {
		return ErrDiscoveryClosed
	}
	b := &barrier{done: make(chan struct{})}
	d.sys.Root().Send(d.pid, b)
	return d.await(ctx, b.done)
}

func (d *Discovery) await(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-d.done:
		return ErrDiscoveryClosed
	}
}

// Delegate returns the memberlist delegate; its callbacks copy their
// input and send it to the actor.
func (d *Discovery) Delegate() memberlist.Delegate { return (*gossipDelegate)(d) }

// EventDelegate returns the memberlist event delegate.
func (d *Discovery) EventDelegate() memberlist.EventDelegate { return (*gossipEvents)(d) }

type gossipDelegate Discovery

func (g *gossipDelegate) NodeMeta(limit int) []byte {
	b := *g.meta.Load()
	if len(b) > limit {
		return nil // cannot happen: setHead checked the cap
	}
	return b
}

func (g *gossipDelegate) NotifyMsg(b []byte) {
	(*Discovery)(g).sendPayload(messages.GossipPayload_KIND_BROADCAST, slices.Clone(b))
}

func (g *gossipDelegate) GetBroadcasts(overhead, limit int) [][]byte {
	return g.broadcasts.GetBroadcasts(overhead, limit)
}

// LocalState is the push-pull payload: our whole catalog, so a joiner
// learns every entry in its first exchange. It reads the published
// snapshot and never waits for the actor.
func (g *gossipDelegate) LocalState(bool) []byte {
	b, err := proto.Marshal(g.watch.Current().State(g.p.Network))
	if err != nil {
		return nil
	}
	return b
}

func (g *gossipDelegate) MergeRemoteState(buf []byte, _ bool) {
	(*Discovery)(g).sendPayload(messages.GossipPayload_KIND_REMOTE_STATE, slices.Clone(buf))
}

type gossipEvents Discovery

func (g *gossipEvents) NotifyJoin(n *memberlist.Node) {
	g.members.Add(1)
	g.alive(n)
}

func (g *gossipEvents) NotifyUpdate(n *memberlist.Node) { g.alive(n) }

func (g *gossipEvents) NotifyLeave(n *memberlist.Node) {
	g.members.Add(-1)
	(*Discovery)(g).send(&messages.GossipMemberGone{Name: n.Name, Left: n.State == memberlist.StateLeft})
}

func (g *gossipEvents) alive(n *memberlist.Node) {
	(*Discovery)(g).send(&messages.GossipMemberAlive{Name: n.Name, Meta: slices.Clone(n.Meta), Addr: n.Address()})
}

// Messages private to the discovery actor. They carry Go values (a
// memberlist handle, a closure) and never leave the process.
type (
	attachGossip struct{ ml *memberlist.Memberlist }
	updateLocal  struct {
		change func(*discovery.Entry)
		reply  chan<- error
	}
	discoveryTick struct{}
	reconnectDone struct{}
	advertiseDone struct{}
	fetchDone     struct {
		peer  id.PeerID
		state *messages.CatalogState
		err   error
	}
	pushBackDone struct{ peer id.PeerID }
)

// discoveryActor owns the catalog core. Inputs arrive as messages from
// memberlist callbacks, sync links, fetch tasks and the ticker; every
// input is verified, merged, and the results published.
type discoveryActor struct {
	d        *Discovery
	core     *discovery.Catalog
	tasks    *Tasks
	fetching map[id.PeerID]bool
	gossip   map[id.PeerID]string // memberlist address per peer, for push-pull fetches
	pushes   *discovery.PushBacks

	lastReconnect time.Time
	reconnecting  bool

	advertising, readvertiseAgain bool // an UpdateNode is running; another is due
}

// reconnect tries to rejoin departed peers and the bootstrap seeds.
// memberlist never probes a node it declared dead, so without this two
// sides of a healed partition would stay apart; a peer that is really
// gone simply does not answer, and its entry is purged after PurgeAfter.
func (a *discoveryActor) reconnect(ctx actor.Context) {
	ml := a.d.ml.Load()
	if a.reconnecting || ml == nil {
		return
	}
	var addrs []string
	for _, s := range a.core.Departed() {
		if ga := s.Entry().GossipAddr; ga != "" {
			addrs = append(addrs, ga)
		}
	}
	if ml.NumMembers() <= 1 {
		addrs = append(addrs, a.d.p.Bootstrap...)
	}
	if len(addrs) == 0 {
		return
	}
	a.reconnecting = true
	a.tasks.Go(ctx, func(context.Context) any {
		_, _ = ml.Join(addrs) // each address fails or joins on its own
		return &reconnectDone{}
	})
}

func (a *discoveryActor) Receive(ctx actor.Context) {
	now := a.d.p.Now()
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.tasks = NewTasks()
		a.fetching = map[id.PeerID]bool{}
		a.gossip = map[id.PeerID]string{}
		a.pushes = discovery.NewPushBacks(maxPushBacksWaiting, maxPushBacksRunning, pushBackEvery)
		a.tasks.Every(ctx, a.d.p.Config.TickInterval, &discoveryTick{})
	case *actor.Stopping:
		a.tasks.Stop()
	case *actor.Restarting:
		a.tasks.Stop()
	case *messages.GossipMemberAlive:
		peer, err := id.ParsePeerID(m.Name)
		if err != nil {
			a.d.stats.Rejected.Add(1)
			return
		}
		if peer != a.d.p.Key.PeerID() {
			a.gossip[peer] = m.Addr
		}
		// A head naming the entry we hold needs no signature check
		// (Catalog.HoldsHead); any other is verified.
		head, _, err := discovery.ParseHead(m.Meta)
		if err == nil && !a.core.HoldsHead(head) {
			head, err = discovery.DecodeHead(m.Meta)
		}
		if err != nil || head.Peer != peer {
			a.d.stats.Rejected.Add(1)
			head = discovery.Head{}
		}
		// A newer head usually has its entry right behind it in gossip, so
		// a missing entry is fetched on the next tick, not at once: in a
		// cold start of n nodes that saves n² fetches.
		refused := a.core.Refused()
		events, _ := a.core.Alive(peer, head, now)
		a.d.stats.CatalogRefused.Add(a.core.Refused() - refused)
		a.publish(events)
	case *messages.GossipMemberGone:
		peer, err := id.ParsePeerID(m.Name)
		if err != nil {
			return
		}
		delete(a.gossip, peer)
		a.publish(a.core.Gone(peer, m.Left, now))
	case *queuedPayload:
		a.d.queue.release(int64(len(m.payload.Data)))
		a.mergePayload(ctx, m.payload, now)
		if m.merged != nil {
			close(m.merged)
		}
	case *barrier:
		close(m.done)
	case *messages.GossipPayload:
		a.mergePayload(ctx, m, now)
	case *fetchDone:
		delete(a.fetching, m.peer)
		if m.err == nil {
			a.mergeState(ctx, m.state, now, false)
		}
	case *pushBackDone:
		a.pushes.Done(m.peer)
		a.startPushBacks(ctx)
	case *discoveryTick:
		events, forgotten := a.core.Tick(now)
		a.d.stats.Forgotten.Add(uint64(forgotten))
		a.publish(events)
		// Entries usually follow their heads within a few gossip rounds;
		// fetch only what is still missing after that.
		grace := 4 * a.d.p.Config.GossipInterval
		for _, p := range a.core.Outdated(now.Add(-grace)) {
			a.fetch(ctx, p)
		}
		if now.Sub(a.lastReconnect) >= a.d.p.Config.ReconnectInterval {
			a.lastReconnect = now
			a.reconnect(ctx)
		}
	case *reconnectDone:
		a.reconnecting = false
	case *advertiseDone:
		a.advertising = false
		if a.readvertiseAgain {
			a.readvertiseAgain = false
			a.readvertise(ctx)
		}
	case *updateLocal:
		prev := a.core.Local().Entry()
		e := prev.Clone()
		m.change(&e)
		err := a.resign(ctx, e, 0)
		m.reply <- err
		if err == nil {
			a.announce(ctx, prev, e)
		}
	}
}

func (a *discoveryActor) mergePayload(ctx actor.Context, m *messages.GossipPayload, now time.Time) {
	switch m.Kind {
	case messages.GossipPayload_KIND_BROADCAST:
		var b messages.DiscoveryBroadcast
		if err := proto.Unmarshal(m.Data, &b); err != nil {
			a.d.stats.Rejected.Add(1)
			return
		}
		var events []discovery.Event
		a.offer(ctx, b.GetEntry(), now, &events, nil)
		a.publish(events)
	case messages.GossipPayload_KIND_REMOTE_STATE, messages.GossipPayload_KIND_SYNC:
		var st messages.CatalogState
		if err := proto.Unmarshal(m.Data, &st); err != nil {
			a.d.stats.Rejected.Add(1)
			return
		}
		// A push-pull state is its sender's whole catalog: what it does
		// not list, the sender lacks. A sync's state may be one entry.
		a.mergeState(ctx, &st, now, m.Kind == messages.GossipPayload_KIND_REMOTE_STATE)
	default:
		a.d.stats.Rejected.Add(1)
	}
}

// mergeState merges a catalog state. The sender's own entry in it, if
// news, is fanned out; and with whole, the state is all the sender knows,
// so the sender is handed what it lacks (discovery.PushBack).
func (a *discoveryActor) mergeState(ctx actor.Context, st *messages.CatalogState, now time.Time, whole bool) {
	if net, err := id.DigestFromProto(st.GetNetworkId()); err != nil || net != a.d.p.Network {
		a.d.stats.Rejected.Add(uint64(max(len(st.GetEntries()), 1)))
		return
	}
	a.d.stats.Syncs.Add(1)
	sender, _ := id.PeerIDFromProto(st.GetSender())
	// Merged as one batch: one snapshot is published for the whole state,
	// not one per entry (a flood of n entries would otherwise cost n
	// snapshots of up to n entries each).
	var events []discovery.Event
	newPeers := a.d.p.Config.MaxNewPerSync
	senderNews := false
	for _, e := range st.GetEntries() {
		if s, news := a.offer(ctx, e, now, &events, &newPeers); news && s.Peer() == sender {
			senderNews = true
			a.fanOut(ctx, s)
		}
	}
	a.publish(events)
	if whole && senderNews {
		a.pushBack(ctx, st, sender)
	}
}

// pushBack queues the entries we hold that sender's whole catalog state
// st did not list, to be handed to sender over a sync link (see package
// discovery, spread.go). Only a sender failure detection lists gets one:
// its address is then more than a claim in an entry.
func (a *discoveryActor) pushBack(ctx actor.Context, st *messages.CatalogState, sender id.PeerID) {
	if _, member := a.gossip[sender]; !member {
		return
	}
	snap := a.core.Snapshot()
	e, ok := snap.Get(sender)
	if !ok || len(e.Addrs) == 0 {
		return
	}
	listed := make(map[id.Digest]bool, len(st.GetEntries()))
	for _, m := range st.GetEntries() {
		listed[id.Hash(m.GetEntry())] = true
	}
	// Our own entry is left out: the push-pull carried it to the sender.
	held := a.core.Known()[1:]
	entries := discovery.PushBack(held, func(d id.Digest) bool { return listed[d] }, sender, discovery.MaxPushBackEntries, discovery.MaxPushBackBytes)
	if len(entries) == 0 {
		return
	}
	dropped := a.pushes.Dropped()
	a.pushes.Add(discovery.PushBackTo{Peer: sender, Addr: e.Addrs[0], Entries: entries}, time.Now())
	a.d.stats.PushBackDrops.Add(a.pushes.Dropped() - dropped)
	a.startPushBacks(ctx)
}

// startPushBacks starts the queued push-backs that may run now. Each is a
// sync that pushes the entries and asks back only the peer's own entry;
// a peer that cannot be reached learns from gossip.
func (a *discoveryActor) startPushBacks(ctx actor.Context) {
	d, timeout := a.d, a.d.p.Config.FetchTimeout
	for {
		p, ok := a.pushes.Next(time.Now())
		if !ok {
			return
		}
		a.d.stats.PushBacks.Add(1)
		state := &messages.CatalogState{NetworkId: d.p.Network.Proto()}
		for _, s := range p.Entries {
			state.Entries = append(state.Entries, s.Proto())
		}
		a.tasks.Go(ctx, func(tctx context.Context) any {
			tctx, cancel := context.WithTimeout(tctx, timeout)
			defer cancel()
			_, _ = d.syncWith(tctx, p.Peer, p.Addr, discovery.SyncAsk{Push: true, Only: p.Peer}, state)
			return &pushBackDone{peer: p.Peer}
		})
	}
}

// fanOut sends a first-hand entry straight to the members we have seen
// alive in memberlist's callbacks (discovery.FanOutTo), one UDP packet
// each. A joiner's entry thus reaches the whole network one hop after the
// node it joined through has it, instead of spreading over gossip rounds
// (docs/performance.md, B4).
func (a *discoveryActor) fanOut(ctx actor.Context, s discovery.Signed) {
	ml := a.d.ml.Load()
	if ml == nil {
		return
	}
	b, err := proto.Marshal(&messages.DiscoveryBroadcast{Entry: s.Proto()})
	if err != nil || len(b) > maxBroadcast {
		return
	}
	// The addresses come from our own record of memberlist's callbacks:
	// the *Node values memberlist hands out change under its lock, and
	// reading them here would race with it.
	var to []memberlist.Address
	for _, peer := range discovery.FanOutTo(s.Peer(), slices.Collect(maps.Keys(a.gossip)), discovery.MaxFanOut) {
		to = append(to, memberlist.Address{Addr: a.gossip[peer], Name: peer.String()})
	}
	a.tasks.Go(ctx, func(context.Context) any {
		for _, addr := range to {
			// Best effort by design: a lost packet is repaired by
			// broadcasts and push-pull.
			_ = ml.SendToAddress(addr, b)
		}
		return nil
	})
}

func (a *discoveryActor) rules() discovery.Rules {
	return discovery.Rules{Network: a.d.p.Network, MaxClockDrift: a.d.p.Config.MaxClockDrift, MaxEntrySize: a.d.p.Config.MaxEntrySize}
}

// offer verifies and merges one entry, appending the events it causes to
// events for the caller to publish. It reports the entry and whether it
// was news (a peer discovered or updated). newPeers, if not nil, is how
// many peers new to the catalog the entry's batch may still add; an entry
// of a new peer past it is dropped (SyncCapped).
func (a *discoveryActor) offer(ctx actor.Context, m *messages.SignedPeerEntry, now time.Time, events *[]discovery.Event, newPeers *int) (s discovery.Signed, news bool) {
	if a.core.Holds(id.Hash(m.GetEntry())) {
		return s, false // the same bytes again: no signature to check
	}
	// An entry of a peer new to the catalog that would be turned away for
	// that alone is dropped before its signature is checked: under a
	// flood, verifying is most of the work.
	if claimed, ok := discovery.ClaimedPeer(m); ok && !a.core.Has(claimed) {
		if newPeers != nil && *newPeers <= 0 {
			a.d.stats.SyncCapped.Add(1)
			return s, false
		}
		if !a.core.Admits(claimed, len(m.GetEntry())) {
			a.d.stats.CatalogRefused.Add(1)
			return s, false
		}
	}
	s, err := discovery.Verify(m, a.rules(), now)
	if err != nil {
		a.d.stats.Rejected.Add(1)
		return s, false
	}
	if newPeers != nil && !a.core.Has(s.Peer()) {
		if *newPeers <= 0 {
			a.d.stats.SyncCapped.Add(1)
			return s, false
		}
		*newPeers--
	}
	refused := a.core.Refused()
	evs, selfBehind := a.core.Offer(s, now)
	a.d.stats.CatalogRefused.Add(a.core.Refused() - refused)
	*events = append(*events, evs...)
	if len(evs) > 0 {
		// News travels on: memberlist does not forward user broadcasts, so
		// every node that learns a new entry gossips it onward itself; the
		// queue keeps one entry per peer and retires it after a few rounds.
		if _, departed := evs[len(evs)-1].(discovery.PeerDeparted); !departed {
			a.d.queueBroadcast(s)
			news = true
		}
	}
	if selfBehind {
		// A previous run of this node signed a version at least as high as
		// ours: outrank it so that our current entry wins everywhere.
		_ = a.resign(ctx, a.core.Local().Entry(), s.Version())
	}
	return s, news
}

// resign signs e above both the current version and floor, installs it as
// the local entry and spreads it: new head in memberlist meta, a broadcast
// when it is small enough, and the published snapshot for push-pull.
func (a *discoveryActor) resign(ctx actor.Context, e discovery.Entry, floor uint64) error {
	e.Network, e.Peer = a.d.p.Network, a.d.p.Key.PeerID()
	e.Version = discovery.NextVersion(max(a.core.Local().Version(), floor), a.d.p.Now())
	s, err := discovery.Sign(e, a.d.p.Key)
	if err != nil {
		return err
	}
	if err := a.d.setHead(s); err != nil {
		return err
	}
	a.core.SetLocal(s)
	a.publish(nil)
	a.d.queueBroadcast(s)
	a.readvertise(ctx)
	return nil
}

// announce hands our new entry straight to the members of groups it
// newly advertises (discovery.AnnounceTo): they bond with us as soon as
// their catalog lists the membership, and gossip would carry it only
// after a round or two plus a fetch. Best effort: a peer that cannot be
// told learns from gossip.
func (a *discoveryActor) announce(ctx actor.Context, prev, next discovery.Entry) {
	snap := a.core.Snapshot()
	to := discovery.AnnounceTo(prev, next, snap.Peers(), discovery.MaxAnnounce)
	if len(to) == 0 {
		return
	}
	state := &messages.CatalogState{
		NetworkId: a.d.p.Network.Proto(),
		Entries:   []*messages.SignedPeerEntry{snap.LocalSigned().Proto()},
	}
	ask := discovery.SyncAsk{Push: true, Only: a.d.p.Key.PeerID()}
	d, timeout := a.d, a.d.p.Config.FetchTimeout
	for _, e := range to {
		a.tasks.Go(ctx, func(tctx context.Context) any {
			tctx, cancel := context.WithTimeout(tctx, timeout)
			defer cancel()
			_, _ = d.syncWith(tctx, e.Peer, e.Addrs[0], ask, state)
			return nil
		})
	}
}

// readvertise has memberlist gossip our new head. One UpdateNode runs at a
// time: memberlist's UpdateNode is not safe to run concurrently with
// itself. A change made meanwhile is advertised when the running one ends.
func (a *discoveryActor) readvertise(ctx actor.Context) {
	ml := a.d.ml.Load()
	if ml == nil {
		return
	}
	if a.advertising {
		a.readvertiseAgain = true
		return
	}
	a.advertising = true
	timeout := a.d.p.Config.LeaveTimeout
	a.tasks.Go(ctx, func(context.Context) any {
		a.d.advertise.RLock()
		defer a.d.advertise.RUnlock()
		if a.d.ml.Load() == nil {
			return &advertiseDone{} // detached: the node is leaving
		}
		// The error only says that no member acknowledged in time, which
		// gossip repairs later.
		_ = ml.UpdateNode(timeout)
		return &advertiseDone{}
	})
}

// fetch asks a peer for its current entry: over a sync link when we know
// its transport address, otherwise by a memberlist push-pull with it.
func (a *discoveryActor) fetch(ctx actor.Context, peer id.PeerID) {
	if a.fetching[peer] {
		return
	}
	var addrs []string
	if e, ok := a.core.Snapshot().Get(peer); ok {
		addrs = e.Addrs
	}
	gossipAddr, ml := a.gossip[peer], a.d.ml.Load()
	if len(addrs) == 0 && (gossipAddr == "" || ml == nil) {
		return
	}
	a.fetching[peer] = true
	a.d.stats.Fetches.Add(1)
	d, timeout, network := a.d, a.d.p.Config.FetchTimeout, a.d.p.Network
	a.tasks.Go(ctx, func(tctx context.Context) any {
		tctx, cancel := context.WithTimeout(tctx, timeout)
		defer cancel()
		if len(addrs) == 0 {
			// push-pull merges the peer's state through MergeRemoteState.
			_, err := ml.Join([]string{gossipAddr})
			return &fetchDone{peer: peer, state: &messages.CatalogState{NetworkId: network.Proto()}, err: err}
		}
		resp, err := d.syncWith(tctx, peer, addrs[0], discovery.SyncAsk{Only: peer}, nil)
		return &fetchDone{peer: peer, state: resp.GetState(), err: err}
	})
}

func (a *discoveryActor) publish(events []discovery.Event) {
	a.d.watch.Publish(a.core.Snapshot())
	a.d.p.Metrics.ObserveCatalog(a.core.Snapshot().Len(), events)
	for _, ev := range events {
		switch ev.(type) {
		case discovery.PeerDiscovered:
			a.d.stats.Discovered.Add(1)
		case discovery.PeerUpdated:
			a.d.stats.Updated.Add(1)
		case discovery.PeerDeparted:
			a.d.stats.Departed.Add(1)
		}
		a.d.events.Publish(ev)
	}
}

// maxBroadcast bounds an entry broadcast: it must ride in one gossip
// packet (memberlist's UDP budget is about 1,400 bytes). Larger entries
// spread by push-pull and by fetches of newer heads.
const maxBroadcast = 1000

// queueBroadcast gossips a signed entry if it fits a packet.
func (d *Discovery) queueBroadcast(s discovery.Signed) {
	b, err := proto.Marshal(&messages.DiscoveryBroadcast{Entry: s.Proto()})
	if err != nil || len(b) > maxBroadcast {
		return
	}
	d.broadcasts.QueueBroadcast(entryBroadcast{peer: s.Peer(), msg: b})
}

// entryBroadcast is one queued entry; a newer one for the same peer
// replaces it in memberlist's queue.
type entryBroadcast struct {
	peer id.PeerID
	msg  []byte
}

func (b entryBroadcast) Invalidates(other memberlist.Broadcast) bool {
	o, ok := other.(entryBroadcast)
	return ok && o.peer == b.peer
}
func (b entryBroadcast) Message() []byte { return b.msg }
func (b entryBroadcast) Finished()       {}

// ErrSyncRefused reports a sync peer that answered with something else
// than a catalog of our network.
var ErrSyncRefused = errors.New("actors: discovery sync refused")

// maxSyncsServed bounds the sync links the node serves at once, once
// their peer is admitted. A sync past its first frame may carry a whole
// catalog (up to the transport's maximum frame size), and on an open
// network anyone may send one; beyond this bound new syncs are closed with
// 102 (cancelled), and the requester tries again later (fetches retry on
// later ticks).
const maxSyncsServed = 8

// maxPushBacksWaiting and maxPushBacksRunning bound the push-backs a node
// owes (see discovery.PushBacks): in a cold start the seed owes one to
// every joiner, each a sync of up to the whole catalog.
const (
	maxPushBacksWaiting = 256
	maxPushBacksRunning = 4
)

// pushBackEvery is the least time between two push-backs to one peer. A
// push-back answers a peer's first contact; one that restarts sooner
// learns what it lacks from gossip and push-pull, and a peer that signs
// a new version of its entry with every exchange cannot make this node
// dial it more often.
const pushBackEvery = 10 * time.Second

// maxFarewells bounds the farewell syncs Depart runs at once: the catalog
// may list thousands of peers, relayed ones included whose addresses an
// outsider chose, and a closing node should not dial them all at once.
// Peers not told within LeaveTimeout learn of the leave from gossip.
const maxFarewells = 16

// SyncWith exchanges full catalogs with the node at addr over a sync
// link: ours goes to it, its comes back and is merged here.
func (d *Discovery) SyncWith(ctx context.Context, peer id.PeerID, addr string) error {
	resp, err := d.syncWith(ctx, peer, addr, discovery.SyncAsk{Push: true}, d.Catalog().State(d.p.Network))
	if err != nil {
		return err
	}
	b, err := proto.Marshal(resp.GetState())
	if err != nil {
		return err
	}
	if err := d.mergeAndWait(ctx, b); err != nil {
		return fmt.Errorf("actors: discovery sync with %s: %w", peer.Short(), err)
	}
	return nil
}

// SetStatusSource sets what a sync that asks for status is told about
// this node's groups; f must not block (it runs on the serving goroutine).
func (d *Discovery) SetStatusSource(f func() []groups.Status) { d.status.Store(&f) }

// GroupStatus asks the node at addr for its view of each group it has
// joined, over a sync link (the network's admission proofs first, as for
// any sync). A report that does not decode is an error.
func (d *Discovery) GroupStatus(ctx context.Context, peer id.PeerID, addr string) ([]groups.Status, error) {
	resp, err := d.syncWith(ctx, peer, addr, discovery.SyncAsk{Only: peer, Status: true}, nil)
	if err != nil {
		return nil, err
	}
	out := make([]groups.Status, 0, len(resp.GetGroups()))
	for _, m := range resp.GetGroups() {
		s, err := groups.StatusFromProto(m)
		if err != nil {
			return nil, fmt.Errorf("actors: status of %s: %w", peer.Short(), err)
		}
		out = append(out, s)
	}
	return out, nil
}

// syncWith runs the requesting side of /mosaik/discovery/sync/2: the
// request (with our proof of the network secret), the acceptor's proof,
// our state if we push one, then the answer; and close. Closing is ours
// because the answer is the last frame.
func (d *Discovery) syncWith(ctx context.Context, peer id.PeerID, addr string, ask discovery.SyncAsk, push *messages.CatalogState) (*messages.SyncResponse, error) {
	fail := func(err error) (*messages.SyncResponse, error) {
		return nil, fmt.Errorf("actors: discovery sync with %s: %w", peer.Short(), err)
	}
	link, err := d.p.Endpoint.Dial(ctx, peer, addr, transport.ALPNDiscoverySync)
	if err != nil {
		return fail(err)
	}
	defer link.Close(transport.CodeSuccess, "")
	req, err := d.adm.Request(link.SharedSecret, d.p.Key.PeerID(), ask)
	if err != nil {
		return fail(err)
	}
	if err := link.Send(ctx, req); err != nil {
		return fail(err)
	}
	var acc messages.SyncAccept
	if err := link.Recv(ctx, &acc); err != nil {
		return fail(err)
	}
	if err := d.adm.CheckAccept(&acc, link.SharedSecret, peer); err != nil {
		link.Close(transport.CodeDifferentNetwork, err.Error())
		return fail(err)
	}
	if ask.Push {
		if err := link.Send(ctx, push); err != nil {
			return fail(err)
		}
	}
	var resp messages.SyncResponse
	if err := link.Recv(ctx, &resp); err != nil {
		return fail(err)
	}
	if resp.GetState() == nil {
		return nil, fmt.Errorf("%w: %s sent no state", ErrSyncRefused, peer.Short())
	}
	return &resp, nil
}

// serveSync is the accepting side of /mosaik/discovery/sync/2. It runs on
// an endpoint goroutine: it reads the request, refuses a peer of another
// network or without proof of the network secret (101), proves the secret
// itself, hands any state the requester pushes to the actor, answers from
// the published snapshot, and waits for the requester to close so that
// the answer is not cut off.
func (d *Discovery) serveSync(link transport.Link) {
	defer link.Close(transport.CodeSuccess, "")
	ctx, cancel := context.WithTimeout(context.Background(), d.p.Config.FetchTimeout)
	defer cancel()
	var req messages.SyncRequest
	if err := link.Recv(ctx, &req); err != nil {
		d.stats.Rejected.Add(1)
		if errors.Is(err, context.DeadlineExceeded) {
			link.Close(transport.CodeTimeout, "no sync request")
		}
		return
	}
	ask, connSecret, err := d.adm.CheckRequest(&req, link.SharedSecret, link.Peer())
	if err != nil {
		d.stats.SyncRefused.Add(1)
		code := transport.CodeDifferentNetwork
		if errors.Is(err, discovery.ErrMalformed) {
			code = transport.CodeProtocolViolation
		}
		link.Close(code, err.Error())
		return
	}
	// Admitted peers only take a slot: until its first frame an outsider
	// is held by the transport's own limits, and could otherwise keep
	// members out by stalling.
	select {
	case d.serving <- struct{}{}:
		defer func() { <-d.serving }()
	default:
		d.stats.SyncBusy.Add(1)
		link.Close(transport.CodeCancelled, "busy: too many catalog syncs in progress")
		return
	}
	if err := link.Send(ctx, d.adm.Accept(connSecret, d.p.Key.PeerID())); err != nil {
		return
	}
	if ask.Push {
		// The frame is a CatalogState; the actor decodes it, so it is
		// handed over as it came.
		b, err := link.RecvFrame(ctx)
		if err != nil {
			d.stats.Rejected.Add(1)
			return
		}
		// Merged before the answer, so that the requester finds itself
		// in it, and a caller that waited for the sync finds it here.
		// The merge and the answer each get FetchTimeout: a large state
		// takes a while to check.
		mctx, mcancel := context.WithTimeout(context.Background(), d.p.Config.FetchTimeout)
		err = d.mergeAndWait(mctx, b)
		mcancel()
		if err != nil {
			link.Close(transport.CodeCancelled, "busy: "+err.Error())
			return
		}
		cancel()
		ctx, cancel = context.WithTimeout(context.Background(), d.p.Config.FetchTimeout)
		defer cancel()
	}
	snap := d.Catalog()
	resp := &messages.SyncResponse{State: snap.State(d.p.Network)}
	if !ask.Only.IsZero() {
		resp.State.Entries = nil
		if s, ok := snap.Signed(ask.Only); ok {
			resp.State.Entries = append(resp.State.Entries, s.Proto())
		}
	}
	if f := d.status.Load(); ask.Status && f != nil {
		for _, s := range (*f)() {
			resp.Groups = append(resp.Groups, s.Proto())
		}
	}
	if err := link.Send(ctx, resp); err != nil {
		return
	}
	var drain messages.SyncRequest
	_ = link.Recv(ctx, &drain) // returns when the requester closes
}
