package discovery

import (
	"maps"
	"slices"
	"time"

	"github.com/mosaikgo/mosaik/id"
)

// DepartReason tells why a peer left the catalog.
type DepartReason int

const (
	// DepartedLeft: the peer announced a graceful leave.
	DepartedLeft DepartReason = iota + 1
	// DepartedDead: failure detection declared the peer dead.
	DepartedDead
	// DepartedStale: the entry reached us second-hand and its peer was
	// never confirmed alive within PurgeAfter.
	DepartedStale
)

func (r DepartReason) String() string {
	switch r {
	case DepartedLeft:
		return "left"
	case DepartedDead:
		return "dead"
	case DepartedStale:
		return "stale"
	}
	return "unknown"
}

// Event is a change in the catalog: [PeerDiscovered], [PeerUpdated] or
// [PeerDeparted].
type Event interface{ isEvent() }

// PeerDiscovered: a peer entered the catalog (for the first time, or again
// after it departed).
type PeerDiscovered struct{ Entry Entry }

// PeerUpdated: a peer in the catalog published a newer entry.
type PeerUpdated struct{ Previous, Entry Entry }

// PeerDeparted: a peer left the catalog.
type PeerDeparted struct {
	Entry  Entry
	Reason DepartReason
}

func (PeerDiscovered) isEvent() {}
func (PeerUpdated) isEvent()    {}
func (PeerDeparted) isEvent()   {}

// peerState is what failure detection last said about a peer.
type peerState int

const (
	// relayed: we hold its entry, but failure detection has not (yet)
	// confirmed the peer. Visible, and purged if never confirmed.
	relayed peerState = iota
	// alive: failure detection confirms the peer. Visible once we hold
	// its entry.
	alive
	// gone: the peer left or died. Invisible; its entry is kept for
	// PurgeAfter so that it comes back at once if the peer does.
	gone
)

type record struct {
	signed Signed // zero until we hold the peer's entry
	head   Head   // newest head failure detection carried; zero if none
	// outdatedSince is when the head first announced an entry we lack.
	outdatedSince time.Time
	state         peerState
	since         time.Time // when state was last set or refreshed
}

func (r *record) visible() bool { return !r.signed.IsZero() && r.state != gone }

// outdated reports whether the head announces an entry we do not hold.
func (r *record) outdated() bool {
	if r.head.Peer.IsZero() {
		return false
	}
	if r.signed.IsZero() {
		return true
	}
	return r.head.Version > r.signed.Version() ||
		(r.head.Version == r.signed.Version() && r.head.Entry != r.signed.Digest())
}

// Catalog is the merge logic of discovery as a plain state machine: it is
// fed entries from the network and liveness verdicts from failure
// detection, with the current time as an argument, and answers with the
// events those inputs cause. It has no goroutines, clocks or locks; one
// owner (the discovery actor) drives it.
//
// The catalog is bounded ([Catalog.Limit]): in peers it keeps records of
// and in the signed bytes of their entries. At a bound, a newcomer first
// takes the place of the longest-departed peer; a peer that failure
// detection confirms alive may also take the place of the longest
// unconfirmed one (which departs as stale); anyone else is refused and
// counted ([Catalog.Refused]). Confirmed members therefore keep their
// places against a flood of entries relayed by an outsider.
type Catalog struct {
	local      Signed
	purgeAfter time.Duration
	peers      map[id.PeerID]*record
	seq        uint64 // bumped on every visible change
	snap       *Snapshot
	held       map[id.Digest]struct{} // digests of every entry held, ours included

	maxPeers int // records kept, the local entry not counted; 0 is no bound
	maxBytes int // signed bytes of the entries held, ours not counted; 0 is no bound
	bytes    int
	refused  uint64
}

// Limit bounds the catalog: at most maxPeers peers (records of any state,
// the local entry not counted) and maxBytes signed bytes of their
// entries. Zero leaves a bound off. Call it before the first input.
func (c *Catalog) Limit(maxPeers, maxBytes int) {
	c.maxPeers, c.maxBytes = maxPeers, maxBytes
}

// Refused counts the entries and peers the catalog turned away at a
// bound.
func (c *Catalog) Refused() uint64 { return c.refused }

