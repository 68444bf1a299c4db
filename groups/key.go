package groups

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"github.com/mosaikgo/mosaik/id"
)

// KeySize is the length of a group key's secret in bytes.
const KeySize = 32

// ErrBadKey reports bytes that cannot be a group key.
var ErrBadKey = errors.New("groups: malformed key")

// fingerprintLabel separates the printable fingerprint from every other use
// of the key's digest, so logs reveal nothing that enters an id or a proof.
var fingerprintLabel = []byte("mosaik/groups/key-fingerprint/v1")

// Key is a group's shared secret. Every member holds the same key; it is
// distributed out of band (configuration, a secret store), never over the
// network: ids and proofs use only blake3 of it.
//
// The zero value is "no key"; [VerifyProof] refuses it. Compare keys with
// [Key.Equal]. Every fmt verb prints a masked form with a fingerprint,
// never the secret. A Key is immutable, so copies share the secret.
type Key struct {
	// Two pointers away, on purpose: where fmt bypasses methods (a bad
	// verb such as %p, an unexported struct field holding a Key) it prints
	// a pointer to an array as the array's bytes, but a pointer to a
	// pointer only as an address.
	secret **[KeySize]byte
}

func sealKey(b [KeySize]byte) Key {
	p := &b
	return Key{secret: &p}
}

// raw is the secret, or nil for the zero key.
func (k Key) raw() *[KeySize]byte {
	if k.secret == nil {
		return nil
	}
	return *k.secret
}

// NewKey returns a fresh random key, for a group that is being created.
func NewKey() Key {
	var secret [KeySize]byte
	if _, err := rand.Read(secret[:]); err != nil {
		// crypto/rand does not fail on supported platforms; a group
		// without a secret key must not exist.
		panic(fmt.Sprintf("groups: no randomness for a key: %v", err))
	}
	return sealKey(secret)
}

// KeyFromSecret names a key by a string, as [id.Of] names ids: a
// 64-character hex string is the raw key (the form [Key.Secret] hex-encodes
// to), any other string is hashed with blake3. Nodes configured with the
// same string hold the same key; a passphrase is only as strong as it is
// hard to guess.
func KeyFromSecret(s string) Key {
	return sealKey(id.Of(s))
}

// KeyFromBytes builds a key from its 32 raw bytes.
func KeyFromBytes(b []byte) (Key, error) {
	if len(b) != KeySize {
		return Key{}, fmt.Errorf("%w: want %d bytes, got %d", ErrBadKey, KeySize, len(b))
	}
	return sealKey([KeySize]byte(b)), nil
}

// Secret returns a copy of the raw key, for storing it or handing it to
// the other members. Keep it secret: anyone holding it can join the group.
// The zero key has no secret and returns nil.
func (k Key) Secret() []byte {
	if k.raw() == nil {
		return nil
	}
	return bytes.Clone(k.raw()[:])
}

// IsZero reports whether k holds no key. A key whose 32 bytes are all zero
// counts as none too: it is what an unset configuration decodes to, and
// admitting it would let every misconfigured node into one group.
func (k Key) IsZero() bool { return k.raw() == nil || *k.raw() == [KeySize]byte{} }

// Equal reports whether k and o are the same key, in constant time.
func (k Key) Equal(o Key) bool {
	if k.IsZero() || o.IsZero() {
		return k.IsZero() && o.IsZero()
	}
	return subtle.ConstantTimeCompare(k.raw()[:], o.raw()[:]) == 1
}

// digest is blake3 of the secret: the root of the group id and of every
// proof, and the only thing computed from the secret. Ids and proofs are
// derived from it, never from the secret, so recovering the key from them
// would mean inverting blake3.
//
// The zero key hashes as 32 zero bytes, so its ids are well defined
// (and its proofs never verify).
func (k Key) digest() id.Digest {
	if k.raw() == nil {
		return id.Hash(make([]byte, KeySize))
	}
	return id.Hash(k.raw()[:])
}

// Fingerprint is a short, stable, non-secret name of the key for logs and
// support: two nodes whose fingerprints differ hold different keys. It is
// taken from a domain-separated derivation of the key's digest, so it
// shares no bytes with any id or proof.
func (k Key) Fingerprint() string {
	if k.IsZero() {
		return "none"
	}
	return k.digest().Derive(fingerprintLabel).Short()
}

// String prints the fingerprint, never the secret.
func (k Key) String() string { return "groups.Key(" + k.Fingerprint() + ")" }

// GoString masks the key under %#v too.
func (k Key) GoString() string { return k.String() }

// Format masks the key under every verb: without it %x or %d would print
// the struct's bytes, since fmt consults String only for some verbs.
func (k Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }
