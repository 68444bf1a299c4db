package groups

import (
	"testing"

	"github.com/mosaikgo/mosaik/id"
)

func TestProofVerifies(t *testing.T) {
	key, other := KeyFromSecret("k"), KeyFromSecret("other")
	conn1, conn2 := id.Of("conn1").Bytes(), id.Of("conn2").Bytes()
	dialer := id.SecretKeyFromSeed("dialer").PeerID()
	acceptor := id.SecretKeyFromSeed("acceptor").PeerID()
	good := Proof(key, conn1, dialer)

	tests := []struct {
		name   string
		key    Key
		secret []byte
		prover id.PeerID
		proof  []byte
		want   bool
	}{
		{"own proof", key, conn1, dialer, good[:], true},
		{"wrong key", other, conn1, dialer, good[:], false},
		{"replayed on another connection", key, conn2, dialer, good[:], false},
		{"claimed by the other side", key, conn1, acceptor, good[:], false},
		{"zero key", Key{}, conn1, dialer, proofBytes(Proof(Key{}, conn1, dialer)), false},
		{"no shared secret", key, nil, dialer, proofBytes(Proof(key, nil, dialer)), false},
		{"truncated", key, conn1, dialer, good[:31], false},
		{"extended", key, conn1, dialer, append(good.Bytes(), 0), false},
		{"empty", key, conn1, dialer, nil, false},
		{"one bit off", key, conn1, dialer, flipBit(good.Bytes()), false},
	}
	for _, tc := range tests {
		if got := VerifyProof(tc.key, tc.secret, tc.prover, tc.proof); got != tc.want {
			t.Errorf("%s: VerifyProof = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestProofsOfTheTwoSidesDiffer(t *testing.T) {
	key := KeyFromSecret("k")
	secret := id.Of("conn").Bytes()
	a := Proof(key, secret, id.SecretKeyFromSeed("a").PeerID())
	b := Proof(key, secret, id.SecretKeyFromSeed("b").PeerID())
	if a == b {
		t.Fatal("both sides of a connection present the same proof")
	}
	if a == key.digest() || a == id.Digest(*key.raw()) {
		t.Fatal("the proof is the key or its digest")
	}
}

func proofBytes(d id.Digest) []byte { return d.Bytes() }

func flipBit(b []byte) []byte {
	b[len(b)-1] ^= 1
	return b
}
