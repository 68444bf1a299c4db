package statemachine

import (
	"fmt"
	"io"

	"github.com/mosaikgo/mosaik/id"
)

// Machine is a state machine at the byte level: what the consensus layer
// drives. Users implement [StateMachine] and wrap it with [Erase].
type Machine interface {
	Signature() id.Digest
	// Apply applies encoded commands. A command that does not decode is
	// skipped; since every member holds the same bytes, every member skips
	// it, and the error is returned for that index alone.
	Apply(ctx ApplyContext, cmds [][]byte) []error
	// Query decodes q, asks the machine and encodes the result.
	Query(q []byte) ([]byte, error)
	Snapshot(w io.Writer) error
	Restore(r io.Reader) error
}

// SnapshotPreparer is an optional extension of [Machine] for machines
// whose state can be captured at once, such as persistent (immutable)
// data structures: the dragonboat adapter then takes a snapshot in two
// steps, as dragonboat's concurrent state machines do. PrepareSnapshot
// runs with Apply excluded and must only capture the state (O(1): keep a
// root); the function it returns writes that captured state later,
// concurrently with Apply, and must not read anything Apply changes.
// Machines without it are snapshotted whole, into memory, while Apply
// waits (see the adapter's Threading notes).
type SnapshotPreparer interface {
	PrepareSnapshot() (save func(w io.Writer) error)
}

// Erase wraps a typed machine and its codecs as a [Machine].
func Erase[C, Q, R any](sm StateMachine[C, Q, R], codecs Codecs[C, Q, R]) Machine {
	return &erased[C, Q, R]{sm: sm, codecs: codecs}
}

type erased[C, Q, R any] struct {
	sm     StateMachine[C, Q, R]
	codecs Codecs[C, Q, R]
}

func (e *erased[C, Q, R]) Signature() id.Digest { return e.sm.Signature() }

func (e *erased[C, Q, R]) Apply(ctx ApplyContext, cmds [][]byte) []error {
	var errs []error
	decoded := make([]C, 0, len(cmds))
	indexes := make([]uint64, 0, len(cmds))
	for i, b := range cmds {
		c, err := e.codecs.Command.Decode(b)
		if err != nil {
			if errs == nil {
				errs = make([]error, len(cmds))
			}
			errs[i] = fmt.Errorf("command at index %d: %w", ctx.Index(i), err)
			continue
		}
		decoded = append(decoded, c)
		indexes = append(indexes, ctx.Index(i))
	}
	if len(decoded) > 0 {
		e.sm.Apply(NewApplyContext(ctx.Group(), indexes), decoded)
	}
	return errs
}

func (e *erased[C, Q, R]) Query(b []byte) ([]byte, error) {
	q, err := e.codecs.Query.Decode(b)
	if err != nil {
		return nil, err
	}
	return e.codecs.Result.Encode(e.sm.Query(q))
}

func (e *erased[C, Q, R]) Snapshot(w io.Writer) error { return e.sm.Snapshot(w) }
func (e *erased[C, Q, R]) Restore(r io.Reader) error  { return e.sm.Restore(r) }
