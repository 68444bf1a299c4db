package discovery

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
)

// Errors for entries and heads that fail validation. Each rejection is
// counted by the catalog's owner; none of them enters the catalog.
var (
	ErrMalformed     = errors.New("discovery: malformed entry")
	ErrBadSignature  = errors.New("discovery: signature does not verify")
	ErrWrongNetwork  = errors.New("discovery: entry belongs to another network")
	ErrFutureVersion = errors.New("discovery: entry version is too far in the future")
	ErrEntryTooLarge = errors.New("discovery: entry too large")
)

// Domain separation: a signature over an entry can never be replayed as a
// head or as anything else the key signs.
var (
	entryDomain = []byte("mosaik/peer-entry/v1\x00")
	headDomain  = []byte("mosaik/peer-head/v1\x00")
)

// Entry is what a node says about itself: where to reach it and what it
// offers. It is trusted only as part of a [Signed] entry.
type Entry struct {
	Network    id.NetworkID
	Peer       id.PeerID
	Version    uint64
	Addrs      []string
	GossipAddr string
	Tags       []id.Tag
	Groups     []id.GroupID
	Streams    []id.StreamID
	Tickets    []Ticket
	// Departing marks the last entry of a node that is leaving gracefully.
	Departing bool
	// Shards holds, for groups in Groups whose consensus this node takes
	// part in, the shard it runs there.
	Shards map[id.GroupID]ShardAd
}

// ShardAd is a member's place in a group's consensus.
type ShardAd struct {
	// Genesis names the shard (see package groups); nil while unknown.
	Genesis []byte
	// Replica is the member's replica id in the shard; 0 while none runs.
	Replica uint64
	// Observer: the member replicates but never votes.
	Observer bool
}

// Clone returns a deep copy, so callers can change it without touching an
// entry held in a snapshot.
func (e Entry) Clone() Entry {
	e.Addrs = slices.Clone(e.Addrs)
	e.Tags = slices.Clone(e.Tags)
	e.Groups = slices.Clone(e.Groups)
	e.Streams = slices.Clone(e.Streams)
	tickets := make([]Ticket, len(e.Tickets))
	for i, t := range e.Tickets {
		tickets[i] = Ticket{Class: t.Class, Data: slices.Clone(t.Data)}
	}
	e.Tickets = tickets
	if e.Shards != nil {
		shards := make(map[id.GroupID]ShardAd, len(e.Shards))
		for g, ad := range e.Shards {
			shards[g] = ShardAd{Genesis: slices.Clone(ad.Genesis), Replica: ad.Replica, Observer: ad.Observer}
		}
		e.Shards = shards
	}
	return e
}

// HasTag reports whether the entry carries tag.
func (e Entry) HasTag(tag id.Tag) bool { return slices.Contains(e.Tags, tag) }

// InGroup reports whether the entry advertises membership of g.
func (e Entry) InGroup(g id.GroupID) bool { return slices.Contains(e.Groups, g) }

// NextVersion is the version an owner gives its next entry: the larger of
// its wall clock in milliseconds and prev+1. A restarted node therefore
// outranks every entry it signed before, without having stored them, as
// long as its clock did not go back.
func NextVersion(prev uint64, now time.Time) uint64 {
	return max(prev+1, uint64(max(now.UnixMilli(), 0)))
}

func (e Entry) proto() *messages.PeerEntry {
	m := &messages.PeerEntry{
		NetworkId:  e.Network.Proto(),
		PeerId:     e.Peer.Proto(),
		Version:    e.Version,
		Addrs:      e.Addrs,
		GossipAddr: e.GossipAddr,
		Departing:  e.Departing,
	}
	for _, t := range e.Tags {
		m.Tags = append(m.Tags, t.Proto())
	}
	for _, g := range e.Groups {
		ad := e.Shards[g]
		m.Groups = append(m.Groups, &messages.GroupAd{GroupId: g.Proto(), Genesis: ad.Genesis, ReplicaId: ad.Replica, Observer: ad.Observer})
	}
	for _, s := range e.Streams {
		m.Streams = append(m.Streams, s.Proto())
	}
	for _, t := range e.Tickets {
		m.Tickets = append(m.Tickets, t.proto())
	}
	return m
}

