package groups

import "github.com/mosaikgo/mosaik/id"

// ID is the id of the group that members holding key, running the timings
// consensus and the state machine with signature machine, and requiring
// the ticket validators with the given signatures, form:
//
//	blake3(key).derive(consensus.Digest()).derive(machine).derive(v1)...
//
// Every input is folded in, so nodes that differ in any of them (a key, a
// timing, a machine version, a validator or the validators' order) get
// different ids, never find each other in the catalog, and never bond.
// Nodes that agree get the same id without talking. The id reveals
// nothing about the key: it starts from the key's digest, not the key.
func ID(key Key, consensus ConsensusConfig, machine id.Digest, validators ...id.Digest) id.GroupID {
	g := key.digest().DeriveDigest(consensus.Digest()).DeriveDigest(machine)
	for _, v := range validators {
		g = g.DeriveDigest(v)
	}
	return g
}
