package groups

// Self-organization of a group's Raft shard: the pure rules that the shard
// lifecycle (lifecycle.go) applies on top of dragonboat's explicit
// membership. Nothing here reads a clock, draws randomness of its own, or
// talks to anyone; the actor measures durations, collects what its bonds
// advertise, and carries out the single decision each function returns.
//
// The rules, in the order a member meets them:
//
//   - A shard is named by its group and its [Genesis] ([ShardID]); a
//     replica by its peer and incarnation ([ReplicaID]).
//   - A member that knows no genesis either joins one its bonds advertise
//     ([JoinTarget]) or, after the bootstrap delay and only if it has the
//     lowest PeerID around, starts a single-member shard ([ShouldBootstrap]).
//   - When two geneses meet, the longest log wins ([ResolveRivals]).
//   - The leader grows, trims and heals the committee one config change at
//     a time ([NextChange]).
//   - Members cut off from their quorum re-form a shard together, unless
//     the group asks for strict quorum ([ReformThreshold]).

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/mosaikgo/mosaik/id"
)

// GenesisSize is the length of a [Genesis] in bytes.
const GenesisSize = 16

// ErrBadGenesis reports bytes or text that do not form a genesis, or a
// source of randomness that yields none.
var ErrBadGenesis = errors.New("groups: malformed genesis")

// Genesis names one bootstrap of a group's shard: a nonce drawn by the
// member that started it, advertised in its peer entry and bond handshakes
// so that others join that shard and not another. The zero value means "no
// genesis known"; [NewGenesis] never returns it.
//
// It is 16 random bytes rather than a 32-byte [id.Digest] because it is a
// nonce, not a hash of anything: 128 bits make two independent bootstraps
// collide with probability 2^-128, far below the 2^-64 of the 64-bit
// [ShardID] derived from it, so more bytes would buy nothing. A type of its
// own also keeps it from being mixed up with the digest aliases (group ids,
// tags), which convert freely into one another.
type Genesis [GenesisSize]byte

// maxGenesisDraws bounds how often NewGenesis redraws a zero genesis. One
// zero draw is a 2^-128 event; eight in a row mean the source is broken.
const maxGenesisDraws = 8

// NewGenesis draws a genesis from r, or from crypto/rand when r is nil. A
// zero draw (which would read as "unknown") is drawn again. Tests pass a
// seeded reader to get reproducible geneses.
func NewGenesis(r io.Reader) (Genesis, error) {
	if r == nil {
		r = rand.Reader
	}
	var g Genesis
	for range maxGenesisDraws {
		if _, err := io.ReadFull(r, g[:]); err != nil {
			return Genesis{}, fmt.Errorf("groups: drawing a genesis: %w", err)
		}
		if !g.IsZero() {
			return g, nil
		}
	}
	return Genesis{}, fmt.Errorf("%w: %d draws from the random source were all zero", ErrBadGenesis, maxGenesisDraws)
}

// GenesisFromBytes reads the wire form: empty means "knows none" (the zero
// genesis), 16 bytes are a genesis, anything else is an error.
func GenesisFromBytes(b []byte) (Genesis, error) {
	var g Genesis
	switch len(b) {
	case 0:
		return g, nil
	case GenesisSize:
		copy(g[:], b)
		return g, nil
	}
	return g, fmt.Errorf("%w: want %d bytes or none, got %d", ErrBadGenesis, GenesisSize, len(b))
}

// ParseGenesis decodes the 32-character hex form that String prints.
func ParseGenesis(s string) (Genesis, error) {
	var g Genesis
	if len(s) != 2*GenesisSize {
		return g, fmt.Errorf("%w: want %d hex characters, got %d", ErrBadGenesis, 2*GenesisSize, len(s))
	}
	if _, err := hex.Decode(g[:], []byte(s)); err != nil {
		return g, fmt.Errorf("%w: %w", ErrBadGenesis, err)
	}
	return g, nil
}

// Bytes is the wire form: nil for the zero genesis, so that "knows none"
// is an empty field as the handshake expects, else a copy of the 16 bytes.
func (g Genesis) Bytes() []byte {
	if g.IsZero() {
		return nil
	}
	return bytes.Clone(g[:])
}

