package groups

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/transport"
)

// MaxGenesisSize bounds the genesis a handshake may carry. A genesis is a
// nonce picked by the bootstrapping member; the bound leaves room for a
// digest plus metadata, and keeps a hostile peer from making the acceptor
// store large blobs.
const MaxGenesisSize = 256

// SecretLabel is the TLS exporter label of a bond's shared secret (the
// argument to transport.Link.SharedSecret): the group id in hex, as the
// architecture prescribes. Binding the secret to the group means a proof
// for one group is worth nothing for another group with the same key,
// even on the same connection.
func SecretLabel(group id.GroupID) string { return group.String() }

// SecretFunc derives a link's shared secret for a label.
// transport.Link.SharedSecret has this signature, so the acceptor passes
// link.SharedSecret; tests pass a fake per connection.
type SecretFunc func(label string) ([]byte, error)

// Rejection is a refused handshake: the code the link closes with and a
// reason for the other side's logs. Every error [VerifyStart] and
// [VerifyEnd] return is a *Rejection; get it with errors.As, or match a
// code with errors.Is(err, &Rejection{Code: c}).
type Rejection struct {
	Code   transport.CloseCode
	Reason string
}

func (r *Rejection) Error() string {
	return fmt.Sprintf("groups: handshake rejected: %d %s: %s", uint32(r.Code), r.Code, r.Reason)
}

// Is matches any rejection with the same code.
func (r *Rejection) Is(target error) bool {
	t, ok := target.(*Rejection)
	return ok && t.Code == r.Code
}