func entryFromProto(m *messages.PeerEntry) (Entry, error) {
	var e Entry
	var err error
	if e.Network, err = id.DigestFromProto(m.GetNetworkId()); err != nil {
		return e, fmt.Errorf("network id: %w", err)
	}
	if e.Peer, err = id.PeerIDFromProto(m.GetPeerId()); err != nil {
		return e, fmt.Errorf("peer id: %w", err)
	}
	e.Version = m.GetVersion()
	e.Addrs = m.GetAddrs()
	e.GossipAddr = m.GetGossipAddr()
	for _, t := range m.GetTickets() {
		tk, err := ticketFromProto(t)
		if err != nil {
			return e, err
		}
		e.Tickets = append(e.Tickets, tk)
	}
	e.Departing = m.GetDeparting()
	digests := func(what string, in []*messages.Digest) ([]id.Digest, error) {
		var out []id.Digest
		for _, d := range in {
			v, err := id.DigestFromProto(d)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			out = append(out, v)
		}
		return out, nil
	}
	if e.Tags, err = digests("tag", m.GetTags()); err != nil {
		return e, err
	}
	if e.Streams, err = digests("stream", m.GetStreams()); err != nil {
		return e, err
	}
	for _, g := range m.GetGroups() {
		gid, err := id.DigestFromProto(g.GetGroupId())
		if err != nil {
			return e, fmt.Errorf("group: %w", err)
		}
		e.Groups = append(e.Groups, gid)
		if len(g.GetGenesis()) > 0 || g.GetReplicaId() != 0 || g.GetObserver() {
			if e.Shards == nil {
				e.Shards = map[id.GroupID]ShardAd{}
			}
			e.Shards[gid] = ShardAd{Genesis: g.GetGenesis(), Replica: g.GetReplicaId(), Observer: g.GetObserver()}
		}
	}
	return e, nil
}

// Signed is an entry together with the exact bytes its owner signed. It is
// immutable: snapshots share it freely.
type Signed struct {
	entry  Entry
	raw    []byte // deterministic encoding of entry.proto()
	sig    []byte
	digest id.Digest // blake3(raw)
}