// IsZero reports whether g is the zero genesis ("none known").
func (g Genesis) IsZero() bool { return g == Genesis{} }

// Compare orders geneses by their bytes: -1, 0 or +1. It is the tie-break
// between rival shards of equal length ([ShardClaim.Beats]).
func (g Genesis) Compare(o Genesis) int { return bytes.Compare(g[:], o[:]) }

// Less reports whether g sorts before o.
func (g Genesis) Less(o Genesis) bool { return g.Compare(o) < 0 }

// String is the lower-case hex form, which [ParseGenesis] reads back.
func (g Genesis) String() string { return hex.EncodeToString(g[:]) }

// Short is the first 10 hex characters, for logs and tables.
func (g Genesis) Short() string { return g.String()[:10] }

// ShardID is the dragonboat shard id of group's shard started with genesis
// g: the first 8 bytes of blake3(group || g), big-endian. Every member
// computes it alone and gets the same id; a new genesis (a rival bootstrap,
// a re-formed shard) gets a new id, so the old shard's data on disk is never
// mistaken for the new one's. It is a protocol constant: Raft messages carry
// it, so changing the derivation splits old and new nodes.
//
// The zero genesis names no shard; callers must not ask for its id.
func ShardID(group id.GroupID, g Genesis) uint64 {
	var buf [id.DigestSize + GenesisSize]byte
	copy(buf[:], group[:])
	copy(buf[id.DigestSize:], g[:])
	return hash64(id.Hash(buf[:]))
}

// ReplicaID is the dragonboat replica id of peer's incarnation-th replica:
// the first 8 bytes of blake3(peer || incarnation as 8 bytes big-endian),
// big-endian. Dragonboat refuses to re-add a removed replica id, so a peer
// that leaves a shard (removed, wiped as a rival's loser, re-formed) bumps
// its incarnation and rejoins under a fresh id. Like [ShardID] it is a
// protocol constant.
func ReplicaID(peer id.PeerID, incarnation uint64) uint64 {
	var buf [id.PeerIDSize + 8]byte
	copy(buf[:], peer[:])
	binary.BigEndian.PutUint64(buf[id.PeerIDSize:], incarnation)
	return hash64(id.Hash(buf[:]))
}

// hash64 takes the first 8 bytes of d as a big-endian id. Dragonboat
// reserves 0 (it means "no shard" or "no replica"), so a zero word falls
// through to the next one of the digest, and an all-zero digest to 1; the
// remap is deterministic, so every member still derives the same id.
func hash64(d id.Digest) uint64 {
	for i := 0; i+8 <= len(d); i += 8 {
		if v := binary.BigEndian.Uint64(d[i:]); v != 0 {
			return v
		}
	}
	return 1
}

// PeerGenesis is what one bonded member advertises about its shard.
type PeerGenesis struct {
	// Peer is the member.
	Peer id.PeerID
	// Genesis is the shard it belongs to; zero if it knows none.
	Genesis Genesis
	// Committed is the highest committed index it advertised for
	// Genesis; 0 if unknown. It ranks rival geneses in [JoinTarget].
	Committed uint64
}

// ShouldBootstrap reports whether self, which has waited for waited since
// it joined the group, should start a new single-member shard with a fresh
// genesis. All of these must hold:
//
//   - self knows no genesis (else it has a shard to run or rejoin);
//   - waited >= bootstrapDelay, so discovery and bonds had time to bring
//     in the members started together with self;
//   - no bonded member knows a genesis: if one does, self joins its shard
//     ([JoinTarget]) instead of founding a rival;
//   - self has the lowest PeerID among itself and its bonded members (all
//     of which know no genesis, by the rule above), so of a set of members
//     started together exactly one bootstraps and the rest join it.
//
// Members that never bonded (a partition, discovery not yet converged) can
// still bootstrap rivals; [ResolveRivals] settles those when they meet.
// Entries for self or for the zero PeerID are ignored.
func ShouldBootstrap(self id.PeerID, selfKnowsGenesis bool, bonded []PeerGenesis, waited, bootstrapDelay time.Duration) bool {
	if selfKnowsGenesis || waited < bootstrapDelay {
		return false
	}
	for _, b := range bonded {
		if b.Peer == self || b.Peer.IsZero() {
			continue
		}
		if !b.Genesis.IsZero() || b.Peer.Less(self) {
			return false
		}
	}
	return true
}

