// Package id defines the identifiers every part of mosaik agrees on.
//
// A [Digest] is a 32-byte blake3 value. Ids are intent-addressed: two nodes
// that name the same intent ("my-network", "orders-group") compute the same
// id without talking to each other, because [Of] hashes the name. A string of
// exactly 64 hex characters is taken as the id itself, so ids can be printed
// and pasted back. [NetworkID], [Tag], [GroupID], [StreamID] and [StoreID] are
// aliases of [Digest] that document intent at call sites.
//
// A node's identity is an ed25519 key pair: the [SecretKey] stays on the node,
// and its public half is the node's [PeerID], which peers check in every TLS
// handshake.
//
// All types here are immutable values and safe for concurrent use.
package id
