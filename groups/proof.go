package groups

import (
	"crypto/subtle"

	"github.com/mosaikgo/mosaik/id"
)

// Proof is what a peer presents on a bond to show that it knows the group
// key:
//
//	blake3(key).derive(sharedSecret).derive(prover)
//
// sharedSecret is the link's TLS exporter value ([SecretLabel]), equal on
// both ends of one connection and different on every other, so a proof
// recorded on one connection is useless on another. prover is the peer id
// of the side presenting the proof, so the two ends' proofs differ and
// neither side can echo the other's. The key never leaves the node, and
// the proof does not reveal it (nor its digest).
func Proof(key Key, sharedSecret []byte, prover id.PeerID) id.Digest {
	return key.digest().Derive(sharedSecret).Derive(prover[:])
}

// VerifyProof reports whether proof is prover's proof of key on the
// connection with sharedSecret. The comparison takes constant time, so
// timing tells an attacker nothing about how close a guess was. It refuses
// a zero key and an empty shared secret: both mean a bug on this side
// (a group without a key, a secret that was never derived), and a proof
// bound to no connection could be replayed.
func VerifyProof(key Key, sharedSecret []byte, prover id.PeerID, proof []byte) bool {
	if key.IsZero() || len(sharedSecret) == 0 {
		return false
	}
	want := Proof(key, sharedSecret, prover)
	return subtle.ConstantTimeCompare(want[:], proof) == 1
}