// FoundingPeer is a member of the group as a member that knows no shard
// sees it while deciding whether to found one early
// ([ShouldBootstrapEarly]).
type FoundingPeer struct {
	Peer id.PeerID
	// Bonded: a bond with it is up.
	Bonded bool
	// Idle: over that bond it said that it runs no shard.
	Idle bool
}

// EarlyBootstrapQuiet is how long the members a member sees must stay
// the same before it founds a shard early ([ShouldBootstrapEarly]): two
// heartbeats, time for a bonded member's Progress (sent every heartbeat)
// and for an entry the catalog is still spreading, and never more than
// the bootstrap delay.
func EarlyBootstrapQuiet(c ConsensusConfig) time.Duration {
	c = c.WithDefaults()
	return min(2*c.HeartbeatInterval, c.BootstrapDelay)
}

// ShouldBootstrapEarly reports whether self, which knows no genesis, may
// found a shard before the bootstrap delay has passed. The delay exists
// so that members started together find each other before one of them
// founds a shard; once they have, waiting longer buys nothing. So a member
// founds one early when all of these hold:
//
//   - it sees at least one other member (a member alone waits the delay:
//     others may be about to appear);
//   - every member it sees, by the catalog or by a bond, is bonded and has
//     said over that bond that it runs no shard;
//   - it has the lowest PeerID among them and itself;
//   - that set of members has not changed for quiet
//     ([EarlyBootstrapQuiet]).
//
// Two members that see each other never both found a shard: the higher
// one is not the lowest. Members that do not see each other yet (their
// entries have not crossed) may, as with the delay; [ResolveRivals]
// settles such rivals when they meet. members must not include self or
// observers, which never found a shard.
func ShouldBootstrapEarly(self id.PeerID, members []FoundingPeer, quietFor, quiet time.Duration) bool {
	if len(members) == 0 || quietFor < quiet {
		return false
	}
	for _, m := range members {
		if !m.Bonded || !m.Idle || m.Peer.Less(self) {
			return false
		}
	}
	return true
}

// JoinTarget chooses the genesis that a member which knows none should
// join, among those its bonded members advertise; false if none does.
//
// It ranks them by the rival rule ([ResolveRivals]): the highest committed
// index advertised for a genesis, ties (including "unknown" everywhere)
// going to the lower genesis. Joining the shard that would win a rivalry
// anyway spares the joiner a wipe and rejoin later; and since the ranking
// depends only on the advertised set, members that see the same set pick
// the same shard.
func JoinTarget(bonded []PeerGenesis) (Genesis, bool) {
	claims := make([]ShardClaim, 0, len(bonded))
	for _, b := range bonded {
		claims = append(claims, ShardClaim{Genesis: b.Genesis, Committed: b.Committed})
	}
	w, _ := ResolveRivals(claims)
	return w.Genesis, !w.Genesis.IsZero()
}

// ShardClaim is one shard's standing in a rivalry: its genesis and its
// committed index as last advertised.
type ShardClaim struct {
	Genesis   Genesis
	Committed uint64
}

// Beats reports whether c outranks o. It is a strict total order on
// distinct claims:
//
//   - a claim with a genesis beats one without (the zero genesis is no
//     shard);
//   - otherwise the higher committed index wins: the longer log has more
//     acknowledged writes to keep, so fewer are discarded (the reference's
//     "longest log wins");
//   - at equal length the lower genesis wins, an arbitrary but shared
//     tie-break so both sides agree without talking.
//
// Committed indexes keep moving, so two members comparing the same pair of
// shards at different moments can disagree. The caller should compare
// claims that both sides see alike (e.g. the pair exchanged in one bond
// handshake), not a stale local view against a fresh remote one.
func (c ShardClaim) Beats(o ShardClaim) bool {
	if c.Genesis.IsZero() != o.Genesis.IsZero() {
		return o.Genesis.IsZero()
	}
	if c.Committed != o.Committed {
		return c.Committed > o.Committed
	}
	return c.Genesis.Less(o.Genesis)
}