func reject(code transport.CloseCode, format string, args ...any) error {
	return &Rejection{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// JoinedGroup is what an acceptor knows about a group it has joined.
type JoinedGroup struct {
	// Key is the group's key; peers must prove it.
	Key Key

	// Authorize decides whether a peer that proved the key may bond (the
	// place for ticket validators). A non-nil error refuses the bond with
	// 30_403 and the error's text as the reason. Nil admits every peer
	// that proves the key. It runs inside the handshake, on the actor's
	// goroutine: it must decide from what the caller already holds (a
	// catalog snapshot) and must not block.
	Authorize func(peer id.PeerID) error
}

// Lookup finds a joined group by id; false means this node is not a
// member.
type Lookup func(group id.GroupID) (JoinedGroup, bool)

// Start is what a dialer says in its HandshakeStart, besides the proof.
type Start struct {
	Network id.NetworkID
	Group   id.GroupID
	// KnownBonds are the dialer's bonded peers in the group.
	KnownBonds []id.PeerID
	// Genesis is the dialer's consensus genesis; nil when it knows none.
	Genesis []byte
}

// Proto builds the dialer's HandshakeStart. secret is the link's
// SharedSecret(SecretLabel(s.Group)) and dialer is this node's id.
func (s Start) Proto(key Key, secret []byte, dialer id.PeerID) *messages.HandshakeStart {
	proof := Proof(key, secret, dialer)
	return &messages.HandshakeStart{
		NetworkId:  s.Network.Proto(),
		GroupId:    s.Group.Proto(),
		Proof:      proof.Bytes(),
		KnownBonds: peersProto(s.KnownBonds),
		Genesis:    s.Genesis,
	}
}

// End is what an acceptor says in its HandshakeEnd, besides the proof.
type End struct {
	// KnownBonds are the acceptor's bonded peers in the group.
	KnownBonds []id.PeerID
	// Genesis is the acceptor's consensus genesis; nil when it knows none.
	Genesis []byte
}

// Proto builds the acceptor's HandshakeEnd. secret is the link's
// SharedSecret(SecretLabel(group)) and acceptor is this node's id.
func (e End) Proto(key Key, secret []byte, acceptor id.PeerID) *messages.HandshakeEnd {
	proof := Proof(key, secret, acceptor)
	return &messages.HandshakeEnd{
		Proof:      proof.Bytes(),
		KnownBonds: peersProto(e.KnownBonds),
		Genesis:    e.Genesis,
	}
}

// DecodeHandshakeStart unmarshals a frame's payload; bytes that are not a
// HandshakeStart are rejected with 30_400.
func DecodeHandshakeStart(payload []byte) (*messages.HandshakeStart, error) {
	m := new(messages.HandshakeStart)
	if err := proto.Unmarshal(payload, m); err != nil {
		return nil, reject(transport.CodeBadHandshake, "undecodable HandshakeStart: %v", err)
	}
	return m, nil
}

// DecodeHandshakeEnd unmarshals a frame's payload; bytes that are not a
// HandshakeEnd are rejected with 30_400.
func DecodeHandshakeEnd(payload []byte) (*messages.HandshakeEnd, error) {
	m := new(messages.HandshakeEnd)
	if err := proto.Unmarshal(payload, m); err != nil {
		return nil, reject(transport.CodeBadHandshake, "undecodable HandshakeEnd: %v", err)
	}
	return m, nil
}

// VerifyStart is the acceptor's check of a dialer's HandshakeStart. local
// is this node's network, groups finds the joined group, secret derives
// the link's shared secret, and dialer is the link's authenticated peer.
// It returns the parsed message, or a *Rejection with the code to close
// the link with:
//
//   - 101 (transport.CodeDifferentNetwork): the dialer is in another network;
//   - 30_404 (CodeGroupNotFound): this node is not a member of the group;
//   - 30_400 (CodeBadHandshake): a field is missing or malformed, or the
//     shared secret cannot be derived (the link is already gone);
//   - 30_405 (CodeInvalidProof): the proof is not the dialer's proof of
//     the group key on this connection (wrong key, replayed from another
//     connection, or the acceptor's own proof echoed);
//   - 30_403 (CodeNotAllowed): Authorize refused the dialer.
//
// Fields are checked in the order they are needed: network, group, the
// remaining structure, proof, authorization. The proof comes before
// authorization so that peers without the key learn nothing about the
// group's policy, and costly checks (ticket signatures) run only for
// members.
func VerifyStart(m *messages.HandshakeStart, local id.NetworkID, groups Lookup, secret SecretFunc, dialer id.PeerID) (Start, error) {
	if m == nil {
		return Start{}, reject(transport.CodeBadHandshake, "no HandshakeStart")
	}
	network, err := id.DigestFromProto(m.GetNetworkId())
	if err != nil {
		return Start{}, reject(transport.CodeBadHandshake, "network id: %v", err)
	}
	if network != local {
		return Start{}, reject(transport.CodeDifferentNetwork, "network %s, want %s", network.Short(), local.Short())
	}
	group, err := id.DigestFromProto(m.GetGroupId())
	if err != nil {
		return Start{}, reject(transport.CodeBadHandshake, "group id: %v", err)
	}
	joined, ok := groups(group)
	if !ok {
		return Start{}, reject(transport.CodeGroupNotFound, "not a member of group %s", group.Short())
	}
	if len(m.GetProof()) != id.DigestSize {
		return Start{}, reject(transport.CodeBadHandshake, "proof has %d bytes, want %d", len(m.GetProof()), id.DigestSize)
	}
	bonds, err := peersFromProto(m.GetKnownBonds())
	if err != nil {
		return Start{}, err
	}
	if len(m.GetGenesis()) > MaxGenesisSize {
		return Start{}, reject(transport.CodeBadHandshake, "genesis has %d bytes, limit %d", len(m.GetGenesis()), MaxGenesisSize)
	}
	shared, err := secret(SecretLabel(group))
	if err != nil {
		return Start{}, reject(transport.CodeBadHandshake, "no shared secret: %v", err)
	}
	if !VerifyProof(joined.Key, shared, dialer, m.GetProof()) {
		return Start{}, reject(transport.CodeInvalidProof, "proof of %s does not verify", dialer.Short())
	}
	if joined.Authorize != nil {
		if err := joined.Authorize(dialer); err != nil {
			return Start{}, reject(transport.CodeNotAllowed, "%v", err)
		}
	}
	return Start{Network: network, Group: group, KnownBonds: bonds, Genesis: cloneGenesis(m.GetGenesis())}, nil
}

// VerifyEnd is the dialer's check of the acceptor's HandshakeEnd: the
// acceptor must prove the same key on the same connection, as itself.
// key is the group's key, secret the link's SharedSecret(SecretLabel(group))
// and acceptor the link's authenticated peer. Errors are *Rejection with
// 30_400 (malformed) or 30_405 (proof does not verify).
func VerifyEnd(m *messages.HandshakeEnd, key Key, secret []byte, acceptor id.PeerID) (End, error) {
	if m == nil {
		return End{}, reject(transport.CodeBadHandshake, "no HandshakeEnd")
	}
	if len(m.GetProof()) != id.DigestSize {
		return End{}, reject(transport.CodeBadHandshake, "proof has %d bytes, want %d", len(m.GetProof()), id.DigestSize)
	}
	bonds, err := peersFromProto(m.GetKnownBonds())
	if err != nil {
		return End{}, err
	}
	if len(m.GetGenesis()) > MaxGenesisSize {
		return End{}, reject(transport.CodeBadHandshake, "genesis has %d bytes, limit %d", len(m.GetGenesis()), MaxGenesisSize)
	}
	if !VerifyProof(key, secret, acceptor, m.GetProof()) {
		return End{}, reject(transport.CodeInvalidProof, "proof of %s does not verify", acceptor.Short())
	}
	return End{KnownBonds: bonds, Genesis: cloneGenesis(m.GetGenesis())}, nil
}

func peersProto(peers []id.PeerID) []*messages.PeerId {
	if len(peers) == 0 {
		return nil
	}
	out := make([]*messages.PeerId, len(peers))
	for i, p := range peers {
		out[i] = p.Proto()
	}
	return out
}

func peersFromProto(ms []*messages.PeerId) ([]id.PeerID, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	out := make([]id.PeerID, len(ms))
	for i, m := range ms {
		p, err := id.PeerIDFromProto(m)
		if err != nil {
			return nil, reject(transport.CodeBadHandshake, "known bond %d: %v", i, err)
		}
		out[i] = p
	}
	return out, nil
}

// cloneGenesis copies the genesis out of the message (which may alias a
// reused frame buffer) and maps empty to nil, so "knows none" has one form.
func cloneGenesis(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
