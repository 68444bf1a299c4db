// Package groups is the protocol core of mosaik's groups: the rules by
// which peers that share a group key find each other, open authenticated
// bonds, keep them alive, and agree on one bond per pair. It runs no
// goroutines, reads no clock and opens no sockets; the group and bond
// actors (package actors) drive these rules and do the I/O.
//
// # Groups and their ids
//
// A group is the set of peers that hold the same [Key] (a 32-byte secret
// shared out of band), run the same timings ([ConsensusConfig]), host the
// same state machine (its signature) and require the same ticket
// validators. [ID] folds all of these into the group id, so peers that
// differ in any of them get different ids and never meet, and peers that
// agree get the same id without talking. The id starts from blake3 of the
// key, never the key, so it can be advertised in the peer catalog.
//
// # Bonds and proofs
//
// Every pair of members keeps one bond: a link on /mosaik/groups/1. The
// lower PeerID dials ([Dials]). The dialer sends a HandshakeStart
// ([Start.Proto]); the acceptor checks it with [VerifyStart] and answers
// with a HandshakeEnd ([End.Proto]), which the dialer checks with
// [VerifyEnd]. A refusal is a [*Rejection] carrying the close code.
//
// Each side proves that it knows the key with [Proof]: blake3 of the key,
// derived with the connection's TLS-exported shared secret and then with
// the prover's own PeerID. The key never travels; a proof recorded on one
// connection fails on every other, since the shared secret differs; and
// each side's proof names its prover, so neither can pass off the other's
// proof as its own. Peers are already authenticated by TLS, so the proof
// is about the key only.
//
// # Duplicates
//
// Two bonds for one pair can still arise (both sides dialed before either
// saw the other, or a dialer redialed before the acceptor noticed the old
// bond was gone). [KeepArriving] decides, on each side independently and
// with the same result on both: of opposite directions the bond dialed by
// the lower PeerID survives; of the same direction the newer one does. The
// loser is closed with 30_429 (transport.CodeAlreadyBonded).
//
// # Heartbeats
//
// A bond's [Heartbeat] is a step machine over logical time: the actor
// calls Tick once per period ([NextHeartbeat] gives the period, the
// interval shortened by a random part of the jitter) and Heard for every
// frame that arrives. Any frame counts, not only pings. After
// MaxMissedHeartbeats silent periods in a row the bond is dead and closes
// with 30_408 (transport.CodeTimeout).
//
// # Bond traffic
//
// After the handshake every frame is a messages.BondMessage: pings and
// pongs, a Departure when a member leaves, PeerEntryUpdate to spread a
// changed peer entry faster than gossip, BondFormed so every member
// learns the topology ([Pair]), and Raft frames for the consensus layer.
// [DecodeBondMessage] and [CheckBondMessage] validate them; kinds this
// version does not know are accepted and ignored, so newer peers can add
// kinds.
//
// # The shard lifecycle
//
// A group replicates its state machine in one Raft shard. [Lifecycle] is
// a member's every decision about its replica of that shard, as a step
// machine: bootstrap or join ([ShouldBootstrap], [JoinTarget]), the
// leader's committee ([NextChange], [PromotionsPending]), failover (a
// member names only a leader it can reach; members cut off from their
// quorum re-form together, or wait under strict quorum: [ReformThreshold],
// [FailoverBound]), rivals ([Winner]) and rejoining. The group actor feeds
// it events and carries out the actions it returns; lifecycle.go has the
// rules, testdata/lifecycle the interaction scripts that pin them down.
//
// Everything here is a plain value or function and safe for concurrent
// use, except [Heartbeat], which belongs to one bond's actor, and
// [Lifecycle], which belongs to one group's actor.
package groups