// Winner returns the claim that wins between a and b ([ShardClaim.Beats]).
// It is commutative: Winner(a, b) == Winner(b, a).
func Winner(a, b ShardClaim) ShardClaim {
	if b.Beats(a) {
		return b
	}
	return a
}

// ResolveRivals settles a set of rival shards: the winner, and the losers
// from strongest to weakest, whose members stop their shard, wipe it, bump
// their incarnation and join the winner.
//
// Claims for the same genesis are one shard and are merged, keeping the
// highest committed index (indexes only grow, so the highest report is the
// freshest). Claims with the zero genesis name no shard and are dropped.
// The result depends only on the set of claims, never on their order. With
// no shard at all the winner is the zero claim and there are no losers.
func ResolveRivals(claims []ShardClaim) (winner ShardClaim, losers []ShardClaim) {
	merged := make([]ShardClaim, 0, len(claims))
	for _, c := range claims {
		if c.Genesis.IsZero() {
			continue
		}
		i := slices.IndexFunc(merged, func(m ShardClaim) bool { return m.Genesis == c.Genesis })
		if i < 0 {
			merged = append(merged, c)
		} else {
			merged[i].Committed = max(merged[i].Committed, c.Committed)
		}
	}
	if len(merged) == 0 {
		return ShardClaim{}, nil
	}
	slices.SortFunc(merged, func(a, b ShardClaim) int {
		switch {
		case a.Beats(b):
			return -1
		case b.Beats(a):
			return 1
		}
		return 0
	})
	if len(merged) == 1 {
		return merged[0], nil
	}
	return merged[0], merged[1:]
}

// DefaultMaxVoters is the committee size NextChange aims for when it is
// given none: five voters survive two failures, and more would slow every
// commit for little gain (the reference's choice too).
const DefaultMaxVoters = 5

// Quorum is the number of voters that must agree in a shard of voters
// voters: a strict majority. Zero voters have no quorum (0).
func Quorum(voters int) int {
	if voters <= 0 {
		return 0
	}
	return voters/2 + 1
}

// Member is the leader's view of one member of its group, as input to
// [NextChange].
type Member struct {
	// Peer is the member; Replica its replica id in this shard, or the
	// one it asks to join with ([ReplicaID]).
	Peer    id.PeerID
	Replica uint64
	// Voter: the replica is a voting member of the shard's config.
	Voter bool
	// Observer: the member's leadership preference is Observer, so it
	// never votes.
	Observer bool
	// CaughtUp: the non-voting replica's log is close enough to the
	// leader's that promoting it does not stall commits.
	CaughtUp bool
	// Alive: the leader's bond with the member is up. The leader itself
	// counts as alive whatever this says.
	Alive bool
	// DeadFor is how long the bond has been down; meaningful when !Alive.
	DeadFor time.Duration
	// Joining: the member asked over its bond to be added with Replica,
	// which is not in the shard's config yet.
	Joining bool
}

// ChangeKind is the kind of a [ConfigChange].
type ChangeKind uint8

// The config changes NextChange issues. There is no demotion: dragonboat
// refuses to turn a voter into a non-voting replica, and a removed replica
// id can never come back, so a voter leaves the committee only by removal
// and its peer rejoins under a new incarnation, as a non-voting replica.
const (
	// AddNonVoting adds a joining replica as non-voting, so it catches up
	// without counting towards (or stalling) the quorum.
	AddNonVoting ChangeKind = iota + 1
	// Promote turns a caught-up non-voting replica into a voter.
	Promote
	// Remove takes a replica out of the shard for good.
	Remove
)

// String names the kind for logs.
func (k ChangeKind) String() string {
	switch k {
	case AddNonVoting:
		return "add-non-voting"
	case Promote:
		return "promote"
	case Remove:
		return "remove"
	}
	return "unknown"
}