// Bytes is the total size of the peers' signed entries held.
func (c *Catalog) Bytes() int { return c.bytes }

// Has reports whether the catalog keeps a record of p, in any state.
func (c *Catalog) Has(p id.PeerID) bool {
	_, ok := c.peers[p]
	return ok || p == c.local.Peer()
}

// Admits reports whether an entry of size bytes for peer could enter
// now, if it came from the network unconfirmed: the peer is listed
// already, or there is room, or a departed peer's place to take. It
// changes and counts nothing; an owner uses it to skip verifying entries
// that Offer would refuse anyway.
func (c *Catalog) Admits(peer id.PeerID, size int) bool {
	if c.Has(peer) || !c.full(true, size) {
		return true
	}
	_, r := c.oldest(peer, gone)
	return r != nil
}

// hold makes s the entry of r, keeping the digest index and the byte
// count in step.
func (c *Catalog) hold(r *record, s Signed) {
	if !r.signed.IsZero() {
		delete(c.held, r.signed.Digest())
		c.bytes -= r.signed.Size()
	}
	r.signed = s
	c.held[s.Digest()] = struct{}{}
	c.bytes += s.Size()
}

func (c *Catalog) forget(p id.PeerID, r *record) {
	if !r.signed.IsZero() {
		delete(c.held, r.signed.Digest())
		c.bytes -= r.signed.Size()
	}
	delete(c.peers, p)
}

// full reports whether holding extra more bytes, and a new record if
// newRecord, would pass a bound.
func (c *Catalog) full(newRecord bool, extra int) bool {
	if newRecord && c.maxPeers > 0 && len(c.peers) >= c.maxPeers {
		return true
	}
	return c.maxBytes > 0 && c.bytes+extra > c.maxBytes
}

// makeRoom evicts records until a new record (if newRecord) and extra more
// bytes fit, first the longest-departed peers, then, if confirmed (the
// newcomer is a peer failure detection vouches for), the longest
// unconfirmed ones, which depart as stale. It reports the events and
// whether the room is there; if not, the newcomer is refused (counted).
// keep is never evicted.
func (c *Catalog) makeRoom(keep id.PeerID, newRecord bool, extra int, confirmed bool) (events []Event, ok bool) {
	for c.full(newRecord, extra) {
		victim, vr := c.oldest(keep, gone)
		if vr == nil && confirmed {
			victim, vr = c.oldest(keep, relayed)
			if vr != nil && vr.visible() {
				events = append(events, PeerDeparted{Entry: vr.signed.Entry(), Reason: DepartedStale})
				c.changed()
			}
		}
		if vr == nil {
			c.refused++
			return events, false
		}
		c.forget(victim, vr)
	}
	return events, true
}

// oldest returns the record in state whose state was set longest ago
// (ties broken by peer id, so that every run evicts alike), other than
// keep's.
func (c *Catalog) oldest(keep id.PeerID, state peerState) (id.PeerID, *record) {
	var best id.PeerID
	var br *record
	for p, r := range c.peers {
		if r.state != state || p == keep {
			continue
		}
		if br == nil || r.since.Before(br.since) || (r.since.Equal(br.since) && p.Less(best)) {
			best, br = p, r
		}
	}
	return best, br
}

// Holds reports whether the catalog holds the entry whose signed bytes
// hash to d. Entries arrive many times over (every push-pull carries the
// whole catalog); checking this first saves verifying their signatures
// again.
func (c *Catalog) Holds(d id.Digest) bool {
	_, ok := c.held[d]
	return ok
}

// HoldsHead reports whether the entry h names is the one the catalog
// holds for h's peer, at h's version. Such a head tells the catalog
// nothing it does not know, whoever signed it: an owner may pass it to
// [Catalog.Alive] without checking its signature, which in a cold start of
// n nodes saves most of n² verifications (entries usually arrive before
// their peers' heads).
func (c *Catalog) HoldsHead(h Head) bool {
	r, ok := c.peers[h.Peer]
	return ok && !r.signed.IsZero() && r.signed.Digest() == h.Entry && r.signed.Version() == h.Version
}

