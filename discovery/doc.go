// Package discovery is the protocol core of mosaik's peer catalog: signed
// peer entries, the heads that announce them, and the rules by which a
// node merges what it hears into its catalog.
//
// A node describes itself in an [Entry] (addresses, tags, groups, streams,
// tickets) and signs it ([Sign]); nobody else can produce or alter it.
// Entries travel in memberlist push-pull state, in broadcasts that every
// node forwards, in UDP packets the first node to hear an entry first-hand
// fans out to the members ([FanOutTo]), in push-backs that hand a joiner
// what its push-pull state lacked ([PushBack]), over group bonds, and by
// direct fetch; wherever they come from, [Verify] checks size, encoding,
// signature, network and version before anything is stored. Versions only
// grow ([NextVersion]); a [Head] (peer, version, digest, signature) in the
// node's memberlist meta tells others when the entry they hold is stale.
//
// [Catalog] is the merge logic as a plain state machine: inputs are
// verified entries and liveness verdicts, each with the current time;
// outputs are [Event]s and immutable [Snapshot]s. It runs no goroutines
// and reads no clock, so it is tested with scripts over logical time. The
// discovery actor (package actors) drives it from memberlist callbacks and
// publishes snapshots through a [Watch].
//
// What a peer's presence means: an entry is visible while failure
// detection reports its peer alive, or while it is news relayed by others
// that failure detection has not yet confirmed (for at most PurgeAfter). A
// peer declared dead or gone departs at once; its entry is kept for
// PurgeAfter so that a peer returning from a partition reappears without a
// refetch.
package discovery