// ConfigChange is one change to a shard's membership, for the leader to
// issue as an ordered config change.
type ConfigChange struct {
	Kind    ChangeKind
	Peer    id.PeerID
	Replica uint64
}

// String is "kind peer/replica", for logs.
func (c ConfigChange) String() string {
	return fmt.Sprintf("%s %s/%d", c.Kind, c.Peer.Short(), c.Replica)
}

// NextChange returns the one config change the leader should issue next,
// or false when the committee is where it should be. The leader issues it,
// waits for it to be applied (or rejected), refreshes members and asks
// again: dragonboat takes one config change at a time, and a single-server
// change is always safe in Raft, where two overlapping ones are not.
//
// maxVoters caps the committee (0 or less means [DefaultMaxVoters]); an even
// cap is lowered by one, since an even committee survives no more failures
// than the odd one below it. A replica is "gone" when its bond has been
// down for at least deadAfter, or when its peer asks to join with a new
// replica (it wiped and bumped its incarnation, so the old replica is dead
// even though the bond is up). Live voters are the voters that are alive
// and not superseded; the leader is always live.
//
// Nothing is issued unless the live voters form a quorum of the current
// config: a change commits only with such a quorum, and one that cannot
// commit would only block the pipeline. Otherwise, in order of priority:
//
//  1. Remove a gone voter. This is always quorum-safe: the live voters
//     stay the same while the quorum does not grow, so the committee
//     survives at least as many further failures as before. The seat is
//     refilled by rule 3.
//  2. Remove a gone non-voting replica, so the leader stops replicating
//     to it and its peer can rejoin under its new replica id (dragonboat
//     refuses two replicas with one address, and the address is the peer).
//  3. Promote a ready replica (non-voting, alive, caught up, not an
//     observer) while the voters are below the target: the largest odd
//     number at most the cap and at most voters + ready replicas. The
//     committee passes through an even size only on its way to the next
//     odd one, with the second candidate already ready. A ready replica is
//     also promoted, up to cap+1 voters for a moment, when a non-leader
//     observer holds a seat, so that rule 5 can drop the observer without
//     leaving the committee short.
//  4. Add a joining member (alive, not already in the config) as
//     non-voting. Observers are added too; rule 3 never promotes them.
//  5. Remove a voter while the voters exceed the target, if they exceed
//     the cap, or an observer holds a seat, or no member is on its way to
//     becoming ready (then an even committee shrinks to the odd size
//     below; otherwise it waits to grow instead, sparing a healthy voter
//     a wipe and resync). The first of: voters that are not live, then
//     observers, then the highest PeerID, so the committee settles on the
//     lowest PeerIDs, the same ones rule 3 prefers. It is issued only if
//     the remaining live voters are a quorum of the smaller config.
//
// The leader is never removed and never counted as gone. Where several
// members qualify, the one with the lowest PeerID goes first (except in
// rule 5, as said), so the same view always gives the same change. A voter
// whose bond is down but for less than deadAfter is left alone: a brief
// outage should not cost a member its replica.
//
// An observer that is itself the leader keeps its seat: moving leadership
// off it is the caller's job, not a config change.
func NextChange(members []Member, leader id.PeerID, maxVoters int, deadAfter time.Duration) (ConfigChange, bool) {
	c, ok := newCommittee(members, leader, deadAfter)
	if !ok || c.liveVoters() < Quorum(len(c.voters)) {
		return ConfigChange{}, false
	}
	limit := voterCap(maxVoters)

	// Rules 1 and 2: clear out the dead, voters first.
	for _, v := range c.voters {
		if c.gone(v) && c.liveVoters() >= Quorum(len(c.voters)-1) {
			return change(Remove, v), true
		}
	}
	for _, m := range c.nonVoters {
		if c.gone(m) {
			return change(Remove, m), true
		}
	}

	ready := c.ready()
	n := len(c.voters)
	target := oddFloor(min(limit, n+len(ready)))
	observerSeated := slices.ContainsFunc(c.voters, func(v Member) bool { return v.Observer && v.Peer != leader })

	// Rule 3: grow towards the target, or make room to replace an observer.
	if len(ready) > 0 && (n < target || (observerSeated && n <= limit)) {
		return change(Promote, ready[0]), true
	}

	// Rule 4: let joiners start catching up.
	for _, j := range c.joiners {
		if j.Alive && !c.hasReplica(j.Peer) {
			return change(AddNonVoting, j), true
		}
	}

	// Rule 5: trim to the target.
	if n > target && (n > limit || observerSeated || !c.prospects()) {
		if v, ok := c.victim(); ok {
			return change(Remove, v), true
		}
	}
	return ConfigChange{}, false
}

