package statemachine

import (
	"io"

	"github.com/mosaikgo/mosaik/id"
)

// NoOp is the machine of groups that exist only to elect a leader: it has
// no state, applies nothing and answers every query with an empty value.
type NoOp struct{}

var noopSignature = id.Of("mosaik/statemachine/noop/v1")

// Signature is fixed: every NoOp group member runs the same machine.
func (NoOp) Signature() id.Digest           { return noopSignature }
func (NoOp) Apply(ApplyContext, []struct{}) {}
func (NoOp) Query(struct{}) struct{}        { return struct{}{} }
func (NoOp) Snapshot(io.Writer) error       { return nil }
func (NoOp) Restore(io.Reader) error        { return nil }

// NoOpMachine is NoOp as a byte-level [Machine], for groups that only
// elect a leader.
func NoOpMachine() Machine { return Erase[struct{}, struct{}, struct{}](NoOp{}, NoOpCodecs()) }

// NoOpCodecs are the codecs of [NoOp]: empty values as empty bytes.
func NoOpCodecs() Codecs[struct{}, struct{}, struct{}] {
	c := emptyCodec{}
	return Codecs[struct{}, struct{}, struct{}]{Command: c, Query: c, Result: c}
}

type emptyCodec struct{}

func (emptyCodec) Encode(struct{}) ([]byte, error) { return nil, nil }
func (emptyCodec) Decode([]byte) (struct{}, error) { return struct{}{}, nil }
