package groups

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
)

// ErrBadBondMessage reports a bond frame that does not decode or whose
// content cannot be right. The bond's actor closes the bond with
// transport.CodeProtocolViolation.
var ErrBadBondMessage = errors.New("groups: malformed bond message")

// MaxDepartureReason bounds the reason a Departure carries, in bytes;
// longer reasons are cut by [DepartureMessage]. It is log text, not data.
const MaxDepartureReason = 256

// Pair names a bond by its two ends, lower PeerID first, so the same bond
// has one name on every node (a map key for the group's topology).
type Pair struct {
	A, B id.PeerID
}

// PairOf orders x and y into a Pair.
func PairOf(x, y id.PeerID) Pair {
	if y.Less(x) {
		x, y = y, x
	}
	return Pair{A: x, B: y}
}

// Has reports whether p is one end of the pair.
func (p Pair) Has(peer id.PeerID) bool { return p.A == peer || p.B == peer }

// PingMessage is a heartbeat ping with sequence number seq.
func PingMessage(seq uint64) *messages.BondMessage {
	return &messages.BondMessage{Kind: &messages.BondMessage_Ping{Ping: &messages.BondPing{Seq: seq}}}
}

// PongMessage answers the ping with sequence number seq.
func PongMessage(seq uint64) *messages.BondMessage {
	return &messages.BondMessage{Kind: &messages.BondMessage_Pong{Pong: &messages.BondPong{Seq: seq}}}
}

// DepartureMessage announces that this member leaves. The reason is made
// valid UTF-8 (protobuf refuses to encode anything else, and a Departure
// must never fail to go out) and cut to MaxDepartureReason bytes.
func DepartureMessage(reason string) *messages.BondMessage {
	reason = strings.ToValidUTF8(reason, "\uFFFD")
	if len(reason) > MaxDepartureReason {
		reason = strings.ToValidUTF8(reason[:MaxDepartureReason], "")
	}
	return &messages.BondMessage{Kind: &messages.BondMessage_Departure{Departure: &messages.Departure{Reason: reason}}}
}

// PeerEntryUpdateMessage carries this node's new signed entry.
func PeerEntryUpdateMessage(entry *messages.SignedPeerEntry) *messages.BondMessage {
	return &messages.BondMessage{Kind: &messages.BondMessage_PeerEntryUpdate{PeerEntryUpdate: &messages.PeerEntryUpdate{Entry: entry}}}
}

// BondFormedMessage tells a bonded peer that the bond p exists.
func BondFormedMessage(p Pair) *messages.BondMessage {
	return &messages.BondMessage{Kind: &messages.BondMessage_BondFormed{BondFormed: &messages.BondFormed{A: p.A.Proto(), B: p.B.Proto()}}}
}

// RaftMessage carries a marshalled batch of consensus messages.
func RaftMessage(data []byte) *messages.BondMessage {
	return &messages.BondMessage{Kind: &messages.BondMessage_Raft{Raft: &messages.RaftFrame{Data: data}}}
}

// DecodeBondMessage unmarshals a bond frame and checks it with
// [CheckBondMessage].
func DecodeBondMessage(payload []byte) (*messages.BondMessage, error) {
	m := new(messages.BondMessage)
	if err := proto.Unmarshal(payload, m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadBondMessage, err)
	}
	if err := CheckBondMessage(m); err != nil {
		return nil, err
	}
	return m, nil
}

// CheckBondMessage checks what a bond frame's kind needs: a
// PeerEntryUpdate carries an entry (whose signature package discovery
// verifies), a BondFormed names two distinct well-formed peers. A frame
// with no kind, or one this version does not know, is accepted: it still
// counts as a heartbeat, and a newer peer's new kinds must not break
// bonds with older ones. The actor ignores what it does not understand.
func CheckBondMessage(m *messages.BondMessage) error {
	if m == nil {
		return fmt.Errorf("%w: nil", ErrBadBondMessage)
	}
	switch k := m.GetKind().(type) {
	case *messages.BondMessage_PeerEntryUpdate:
		if k.PeerEntryUpdate.GetEntry() == nil {
			return fmt.Errorf("%w: peer entry update without an entry", ErrBadBondMessage)
		}
	case *messages.BondMessage_BondFormed:
		if _, err := BondFormedPair(k.BondFormed); err != nil {
			return err
		}
	case *messages.BondMessage_Progress:
		if _, err := ProgressFromProto(k.Progress); err != nil {
			return err
		}
	}
	return nil
}

// MaxCommitteeReplicas bounds each replica list of a Progress's committee.
// Committees hold at most a few voters, but every member of a group is in
// its configuration; no group comes near this.
const MaxCommitteeReplicas = 4096

// ProgressMessage is the bond frame that carries p.
func ProgressMessage(p Progress) *messages.BondMessage {
	m := &messages.Progress{
		Genesis:   p.Genesis.Bytes(),
		ReplicaId: p.Replica,
		Applied:   p.Applied,
		Term:      p.Term,
		Leader:    p.Leader,
		Parent:    p.Parent.Bytes(),
	}
	if p.KnowsLeader {
		m.LeaderTerm = max(p.Term, 1)
	}
	if c := p.Committee; c != nil {
		m.Committee = &messages.Committee{ConfigChangeId: c.ConfigChangeID, Voters: c.Voters, NonVoting: c.NonVoting, Settled: c.Settled}
	}
	return &messages.BondMessage{Kind: &messages.BondMessage_Progress{Progress: m}}
}

// ProgressFromProto reads a Progress frame: geneses of 16 bytes or none,
// committee lists of at most MaxCommitteeReplicas replicas.
func ProgressFromProto(m *messages.Progress) (Progress, error) {
	g, err := GenesisFromBytes(m.GetGenesis())
	if err != nil {
		return Progress{}, fmt.Errorf("%w: progress: %w", ErrBadBondMessage, err)
	}
	parent, err := GenesisFromBytes(m.GetParent())
	if err != nil {
		return Progress{}, fmt.Errorf("%w: progress: parent: %w", ErrBadBondMessage, err)
	}
	p := Progress{
		Genesis:     g,
		Replica:     m.GetReplicaId(),
		Applied:     m.GetApplied(),
		Term:        m.GetTerm(),
		Leader:      m.GetLeader(),
		KnowsLeader: m.GetLeaderTerm() != 0,
		Parent:      parent,
	}
	if c := m.GetCommittee(); c != nil {
		if len(c.GetVoters()) > MaxCommitteeReplicas || len(c.GetNonVoting()) > MaxCommitteeReplicas {
			return Progress{}, fmt.Errorf("%w: progress: committee of %d+%d replicas", ErrBadBondMessage, len(c.GetVoters()), len(c.GetNonVoting()))
		}
		p.Committee = &Committee{ConfigChangeID: c.GetConfigChangeId(), Voters: c.GetVoters(), NonVoting: c.GetNonVoting(), Settled: c.GetSettled()}
	}
	return p, nil
}

// BondFormedPair reads the bond a BondFormed announces.
func BondFormedPair(m *messages.BondFormed) (Pair, error) {
	a, err := id.PeerIDFromProto(m.GetA())
	if err != nil {
		return Pair{}, fmt.Errorf("%w: bond formed: a: %w", ErrBadBondMessage, err)
	}
	b, err := id.PeerIDFromProto(m.GetB())
	if err != nil {
		return Pair{}, fmt.Errorf("%w: bond formed: b: %w", ErrBadBondMessage, err)
	}
	if a == b {
		return Pair{}, fmt.Errorf("%w: bond formed: a peer bonded with itself", ErrBadBondMessage)
	}
	return PairOf(a, b), nil
}
