package collections

import (
	"context"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/collections/internal/store"
	"github.com/mosaikgo/mosaik/statemachine"
)

// cellReads are the reads of a Cell or a Once: one optional value.
type cellReads[T any] struct {
	base
	values statemachine.Codec[T]
}

func newCellReads[T any](ctx context.Context, node *cluster.Node, def Def, kind store.Kind, reader bool) (cellReads[T], error) {
	vc, vn := valueCodec[T]()
	h, err := open(ctx, node, def, spec{kind: kind, codecs: vn}, reader)
	if err != nil {
		return cellReads[T]{}, err
	}
	return cellReads[T]{base: base{h}, values: vc}, nil
}

var cellKey = []byte{}

func (c cellReads[T]) read(s *view) (T, bool) {
	var zero T
	b, ok := store.Get(s.state.Items, cellKey)
	if !ok {
		return zero, false
	}
	v, err := c.values.Decode(b)
	return v, err == nil
}

// Read returns the value, if there is one.
func (c cellReads[T]) Read() (T, bool) { return c.read(c.h.load()) }

// IsNone reports whether the cell holds no value.
func (c cellReads[T]) IsNone() bool { return c.h.load().state.Len() == 0 }

// CellReader replicates a Cell without voting; it has no write methods.
type CellReader[T any] struct{ cellReads[T] }

// CellWriter replicates a Cell as a voting member and writes to it.
type CellWriter[T any] struct{ cellReads[T] }

// NewCellReader joins the Cell def names as a reader.
func NewCellReader[T any](ctx context.Context, node *cluster.Node, def Def) (*CellReader[T], error) {
	r, err := newCellReads[T](ctx, node, def, store.KindCell, true)
	if err != nil {
		return nil, err
	}
	return &CellReader[T]{r}, nil
}

// NewCellWriter joins the Cell def names as a writer.
func NewCellWriter[T any](ctx context.Context, node *cluster.Node, def Def) (*CellWriter[T], error) {
	r, err := newCellReads[T](ctx, node, def, store.KindCell, false)
	if err != nil {
		return nil, err
	}
	return &CellWriter[T]{r}, nil
}

// Write sets the value.
func (c *CellWriter[T]) Write(ctx context.Context, v T) (Version, error) {
	b, err := c.values.Encode(v)
	if err != nil {
		return 0, encodeError(v, err)
	}
	return write(ctx, c.h, v, store.Command{Op: store.OpInsert, Args: [][]byte{cellKey, b}})
}

// CompareAndSwap sets the value to new only if the current one encodes
// as old does; nil means "no value", as in MapWriter.CompareAndSwap.
func (c *CellWriter[T]) CompareAndSwap(ctx context.Context, old, new *T) (Version, error) {
	in := [2]*T{old, new}
	args := [][]byte{cellKey, nil, nil}
	for i, v := range in {
		if v != nil {
			b, err := c.values.Encode(*v)
			if err != nil {
				return 0, encodeError(in, err)
			}
			args[i+1] = b
		}
	}
	return write(ctx, c.h, in, store.Command{Op: store.OpCompareExchange, Args: args})
}

// Clear removes the value.
func (c *CellWriter[T]) Clear(ctx context.Context) (Version, error) {
	return write(ctx, c.h, struct{}{}, store.Command{Op: store.OpClear})
}

// onceReads adds AwaitValue to a cell's reads.
type onceReads[T any] struct{ cellReads[T] }

// AwaitValue waits until the value is set and returns it.
func (o onceReads[T]) AwaitValue(ctx context.Context) (T, error) {
	var zero T
	w := o.When()
	if err := w.result(nil); err != nil {
		return zero, err
	}
	ctx, cancel := w.withLife(ctx)
	defer cancel()
	v, err := o.h.m.live.v.Wait(ctx, func(v *view) bool { return v.state.Len() > 0 })
	if err = w.result(err); err != nil {
		return zero, err
	}
	x, _ := o.read(v)
	return x, nil
}

// OnceReader replicates a Once without voting; it has no write methods.
type OnceReader[T any] struct{ onceReads[T] }

// OnceWriter replicates a Once as a voting member and writes to it.
type OnceWriter[T any] struct{ onceReads[T] }

// NewOnceReader joins the Once def names as a reader.
func NewOnceReader[T any](ctx context.Context, node *cluster.Node, def Def) (*OnceReader[T], error) {
	r, err := newCellReads[T](ctx, node, def, store.KindOnce, true)
	if err != nil {
		return nil, err
	}
	return &OnceReader[T]{onceReads[T]{r}}, nil
}

// NewOnceWriter joins the Once def names as a writer.
func NewOnceWriter[T any](ctx context.Context, node *cluster.Node, def Def) (*OnceWriter[T], error) {
	r, err := newCellReads[T](ctx, node, def, store.KindOnce, false)
	if err != nil {
		return nil, err
	}
	return &OnceWriter[T]{onceReads[T]{r}}, nil
}

// Write sets the value if no write has set it yet, across all writers:
// the first write applied wins, later ones change nothing but still take
// a version. Read the value at the returned version to learn the winner.
func (o *OnceWriter[T]) Write(ctx context.Context, v T) (Version, error) {
	b, err := o.values.Encode(v)
	if err != nil {
		return 0, encodeError(v, err)
	}
	return write(ctx, o.h, v, store.Command{Op: store.OpWriteOnce, Args: [][]byte{b}})
}
