package id

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"lukechampine.com/blake3"

	"github.com/mosaikgo/mosaik/messages"
)

// DigestSize is the length of a [Digest] in bytes.
const DigestSize = 32

// ErrBadDigest reports bytes or text that do not form a digest.
var ErrBadDigest = errors.New("id: malformed digest")

// Digest is a 32-byte blake3 value used as an identifier.
// The zero value is the zero digest, which no real intent hashes to.
type Digest [DigestSize]byte

// Aliases that say what a digest identifies. They are the same type, so they
// convert freely; the names exist for readers.
type (
	NetworkID = Digest
	Tag       = Digest
	GroupID   = Digest
	StreamID  = Digest
	StoreID   = Digest
)

// Of returns the id named by s: a 64-character hex string decodes to the
// digest it spells, any other string is hashed with blake3.
func Of(s string) Digest {
	if len(s) == 2*DigestSize {
		if d, err := ParseDigest(s); err == nil {
			return d
		}
	}
	return Hash([]byte(s))
}

// Hash returns the blake3 digest of data.
func Hash(data []byte) Digest {
	return blake3.Sum256(data)
}

// RandomDigest returns a digest drawn from crypto/rand.
func RandomDigest() Digest {
	var d Digest
	// crypto/rand.Read never returns an error on supported platforms.
	_, _ = rand.Read(d[:])
	return d
}

// ParseDigest decodes a 64-character hex string.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if len(s) != 2*DigestSize {
		return d, fmt.Errorf("%w: want %d hex characters, got %d", ErrBadDigest, 2*DigestSize, len(s))
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, fmt.Errorf("%w: %w", ErrBadDigest, err)
	}
	return d, nil
}

// DigestFromBytes copies a 32-byte slice into a digest.
func DigestFromBytes(b []byte) (Digest, error) {
	var d Digest
	if len(b) != DigestSize {
		return d, fmt.Errorf("%w: want %d bytes, got %d", ErrBadDigest, DigestSize, len(b))
	}
	copy(d[:], b)
	return d, nil
}

// Derive returns blake3(d || info): a new id bound to both d and info.
// It is how composite ids are built (a group id from its key, config and
// state machine), so the order of derivations matters.
func (d Digest) Derive(info []byte) Digest {
	// One-shot hashing of d || info gives the same value as streaming both
	// into a hasher, without the hasher's allocation: derivations sit on
	// the bond handshake's path.
	var small [2 * DigestSize]byte
	buf := append(small[:0], d[:]...)
	return blake3.Sum256(append(buf, info...))
}

// DeriveDigest is Derive with another digest as the info.
func (d Digest) DeriveDigest(info Digest) Digest { return d.Derive(info[:]) }

// IsZero reports whether d is the zero digest.
func (d Digest) IsZero() bool { return d == Digest{} }

// Compare orders digests by their bytes: -1, 0 or +1.
func (d Digest) Compare(o Digest) int { return bytes.Compare(d[:], o[:]) }

// Less reports whether d sorts before o.
func (d Digest) Less(o Digest) bool { return d.Compare(o) < 0 }

// String is the lower-case hex form, which [Of] and [ParseDigest] read back.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// Short is the first 10 hex characters, for logs and tables.
func (d Digest) Short() string { return d.String()[:10] }

// Bytes returns a copy of the digest's bytes.
func (d Digest) Bytes() []byte { return bytes.Clone(d[:]) }

// MarshalText implements encoding.TextMarshaler (hex).
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (hex only: unlike [Of],
// it never hashes, so a typo is an error rather than a different id).
func (d *Digest) UnmarshalText(b []byte) error {
	v, err := ParseDigest(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Proto returns the wire form of d.
func (d Digest) Proto() *messages.Digest { return &messages.Digest{Value: d.Bytes()} }

// DigestFromProto reads the wire form; a missing or short value is an error.
func DigestFromProto(m *messages.Digest) (Digest, error) {
	if m == nil {
		return Digest{}, fmt.Errorf("%w: missing", ErrBadDigest)
	}
	return DigestFromBytes(m.GetValue())
}
