package discovery

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
)

// ErrNotAdmitted: a sync peer did not prove that it holds the network
// secret (or proved a wrong one). The link closes with 101 (different
// network): for this node, a peer without the secret is not in its
// network.
var ErrNotAdmitted = errors.New("discovery: no valid proof of the network secret")

// SyncLabel is the TLS exporter label of the per-connection secret that
// sync proofs are bound to (the argument to transport.Link.SharedSecret).
const SyncLabel = "mosaik/discovery/sync/2"

// admissionDomain separates the admission key from every other use of a
// network secret (memberlist encrypts gossip with the secret itself).
var admissionDomain = []byte("mosaik/network-admission/v1\x00")

// Admission decides who may sync catalogs with a node over
// /mosaik/discovery/sync/2: peers of its network and, when the network
// has a secret, only those that prove they hold it, as memberlist's
// encryption demands of gossip. Without a secret the network is open:
// anyone who knows its name may read the catalog and offer entries (each
// still signed by its owner and checked on its own).
//
// The proof is the group bond proof's construction keyed by the network:
//
//	blake3(domain || secret).derive(network).derive(connSecret).derive(prover)
//
// connSecret is the connection's TLS exporter value for [SyncLabel], so a
// proof is worthless on any other connection, and prover is the presenting
// side's peer id, so neither side can echo the other's. The secret never
// leaves the node. Admission is a plain value; its methods are pure.
type Admission struct {
	network id.NetworkID
	key     id.Digest // zero on an open network
}

// NewAdmission returns the admission rules of network; an empty secret
// makes it open.
func NewAdmission(network id.NetworkID, secret []byte) Admission {
	a := Admission{network: network}
	if len(secret) > 0 {
		a.key = id.Hash(append(slices.Clip(admissionDomain), secret...)).DeriveDigest(network)
	}
	return a
}

// Network is the network whose members are admitted.
func (a Admission) Network() id.NetworkID { return a.network }

// Open reports whether the network has no secret, so that proofs are
// neither sent nor checked.
func (a Admission) Open() bool { return a.key.IsZero() }

// Proof is prover's proof of the secret on the connection whose exporter
// value for SyncLabel is connSecret; nil on an open network.
func (a Admission) Proof(connSecret []byte, prover id.PeerID) []byte {
	if a.Open() {
		return nil
	}
	p := a.key.Derive(connSecret).Derive(prover[:])
	return p[:]
}

// verify checks prover's proof in constant time. A closed network refuses
// an empty connection secret: a proof bound to no connection could be
// replayed.
func (a Admission) verify(connSecret []byte, prover id.PeerID, proof []byte) error {
	if a.Open() {
		return nil
	}
	if len(proof) == 0 {
		return fmt.Errorf("%w: %s sent none", ErrNotAdmitted, prover.Short())
	}
	if len(connSecret) == 0 {
		return fmt.Errorf("%w: no connection secret to check it against", ErrNotAdmitted)
	}
	want := a.Proof(connSecret, prover)
	if subtle.ConstantTimeCompare(want, proof) != 1 {
		return fmt.Errorf("%w: %s's proof does not verify", ErrNotAdmitted, prover.Short())
	}
	return nil
}

// SecretFunc derives a connection's exporter secret for a label;
// transport.Link.SharedSecret has this signature.
type SecretFunc func(label string) ([]byte, error)

// connSecret derives the connection's secret, or nothing on an open
// network, which needs none (and so skips the exporter call).
func (a Admission) connSecret(secret SecretFunc) ([]byte, error) {
	if a.Open() {
		return nil, nil
	}
	s, err := secret(SyncLabel)
	if err != nil {
		return nil, fmt.Errorf("discovery: sync secret: %w", err)
	}
	return s, nil
}

// SyncAsk is what a verified SyncRequest asks for.
type SyncAsk struct {
	// Only, when not zero, is the one peer whose entry is wanted back.
	Only id.PeerID
	// Push says a CatalogState frame follows the acceptance.
	Push bool
	// Status asks the acceptor to add its view of its groups.
	Status bool
}

// Request builds the dialer's SyncRequest: network, proof (self proving
// on the connection whose secrets secret derives), and what it asks.
func (a Admission) Request(secret SecretFunc, self id.PeerID, ask SyncAsk) (*messages.SyncRequest, error) {
	cs, err := a.connSecret(secret)
	if err != nil {
		return nil, err
	}
	m := &messages.SyncRequest{NetworkId: a.network.Proto(), Proof: a.Proof(cs, self), Push: ask.Push, Status: ask.Status}
	if !ask.Only.IsZero() {
		m.Only = ask.Only.Proto()
	}
	return m, nil
}

// CheckRequest verifies a dialer's SyncRequest, the first frame of a sync
// link: its network ([ErrWrongNetwork]), its proof ([ErrNotAdmitted]) and
// its fields ([ErrMalformed]). Either way it reports the connection
// secret it derived, which the acceptor's own proof needs.
func (a Admission) CheckRequest(m *messages.SyncRequest, secret SecretFunc, dialer id.PeerID) (SyncAsk, []byte, error) {
	net, err := id.DigestFromProto(m.GetNetworkId())
	if err != nil {
		return SyncAsk{}, nil, fmt.Errorf("%w: sync request network id: %w", ErrMalformed, err)
	}
	if net != a.network {
		return SyncAsk{}, nil, fmt.Errorf("%w: sync request for %s, want %s", ErrWrongNetwork, net.Short(), a.network.Short())
	}
	cs, err := a.connSecret(secret)
	if err != nil {
		return SyncAsk{}, nil, err
	}
	if err := a.verify(cs, dialer, m.GetProof()); err != nil {
		return SyncAsk{}, cs, err
	}
	ask := SyncAsk{Push: m.GetPush(), Status: m.GetStatus()}
	if m.GetOnly() != nil {
		if ask.Only, err = id.PeerIDFromProto(m.GetOnly()); err != nil {
			return SyncAsk{}, cs, fmt.Errorf("%w: sync request peer: %w", ErrMalformed, err)
		}
		if ask.Only.IsZero() {
			return SyncAsk{}, cs, fmt.Errorf("%w: sync request for the zero peer", ErrMalformed)
		}
	}
	return ask, cs, nil
}

// Accept builds the acceptor's SyncAccept; connSecret is what
// CheckRequest derived.
func (a Admission) Accept(connSecret []byte, self id.PeerID) *messages.SyncAccept {
	return &messages.SyncAccept{Proof: a.Proof(connSecret, self)}
}

// CheckAccept verifies the acceptor's SyncAccept ([ErrNotAdmitted]): the
// dialer reads nothing larger from a peer that did not prove the secret.
func (a Admission) CheckAccept(m *messages.SyncAccept, secret SecretFunc, acceptor id.PeerID) error {
	cs, err := a.connSecret(secret)
	if err != nil {
		return err
	}
	return a.verify(cs, acceptor, m.GetProof())
}
