// Package store is the byte-level core of the replicated collections:
// persistent (immutable) trees over byte strings, the commands a
// collection's group replicates, the pure function that applies a command
// to a state and returns the next one, and the snapshot format.
//
// Everything here is plain data and plain functions: no goroutines, no
// locks, no clocks. A [State] is a value; applying a command never changes
// it but builds a new one that shares all untouched nodes with the old.
// That is what makes a snapshot O(1) (keep the root) and lets readers
// iterate a state while later commands are applied.
//
// Keys are ordered bytewise: the collections encode keys with an
// order-preserving codec where they can, so that bytewise order is the
// natural order, and iteration order is the same on every replica.
package store
