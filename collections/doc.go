// Package collections holds replicated data structures that applications
// use like local ones: [MapWriter]/[MapReader], Vec, Set, Cell, Once and
// PriorityQueue. Every node that opens a collection by the same [Def]
// (store id, kind, element types) holds a replica of it.
//
// # Groups, writers and readers
//
// Each collection is one group (see package cluster): its key is derived
// from the store id, its state machine signature from the kind, the
// element codecs and, for a queue, the capacity, so collections that
// differ in any of these never meet. Writers are voting members; readers
// join as observers, replicate the state without voting, and have no
// write methods (they are separate types). A node holds one role per
// collection ([ErrRole] otherwise); several handles of one role on one
// node share its replica.
//
// Reads are local and see committed state only: the state this member
// has applied, as of the handle's Version(). Writes go through the group's
// leader and return the [Version] at which they were applied, once this
// member has applied them: a writer reads its own writes, and
// When().Reaches(v) on any other member waits until it sees them. Writes
// from one goroutine apply in call order; concurrent writes apply in
// some order, the same on every member. A write that is not sent (the
// group is offline, or the input does not encode) returns a
// [*WriteError] that hands the input back. Every write takes a version,
// also one that changes nothing.
//
// # State and sync
//
// The state is a persistent (immutable) AVL tree over the encoded
// entries (package collections/internal/store): a write builds a new
// root that shares everything it did not touch. A snapshot therefore
// captures the state in O(1) (the statemachine.SnapshotPreparer
// extension) and streams it while writes continue; iteration order is
// bytewise on encoded keys, the same on every replica (keys of Go's
// ordered kinds are encoded so that it is their natural order). A
// member that joins late, or falls behind by more than
// Config.SnapshotEntries writes, catches up by dragonboat's snapshot
// transfer over the group's bonds, then the log after it; the received
// snapshot is built into a whole new tree before one pointer swap
// publishes it, so a reader never sees a half-installed state.
//
// # Concurrency
//
// Every method is safe for concurrent use. Reads never block on the
// network: they load the latest published state (one mutex-guarded
// pointer) and walk it; iteration walks the state current when it began,
// unaffected by later writes. Handles own no goroutines (When waits run
// on their caller's); Close leaves the group with the node's last handle
// of the collection and waits for that.
package collections