// Sign encodes e deterministically and signs it with key, which must be
// e.Peer's key.
func Sign(e Entry, key id.SecretKey) (Signed, error) {
	if key.PeerID() != e.Peer {
		return Signed{}, fmt.Errorf("discovery: signing %s's entry with %s's key", e.Peer.Short(), key.PeerID().Short())
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(e.proto())
	if err != nil {
		return Signed{}, fmt.Errorf("discovery: encode entry: %w", err)
	}
	return Signed{
		entry:  e.Clone(),
		raw:    raw,
		sig:    key.Sign(append(slices.Clip(entryDomain), raw...)),
		digest: id.Hash(raw),
	}, nil
}

// Entry returns a copy of the signed entry.
func (s Signed) Entry() Entry { return s.entry.Clone() }

// Peer is the entry's owner.
func (s Signed) Peer() id.PeerID { return s.entry.Peer }

// Version is the entry's version.
func (s Signed) Version() uint64 { return s.entry.Version }

// Digest is blake3 of the signed bytes; heads refer to entries by it.
func (s Signed) Digest() id.Digest { return s.digest }

// IsZero reports whether s holds no entry.
func (s Signed) IsZero() bool { return s.raw == nil }

// Size is the length of the signed bytes.
func (s Signed) Size() int { return len(s.raw) }

// Proto returns the wire form. The byte slices are shared with s; the
// caller must not modify them.
func (s Signed) Proto() *messages.SignedPeerEntry {
	return &messages.SignedPeerEntry{Entry: s.raw, Signature: s.sig}
}

// Newer reports whether s should replace old in a catalog: a higher
// version wins; at equal versions (an owner that signed twice within one
// millisecond after a restart) the larger digest wins, so that every node
// settles on the same entry whatever order they saw them in.
func (s Signed) Newer(old Signed) bool {
	if s.entry.Version != old.entry.Version {
		return s.entry.Version > old.entry.Version
	}
	return s.digest.Compare(old.digest) > 0
}

// Rules are the checks every entry from the network passes before it is
// stored.
type Rules struct {
	// Network is the only network whose entries are accepted.
	Network id.NetworkID
	// MaxClockDrift bounds how far an entry's version may lie ahead of the
	// local clock (versions are owner timestamps in milliseconds).
	MaxClockDrift time.Duration
	// MaxEntrySize bounds the signed bytes of one entry.
	MaxEntrySize int
}

// Verify decodes and checks a signed entry from the network: size,
// encoding, signature, network and version drift, in that order, so that
// no work is spent on bytes that are not from a peer of ours.
func Verify(m *messages.SignedPeerEntry, rules Rules, now time.Time) (Signed, error) {
	raw, sig := m.GetEntry(), m.GetSignature()
	if rules.MaxEntrySize > 0 && len(raw) > rules.MaxEntrySize {
		return Signed{}, fmt.Errorf("%w: %d bytes, limit %d", ErrEntryTooLarge, len(raw), rules.MaxEntrySize)
	}
	var pm messages.PeerEntry
	if err := proto.Unmarshal(raw, &pm); err != nil {
		return Signed{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	e, err := entryFromProto(&pm)
	if err != nil {
		return Signed{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if !e.Peer.Verify(append(slices.Clip(entryDomain), raw...), sig) {
		return Signed{}, fmt.Errorf("%w: entry of %s", ErrBadSignature, e.Peer.Short())
	}
	if e.Network != rules.Network {
		return Signed{}, fmt.Errorf("%w: %s, want %s", ErrWrongNetwork, e.Network.Short(), rules.Network.Short())
	}
	if limit := now.Add(rules.MaxClockDrift).UnixMilli(); limit >= 0 && e.Version > uint64(limit) {
		return Signed{}, fmt.Errorf("%w: version %d, local clock allows %d", ErrFutureVersion, e.Version, limit)
	}
	return Signed{
		entry:  e,
		raw:    slices.Clone(raw),
		sig:    slices.Clone(sig),
		digest: id.Hash(raw),
	}, nil
}

// ClaimedPeer reads the peer an entry from the network claims to be of,
// without checking anything else: no signature, no network. It costs a
// decode of the entry's bytes, a fraction of [Verify], so that a catalog
// owner can skip verifying entries it would turn away for their peer
// alone (a new peer when the catalog is full). Never trust its answer for
// anything else.
func ClaimedPeer(m *messages.SignedPeerEntry) (id.PeerID, bool) {
	var pm messages.PeerEntry
	if err := proto.Unmarshal(m.GetEntry(), &pm); err != nil {
		return id.PeerID{}, false
	}
	p, err := id.PeerIDFromProto(pm.GetPeerId())
	return p, err == nil
}

// Head is the signed summary of a node's current entry that rides in its
// memberlist meta.
type Head struct {
	Peer    id.PeerID
	Version uint64
	Entry   id.Digest
}

func (h Head) signedBytes() []byte {
	b := slices.Clip(headDomain)
	b = append(b, h.Peer[:]...)
	b = append(b, byte(h.Version>>56), byte(h.Version>>48), byte(h.Version>>40), byte(h.Version>>32),
		byte(h.Version>>24), byte(h.Version>>16), byte(h.Version>>8), byte(h.Version))
	return append(b, h.Entry[:]...)
}

// HeadOf returns the head describing s.
func HeadOf(s Signed) Head {
	return Head{Peer: s.Peer(), Version: s.Version(), Entry: s.Digest()}
}

// EncodeHead signs h with key and encodes it for memberlist meta.
func EncodeHead(h Head, key id.SecretKey) ([]byte, error) {
	m := &messages.PeerHead{
		PeerId:      h.Peer.Proto(),
		Version:     h.Version,
		EntryDigest: h.Entry.Proto(),
		Signature:   key.Sign(h.signedBytes()),
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

// DecodeHead decodes and verifies a head from memberlist meta.
func DecodeHead(b []byte) (Head, error) {
	h, sig, err := ParseHead(b)
	if err != nil {
		return Head{}, err
	}
	if !h.Peer.Verify(h.signedBytes(), sig) {
		return Head{}, fmt.Errorf("%w: head of %s", ErrBadSignature, h.Peer.Short())
	}
	return h, nil
}

// ParseHead decodes a head from memberlist meta without checking its
// signature, which it returns. Trust the head only once [DecodeHead] would
// accept it, or for nothing more than [Catalog.HoldsHead] does with it.
func ParseHead(b []byte) (h Head, sig []byte, err error) {
	var m messages.PeerHead
	if err := proto.Unmarshal(b, &m); err != nil {
		return Head{}, nil, fmt.Errorf("%w: head: %w", ErrMalformed, err)
	}
	if h.Peer, err = id.PeerIDFromProto(m.GetPeerId()); err != nil {
		return Head{}, nil, fmt.Errorf("%w: head: %w", ErrMalformed, err)
	}
	if h.Entry, err = id.DigestFromProto(m.GetEntryDigest()); err != nil {
		return Head{}, nil, fmt.Errorf("%w: head: %w", ErrMalformed, err)
	}
	h.Version = m.GetVersion()
	return h, m.GetSignature(), nil
}