// committee is NextChange's sorted, classified view of the members.
type committee struct {
	leader    id.PeerID
	deadAfter time.Duration
	voters    []Member // in the config, voting; by PeerID
	nonVoters []Member // in the config, non-voting; by PeerID
	joiners   []Member // asking to join with a replica not in the config; by PeerID
}

// newCommittee sorts and classifies members; false if the leader is not a
// voter in them, a view too inconsistent to act on.
func newCommittee(members []Member, leader id.PeerID, deadAfter time.Duration) (committee, bool) {
	sorted := slices.Clone(members)
	slices.SortStableFunc(sorted, func(a, b Member) int {
		return cmp.Or(a.Peer.Compare(b.Peer), cmp.Compare(a.Replica, b.Replica))
	})
	c := committee{leader: leader, deadAfter: deadAfter}
	inConfig := func(m Member) bool {
		return slices.ContainsFunc(c.voters, func(o Member) bool { return o.Peer == m.Peer && o.Replica == m.Replica }) ||
			slices.ContainsFunc(c.nonVoters, func(o Member) bool { return o.Peer == m.Peer && o.Replica == m.Replica })
	}
	for _, m := range sorted {
		switch {
		case m.Joining:
		case inConfig(m):
			// A duplicate entry; the first one stands.
		case m.Voter:
			c.voters = append(c.voters, m)
		default:
			c.nonVoters = append(c.nonVoters, m)
		}
	}
	for _, m := range sorted {
		// A join request for a replica already in the config is a retry
		// of one that succeeded: joining is idempotent.
		if m.Joining && !inConfig(m) && !slices.ContainsFunc(c.joiners, func(o Member) bool { return o.Peer == m.Peer }) {
			c.joiners = append(c.joiners, m)
		}
	}
	return c, slices.ContainsFunc(c.voters, func(v Member) bool { return v.Peer == leader })
}

// superseded reports whether m's peer asks to join with another replica:
// it has wiped m's replica and bumped its incarnation.
func (c committee) superseded(m Member) bool {
	return m.Peer != c.leader && slices.ContainsFunc(c.joiners, func(j Member) bool {
		return j.Peer == m.Peer && j.Replica != m.Replica
	})
}

// live reports whether m's replica can take part in the shard now.
func (c committee) live(m Member) bool {
	return m.Peer == c.leader || (m.Alive && !c.superseded(m))
}

// gone reports whether m's replica should be removed: superseded, or its
// bond down for at least deadAfter. Never the leader.
func (c committee) gone(m Member) bool {
	if m.Peer == c.leader {
		return false
	}
	return c.superseded(m) || (!m.Alive && m.DeadFor >= c.deadAfter)
}

func (c committee) liveVoters() int {
	n := 0
	for _, v := range c.voters {
		if c.live(v) {
			n++
		}
	}
	return n
}

// ready lists the non-voting replicas that may be promoted, by PeerID.
func (c committee) ready() []Member {
	var r []Member
	for _, m := range c.nonVoters {
		if !m.Observer && m.CaughtUp && c.live(m) {
			r = append(r, m)
		}
	}
	return r
}

// prospects reports whether a member is on its way to becoming ready: a
// live non-observer that is joining or still catching up.
func (c committee) prospects() bool {
	for _, m := range c.nonVoters {
		if !m.Observer && !m.CaughtUp && c.live(m) {
			return true
		}
	}
	for _, j := range c.joiners {
		if !j.Observer && j.Alive {
			return true
		}
	}
	return false
}

// hasReplica reports whether peer still has a replica in the config.
func (c committee) hasReplica(peer id.PeerID) bool {
	is := func(m Member) bool { return m.Peer == peer }
	return slices.ContainsFunc(c.voters, is) || slices.ContainsFunc(c.nonVoters, is)
}

