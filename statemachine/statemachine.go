package statemachine

import (
	"io"

	"github.com/mosaikgo/mosaik/id"
)

// StateMachine is a deterministic state machine replicated by a group.
//
// C is the command type (changes state), Q the query type and R the result
// type of a query.
type StateMachine[C, Q, R any] interface {
	// Signature names the machine's type and version. It is part of the
	// group id, so members running different machines, or different
	// versions of one, never form a group together. Change it whenever
	// Apply's behaviour or the snapshot format changes.
	Signature() id.Digest

	// Apply applies a batch of committed commands in order. The context
	// tells each command's log index. It must be deterministic (see the
	// package doc) and must not block.
	Apply(ctx ApplyContext, cmds []C)

	// Query answers a read-only question about the current state. It must
	// not change the state.
	Query(q Q) R

	// Snapshot writes the whole state to w, for members that join late or
	// fall too far behind. Restore(Snapshot) must give an equal machine.
	Snapshot(w io.Writer) error

	// Restore replaces the whole state with one read from r.
	Restore(r io.Reader) error
}

// ApplyContext is what Apply may know besides the commands: facts that
// are identical on every member.
//
// It carries no Raft term: the replication engine (dragonboat) hands a
// state machine entries without their terms, and a term is not needed for
// determinism, since an index names one committed entry for good.
type ApplyContext struct {
	group   id.GroupID
	indexes []uint64
}

// NewApplyContext builds a context for a batch whose i-th command sits at
// log index indexes[i]. The consensus layer and tests of machines use it.
func NewApplyContext(group id.GroupID, indexes []uint64) ApplyContext {
	return ApplyContext{group: group, indexes: indexes}
}

// Group is the id of the group the machine belongs to.
func (c ApplyContext) Group() id.GroupID { return c.group }

// Len is the number of commands in the batch.
func (c ApplyContext) Len() int { return len(c.indexes) }

// Index is the log index of the i-th command of the batch.
func (c ApplyContext) Index(i int) uint64 { return c.indexes[i] }

// LastIndex is the log index of the batch's last command, or 0 for an
// empty batch.
func (c ApplyContext) LastIndex() uint64 {
	if len(c.indexes) == 0 {
		return 0
	}
	return c.indexes[len(c.indexes)-1]
}
