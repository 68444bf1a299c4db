// Package statemachine is the contract between mosaik and the replicated
// state machines users write.
//
// A group replicates one [StateMachine]: every member applies the same
// committed commands in the same order, so every member holds the same
// state. Users implement the generic interface with their own command,
// query and result types and pick a [Codec] for each: [JSONCodecs] for
// plain Go values, [ProtoCodecs] for protobuf messages, or one by one. A
// codec left nil in rsm.Config is [DefaultCodec] of its type: protobuf for
// protobuf message types, JSON otherwise. [Erase] turns the typed machine into
// the byte-level [Machine] that the consensus layer drives. Nothing in this
// package depends on how consensus is done.
//
// # Determinism
//
// Apply must be a pure function of the machine's state and its input: no
// clocks, randomness, map iteration order, goroutines or I/O. The
// [ApplyContext] carries the only extra facts it may use (the group id and
// each command's log index), which are the same on every member. A machine
// that panics in Apply stops its group with an error rather than letting
// members diverge.
//
// # Concurrency
//
// The consensus layer calls Apply, Snapshot and Restore from one goroutine
// at a time. Query may run concurrently with Snapshot but never with Apply
// or Restore. A machine needs no locking of its own.
package statemachine