// NewCatalog returns a catalog whose own entry is local.
func NewCatalog(local Signed, purgeAfter time.Duration) *Catalog {
	return &Catalog{
		local:      local,
		purgeAfter: purgeAfter,
		peers:      map[id.PeerID]*record{},
		held:       map[id.Digest]struct{}{local.Digest(): {}},
	}
}

// Local is the node's own current entry.
func (c *Catalog) Local() Signed { return c.local }

// SetLocal replaces the node's own entry (after a tag or group change).
func (c *Catalog) SetLocal(s Signed) {
	delete(c.held, c.local.Digest())
	c.local = s
	c.held[s.Digest()] = struct{}{}
	c.changed()
}

func (c *Catalog) changed() {
	c.seq++
	c.snap = nil
}

// Offer merges an entry that passed [Verify]. It reports the events it
// caused, and selfBehind when the entry is our own at a version at least
// as high as our current one: a previous run of this node signed it, and
// the owner must re-sign its entry above that version.
func (c *Catalog) Offer(s Signed, now time.Time) (events []Event, selfBehind bool) {
	if s.Peer() == c.local.Peer() {
		return nil, !c.local.Newer(s) && s.Digest() != c.local.Digest()
	}
	r, ok := c.peers[s.Peer()]
	if s.entry.Departing {
		return c.departing(r, s, now), false
	}
	if !ok {
		events, room := c.makeRoom(s.Peer(), true, s.Size(), false)
		if !room {
			return events, false
		}
		r := &record{state: relayed, since: now}
		c.peers[s.Peer()] = r
		c.hold(r, s)
		c.changed()
		return append(events, PeerDiscovered{Entry: s.Entry()}), false
	}
	if !r.signed.IsZero() && !s.Newer(r.signed) {
		return nil, false
	}
	events, room := c.makeRoom(s.Peer(), false, s.Size()-r.signed.Size(), r.state == alive)
	if !room {
		return events, false
	}
	wasVisible, prev := r.visible(), r.signed
	c.hold(r, s)
	switch r.state {
	case relayed:
		r.since = now // news of the peer: the purge clock restarts
	case gone:
		// Only the peer itself signs a newer entry, so it is back; failure
		// detection will confirm it or the purge will drop it again.
		r.state, r.since = relayed, now
	}
	c.changed()
	if wasVisible {
		return append(events, PeerUpdated{Previous: prev.Entry(), Entry: s.Entry()}), false
	}
	return append(events, PeerDiscovered{Entry: s.Entry()}), false
}

// departing handles a peer's farewell entry: it departs at once, as
// having left, whatever failure detection says later.
func (c *Catalog) departing(r *record, s Signed, now time.Time) []Event {
	if r == nil {
		// A farewell from a peer we never listed: remember it, so that an
		// older entry relayed later does not list it either, if there is
		// room; a full catalog would only evict it again.
		if c.full(true, s.Size()) {
			c.refused++
			return nil
		}
		r := &record{state: gone, since: now}
		c.peers[s.Peer()] = r
		c.hold(r, s)
		return nil
	}
	if !r.signed.IsZero() && !s.Newer(r.signed) {
		return nil
	}
	if _, room := c.makeRoom(s.Peer(), false, s.Size()-r.signed.Size(), false); !room {
		// Too large to keep: the farewell still takes effect, since only
		// the peer can sign it, but its old entry is dropped instead.
		wasVisible := r.visible()
		c.forget(s.Peer(), r)
		if !wasVisible {
			return nil
		}
		c.changed()
		return []Event{PeerDeparted{Entry: s.Entry(), Reason: DepartedLeft}}
	}
	wasVisible := r.visible()
	c.hold(r, s)
	r.state, r.since = gone, now
	if !wasVisible {
		return nil
	}
	c.changed()
	return []Event{PeerDeparted{Entry: s.Entry(), Reason: DepartedLeft}}
}

