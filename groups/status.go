package groups

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
)

// ErrBadStatus reports a GroupStatus that does not decode.
var ErrBadStatus = errors.New("groups: malformed group status")

// maxStatusText bounds the phase and reason a peer reports; longer text
// is cut. Both are for people to read, and a tool prints them as they
// come.
const maxStatusText = 256

// Status is one member's report of a group it has joined, as tools such
// as `mosaik status` show it: the lifecycle's view, how far the state
// machine has applied, and the bonds held. It informs; no node acts on
// another's Status.
type Status struct {
	Group    id.GroupID
	Phase    string // Phase.String of the member's lifecycle
	Genesis  Genesis
	Replica  uint64
	Leader   id.PeerID // zero while the member reaches none
	Term     uint64
	Voters   int // committee size as the member's replica applied it
	Voter    bool
	Joined   bool
	Online   bool
	Observer bool
	Applied  uint64 // last log index the state machine applied
	Reason   string // why the member is offline; empty while online
	Bonds    int
}

// StatusOf builds the report of group gid from the member's lifecycle
// view and what the actor counts beside it.
func StatusOf(gid id.GroupID, v View, observer bool, applied uint64, bonds int) Status {
	return Status{
		Group:    gid,
		Phase:    v.Phase.String(),
		Genesis:  v.Genesis,
		Replica:  v.Replica,
		Leader:   v.Leader,
		Term:     v.Term,
		Voters:   v.Voters,
		Voter:    v.Voter,
		Joined:   v.Joined,
		Online:   v.Online(),
		Observer: observer,
		Applied:  applied,
		Reason:   v.Reason,
		Bonds:    bonds,
	}
}

// Proto is the wire form of s.
func (s Status) Proto() *messages.GroupStatus {
	m := &messages.GroupStatus{
		GroupId:   s.Group.Proto(),
		Phase:     s.Phase,
		ReplicaId: s.Replica,
		Term:      s.Term,
		Voters:    clampUint32(s.Voters),
		Voter:     s.Voter,
		Joined:    s.Joined,
		Online:    s.Online,
		Observer:  s.Observer,
		Applied:   s.Applied,
		Reason:    s.Reason,
		Bonds:     clampUint32(s.Bonds),
	}
	if !s.Genesis.IsZero() {
		m.Genesis = s.Genesis.Bytes()
	}
	if !s.Leader.IsZero() {
		m.Leader = s.Leader.Proto()
	}
	return m
}

// StatusFromProto decodes a peer's report. Ids must be well formed
// ([ErrBadStatus] otherwise); the free text is cut to a bounded length and
// stripped of control characters, since it comes from the peer and is
// printed on terminals.
func StatusFromProto(m *messages.GroupStatus) (Status, error) {
	gid, err := id.DigestFromProto(m.GetGroupId())
	if err != nil {
		return Status{}, fmt.Errorf("%w: group id: %w", ErrBadStatus, err)
	}
	s := Status{
		Group:    gid,
		Phase:    printable(m.GetPhase()),
		Replica:  m.GetReplicaId(),
		Term:     m.GetTerm(),
		Voters:   int(m.GetVoters()),
		Voter:    m.GetVoter(),
		Joined:   m.GetJoined(),
		Online:   m.GetOnline(),
		Observer: m.GetObserver(),
		Applied:  m.GetApplied(),
		Reason:   printable(m.GetReason()),
		Bonds:    int(m.GetBonds()),
	}
	if len(m.GetGenesis()) > 0 {
		if s.Genesis, err = GenesisFromBytes(m.GetGenesis()); err != nil {
			return Status{}, fmt.Errorf("%w: %w", ErrBadStatus, err)
		}
	}
	if m.GetLeader() != nil {
		if s.Leader, err = id.PeerIDFromProto(m.GetLeader()); err != nil {
			return Status{}, fmt.Errorf("%w: leader: %w", ErrBadStatus, err)
		}
	}
	return s, nil
}

// printable cuts s to maxStatusText bytes and replaces what a terminal
// would interpret (control characters, invalid UTF-8) with '?'.
func printable(s string) string {
	if len(s) > maxStatusText {
		s = s[:maxStatusText]
	}
	return strings.Map(func(r rune) rune {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
}

func clampUint32(n int) uint32 {
	return uint32(min(max(n, 0), 1<<32-1))
}