// victim picks the voter rule 5 removes: not live first, then observers,
// then the highest PeerID; never the leader, and only if the live voters
// left are a quorum of the smaller config.
func (c committee) victim() (Member, bool) {
	var best Member
	found := false
	rank := func(m Member) int {
		switch {
		case !c.live(m):
			return 0
		case m.Observer:
			return 1
		}
		return 2
	}
	for _, v := range c.voters {
		if v.Peer == c.leader {
			continue
		}
		if !found || rank(v) < rank(best) || (rank(v) == rank(best) && best.Peer.Less(v.Peer)) {
			best, found = v, true
		}
	}
	if !found {
		return Member{}, false
	}
	left := c.liveVoters()
	if c.live(best) {
		left--
	}
	return best, left >= Quorum(len(c.voters)-1)
}

func change(k ChangeKind, m Member) ConfigChange {
	return ConfigChange{Kind: k, Peer: m.Peer, Replica: m.Replica}
}

// voterCap normalizes maxVoters: the default for 0 or less, and odd.
func voterCap(maxVoters int) int {
	if maxVoters <= 0 {
		return DefaultMaxVoters
	}
	return oddFloor(maxVoters)
}

// oddFloor is the largest odd number at most n, and at least 1.
func oddFloor(n int) int {
	if n < 1 {
		return 1
	}
	if n%2 == 0 {
		return n - 1
	}
	return n
}

// ReformThreshold is how long a member must be cut off from a quorum of
// its shard's voters before it re-forms ([Lifecycle]): the longest election timeout
// (timeout plus its full jitter), so an election that could still succeed
// is not pre-empted, plus the bootstrap delay, so that members coming back
// together rejoin a shard instead of each re-forming its own.
func ReformThreshold(c ConsensusConfig) time.Duration {
	c = c.WithDefaults()
	return c.ElectionTimeout + c.ElectionJitter + c.BootstrapDelay
}

// PromotionsPending reports whether the committee is still to grow: a live
// member outside it that may vote (non-voting or joining, caught up or
// not) would be promoted once ready, by the rules of [NextChange]. A
// non-voting member has finished joining only when none is: until then
// the committee may still need its vote, and a member that reported
// itself joined while the leader held the only vote would leave the group
// without a quorum if the leader died.
func PromotionsPending(members []Member, leader id.PeerID, maxVoters int, deadAfter time.Duration) bool {
	c, ok := newCommittee(members, leader, deadAfter)
	if !ok {
		return true
	}
	candidates := 0
	for _, m := range c.nonVoters {
		if !m.Observer && c.live(m) {
			candidates++
		}
	}
	for _, j := range c.joiners {
		if !j.Observer && j.Alive {
			candidates++
		}
	}
	n := len(c.voters)
	return n < oddFloor(min(voterCap(maxVoters), n+candidates))
}

// FailoverBound is how long a group takes at most, with timings c, to have
// a leader again that every surviving member agrees on after it loses its
// leader, on a network that delivers (docs/concepts.md, "Failover"):
//
//   - the leader's death is noticed by its bonds within the failure-
//     detection window (MaxMissedHeartbeats x HeartbeatInterval); a
//     leaving leader says so at once;
//   - members cut off from their quorum (the leader held the only vote)
//     re-form after [ReformThreshold] from the last contact;
//   - an election takes at most ElectionTimeout + ElectionJitter, and a
//     vote split by pre-vote may cost a second one;
//   - a member that joins the re-formed shard asks within
//     ForwardTimeout, and hears who leads within two heartbeats.
//
// Voters that keep a quorum only need the election; the rest of the bound
// is for the windows in which the leader held the only vote.
func FailoverBound(c ConsensusConfig) time.Duration {
	c = c.WithDefaults()
	detect := time.Duration(c.MaxMissedHeartbeats) * c.HeartbeatInterval
	election := c.ElectionTimeout + c.ElectionJitter
	return detect + ReformThreshold(c) + 2*election + c.ForwardTimeout + 2*c.HeartbeatInterval
}