// Alive records that failure detection sees peer alive, with the head it
// advertises (zero if its meta carried none that verified). It reports the
// events caused and whether the peer's full entry must be fetched because
// the head is newer than what we hold.
func (c *Catalog) Alive(peer id.PeerID, head Head, now time.Time) (events []Event, fetch bool) {
	if peer == c.local.Peer() {
		return nil, false
	}
	r, ok := c.peers[peer]
	if !ok {
		// Failure detection vouches for the peer: it may take the place
		// of an unconfirmed one.
		ev, room := c.makeRoom(peer, true, 0, true)
		events = ev
		if !room {
			return events, false
		}
		r = &record{state: alive}
		c.peers[peer] = r
	}
	if !r.signed.IsZero() && r.signed.entry.Departing {
		// The peer said farewell; memberlist may still list it for a
		// moment while the leave spreads. Only a newer head (the peer
		// restarted) brings it back, through a fetch of its new entry.
		if head.Peer == peer && head.Version > r.signed.Version() {
			r.head = head
			return nil, true
		}
		return nil, false
	}
	wasVisible := r.visible()
	r.state, r.since = alive, now
	if head.Peer == peer && (r.head.Peer.IsZero() || head.Version >= r.head.Version) {
		wasOutdated := r.outdated()
		r.head = head
		if !wasOutdated && r.outdated() {
			r.outdatedSince = now
		}
	}
	if !wasVisible && r.visible() {
		c.changed()
		events = append(events, PeerDiscovered{Entry: r.signed.Entry()})
	}
	return events, r.outdated()
}

// Gone records that peer left (graceful) or was declared dead.
func (c *Catalog) Gone(peer id.PeerID, left bool, now time.Time) []Event {
	r, ok := c.peers[peer]
	if !ok || r.state == gone {
		return nil
	}
	wasVisible := r.visible()
	r.state, r.since = gone, now
	if !wasVisible {
		return nil
	}
	c.changed()
	reason := DepartedDead
	if left {
		reason = DepartedLeft
	}
	return []Event{PeerDeparted{Entry: r.signed.Entry(), Reason: reason}}
}

// Tick purges what has aged past PurgeAfter: unconfirmed entries depart as
// stale, and the kept entries of departed peers are forgotten (counted in
// forgotten).
func (c *Catalog) Tick(now time.Time) (events []Event, forgotten int) {
	for _, p := range slices.SortedFunc(maps.Keys(c.peers), id.PeerID.Compare) {
		r := c.peers[p]
		if now.Sub(r.since) < c.purgeAfter {
			continue
		}
		switch {
		case r.state == relayed:
			events = append(events, PeerDeparted{Entry: r.signed.Entry(), Reason: DepartedStale})
			c.forget(p, r)
			c.changed()
		case r.state == gone:
			c.forget(p, r)
			forgotten++
		}
	}
	return events, forgotten
}

// Outdated lists the peers whose advertised head has been newer than the
// entry we hold since before notAfter, in peer order: the owner fetches
// these from the peers directly. The grace lets the entry arrive by
// gossip first, as it nearly always does.
func (c *Catalog) Outdated(notAfter time.Time) []id.PeerID {
	var out []id.PeerID
	for p, r := range c.peers {
		if r.state == alive && r.outdated() && !r.outdatedSince.After(notAfter) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, id.PeerID.Compare)
	return out
}

// Departed returns the kept entries of peers that left or died, in peer
// order: the owner tries to reach them again, since a partition looks like
// death from both sides.
func (c *Catalog) Departed() []Signed {
	var out []Signed
	for _, p := range slices.SortedFunc(maps.Keys(c.peers), id.PeerID.Compare) {
		if r := c.peers[p]; r.state == gone && !r.signed.IsZero() && !r.signed.entry.Departing {
			out = append(out, r.signed)
		}
	}
	return out
}

// Known returns our own entry and every visible peer's, for push-pull
// exchange. Entries kept after a departure are not shared: passing them on
// would make other nodes list a peer that is gone.
func (c *Catalog) Known() []Signed {
	out := []Signed{c.local}
	for _, r := range c.peers {
		if r.visible() {
			out = append(out, r.signed)
		}
	}
	return out
}

// Snapshot returns the current visible catalog. It is rebuilt only after a
// change, so callers may ask after every step.
func (c *Catalog) Snapshot() *Snapshot {
	if c.snap == nil {
		peers := make(map[id.PeerID]Signed, len(c.peers))
		for p, r := range c.peers {
			if r.visible() {
				peers[p] = r.signed
			}
		}
		c.snap = &Snapshot{seq: c.seq, local: c.local, peers: peers}
	}
	return c.snap
}
