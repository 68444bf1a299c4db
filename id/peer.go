package id

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/mosaikgo/mosaik/messages"
)

// PeerIDSize is the length of a [PeerID] in bytes (an ed25519 public key).
const PeerIDSize = ed25519.PublicKeySize

// ErrBadPeerID reports bytes or text that do not form a peer id or key.
var ErrBadPeerID = errors.New("id: malformed peer id")

// PeerID is a node's ed25519 public key. It names the node everywhere: in the
// catalog, in TLS handshakes, as the Raft address of its replicas.
type PeerID [PeerIDSize]byte

// ParsePeerID decodes the 64-character lower- or upper-case hex form.
func ParsePeerID(s string) (PeerID, error) {
	var p PeerID
	if len(s) != 2*PeerIDSize {
		return p, fmt.Errorf("%w: want %d hex characters, got %d", ErrBadPeerID, 2*PeerIDSize, len(s))
	}
	if _, err := hex.Decode(p[:], []byte(s)); err != nil {
		return p, fmt.Errorf("%w: %w", ErrBadPeerID, err)
	}
	return p, nil
}

// PeerIDFromBytes copies a 32-byte public key.
func PeerIDFromBytes(b []byte) (PeerID, error) {
	var p PeerID
	if len(b) != PeerIDSize {
		return p, fmt.Errorf("%w: want %d bytes, got %d", ErrBadPeerID, PeerIDSize, len(b))
	}
	copy(p[:], b)
	return p, nil
}

// PublicKey returns the key as the standard library type.
func (p PeerID) PublicKey() ed25519.PublicKey { return ed25519.PublicKey(p.Bytes()) }

// Verify reports whether sig is p's signature of msg.
func (p PeerID) Verify(msg, sig []byte) bool {
	return len(sig) == ed25519.SignatureSize && ed25519.Verify(p[:], msg, sig)
}

// IsZero reports whether p is the zero value (no peer).
func (p PeerID) IsZero() bool { return p == PeerID{} }

// Compare orders peer ids by their bytes: -1, 0 or +1. Protocols that need a
// tie-break (who dials, who bootstraps) use this order.
func (p PeerID) Compare(o PeerID) int { return bytes.Compare(p[:], o[:]) }

// Less reports whether p sorts before o.
func (p PeerID) Less(o PeerID) bool { return p.Compare(o) < 0 }

// String is the lower-case hex form.
func (p PeerID) String() string { return hex.EncodeToString(p[:]) }

// Short is the first 10 hex characters, for logs and tables.
func (p PeerID) Short() string { return p.String()[:10] }

// Bytes returns a copy of the key's bytes.
func (p PeerID) Bytes() []byte { return bytes.Clone(p[:]) }

// MarshalText implements encoding.TextMarshaler (hex).
func (p PeerID) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (hex).
func (p *PeerID) UnmarshalText(b []byte) error {
	v, err := ParsePeerID(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Proto returns the wire form of p.
func (p PeerID) Proto() *messages.PeerId { return &messages.PeerId{Value: p.Bytes()} }

// PeerIDFromProto reads the wire form; a missing or short value is an error.
func PeerIDFromProto(m *messages.PeerId) (PeerID, error) {
	if m == nil {
		return PeerID{}, fmt.Errorf("%w: missing", ErrBadPeerID)
	}
	return PeerIDFromBytes(m.GetValue())
}

// SecretKey is a node's ed25519 private key. Its String form is masked so
// that it never ends up in logs by accident.
type SecretKey struct {
	key ed25519.PrivateKey
}

// NewSecretKey returns a fresh random key.
func NewSecretKey() SecretKey {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		// crypto/rand does not fail on supported platforms; a node
		// without randomness must not run.
		panic(fmt.Sprintf("id: no randomness for a key: %v", err))
	}
	return SecretKey{key: priv}
}

// SecretKeyFromBytes builds a key from its 32-byte seed (the form [SecretKey.Seed]
// returns), for keys kept in files or environment variables.
func SecretKeyFromBytes(seed []byte) (SecretKey, error) {
	if len(seed) != ed25519.SeedSize {
		return SecretKey{}, fmt.Errorf("id: secret key seed must be %d bytes, got %d", ed25519.SeedSize, len(seed))
	}
	return SecretKey{key: ed25519.NewKeyFromSeed(seed)}, nil
}

// SecretKeyFromSeed derives a key deterministically from a string: a
// 64-character hex string is the seed itself, anything else is hashed as by
// [Of]. A node restarted with the same string keeps its PeerID.
func SecretKeyFromSeed(s string) SecretKey {
	seed := Of(s)
	return SecretKey{key: ed25519.NewKeyFromSeed(seed[:])}
}

// PeerID returns the public half of the key.
func (k SecretKey) PeerID() PeerID {
	var p PeerID
	copy(p[:], k.key.Public().(ed25519.PublicKey))
	return p
}

// Sign signs msg with the key.
func (k SecretKey) Sign(msg []byte) []byte { return ed25519.Sign(k.key, msg) }

// Seed returns the 32-byte seed the key is built from; keep it secret.
func (k SecretKey) Seed() []byte { return bytes.Clone(k.key.Seed()) }

// PrivateKey returns the key as the standard library type, for TLS.
func (k SecretKey) PrivateKey() ed25519.PrivateKey { return k.key }

// IsZero reports whether k holds no key.
func (k SecretKey) IsZero() bool { return len(k.key) == 0 }

// String never prints the key, only the peer it belongs to.
func (k SecretKey) String() string {
	if k.IsZero() {
		return "SecretKey(none)"
	}
	return "SecretKey(" + k.PeerID().Short() + "…)"
}

// GoString masks the key under %#v too.
func (k SecretKey) GoString() string { return k.String() }
