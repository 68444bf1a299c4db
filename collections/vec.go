package collections

import (
	"context"
	"iter"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/collections/internal/store"
	"github.com/mosaikgo/mosaik/statemachine"
)

// vecReads are the reads of a Vec: a sequence of values, indexed from 0,
// kept as a persistent tree indexed by position (O(log n) get, insert
// and remove anywhere).
type vecReads[T any] struct {
	base
	values statemachine.Codec[T]
}

func newVecReads[T any](ctx context.Context, node *cluster.Node, def Def, reader bool) (vecReads[T], error) {
	vc, vn := valueCodec[T]()
	h, err := open(ctx, node, def, spec{kind: store.KindVec, codecs: vn}, reader)
	if err != nil {
		return vecReads[T]{}, err
	}
	return vecReads[T]{base: base{h}, values: vc}, nil
}

// Len is the number of values.
func (v vecReads[T]) Len() int { return v.h.load().state.Len() }

// IsEmpty reports whether there are no values.
func (v vecReads[T]) IsEmpty() bool { return v.Len() == 0 }

func (v vecReads[T]) at(items *store.Node, i int) (T, bool) {
	var zero T
	n := store.At(items, i)
	if n == nil {
		return zero, false
	}
	x, err := v.values.Decode(n.Val)
	return x, err == nil
}

// Get returns the value at index i.
func (v vecReads[T]) Get(i int) (T, bool) { return v.at(v.h.load().state.Items, i) }

// Front returns the first value.
func (v vecReads[T]) Front() (T, bool) { return v.Get(0) }

// Back returns the last value.
func (v vecReads[T]) Back() (T, bool) {
	items := v.h.load().state.Items
	return v.at(items, items.Len()-1)
}

// IndexOf returns the index of the first value that encodes as x does,
// or -1. It scans: O(n).
func (v vecReads[T]) IndexOf(x T) int {
	want, err := v.values.Encode(x)
	if err != nil {
		return -1
	}
	found, i := -1, 0
	store.Ascend(v.h.load().state.Items, 0, func(n *store.Node) bool {
		if string(n.Val) == string(want) {
			found = i
			return false
		}
		i++
		return true
	})
	return found
}

// Contains reports whether some value encodes as x does. O(n).
func (v vecReads[T]) Contains(x T) bool { return v.IndexOf(x) >= 0 }

// All iterates the indexes and values of one state in order.
func (v vecReads[T]) All() iter.Seq2[int, T] {
	return func(yield func(int, T) bool) {
		i := 0
		store.Ascend(v.h.load().state.Items, 0, func(n *store.Node) bool {
			x, err := v.values.Decode(n.Val)
			i++
			if err != nil {
				return true
			}
			return yield(i-1, x)
		})
	}
}

// Values iterates the values in order.
func (v vecReads[T]) Values() iter.Seq[T] {
	return func(yield func(T) bool) {
		for _, x := range v.All() {
			if !yield(x) {
				return
			}
		}
	}
}

// VecReader replicates a Vec without voting; it has no write methods.
type VecReader[T any] struct{ vecReads[T] }

// VecWriter replicates a Vec as a voting member and writes to it.
type VecWriter[T any] struct{ vecReads[T] }

// NewVecReader joins the Vec def names as a reader.
func NewVecReader[T any](ctx context.Context, node *cluster.Node, def Def) (*VecReader[T], error) {
	r, err := newVecReads[T](ctx, node, def, true)
	if err != nil {
		return nil, err
	}
	return &VecReader[T]{r}, nil
}

// NewVecWriter joins the Vec def names as a writer.
func NewVecWriter[T any](ctx context.Context, node *cluster.Node, def Def) (*VecWriter[T], error) {
	r, err := newVecReads[T](ctx, node, def, false)
	if err != nil {
		return nil, err
	}
	return &VecWriter[T]{r}, nil
}

func (v *VecWriter[T]) one(ctx context.Context, op store.Op, x T, pre ...[]byte) (Version, error) {
	b, err := v.values.Encode(x)
	if err != nil {
		return 0, encodeError(x, err)
	}
	return write(ctx, v.h, x, store.Command{Op: op, Args: append(pre, b)})
}

// PushBack appends x.
func (v *VecWriter[T]) PushBack(ctx context.Context, x T) (Version, error) {
	return v.one(ctx, store.OpPushBack, x)
}

// PushFront puts x first.
func (v *VecWriter[T]) PushFront(ctx context.Context, x T) (Version, error) {
	return v.one(ctx, store.OpPushFront, x)
}

// InsertAt puts x at index i, shifting the values from i on. i == Len
// appends; an index beyond Len (when the write is applied) is a no-op
// that still takes a version.
func (v *VecWriter[T]) InsertAt(ctx context.Context, i int, x T) (Version, error) {
	if i < 0 {
		return 0, encodeError(x, errNegativeIndex)
	}
	return v.one(ctx, store.OpInsertAt, x, store.Uint(uint64(i)))
}

// Extend appends every value as one write. An empty extend sends
// nothing and returns the current version.
func (v *VecWriter[T]) Extend(ctx context.Context, xs []T) (Version, error) {
	if len(xs) == 0 {
		return v.Version(), nil
	}
	args := make([][]byte, len(xs))
	for i, x := range xs {
		b, err := v.values.Encode(x)
		if err != nil {
			return 0, encodeError(xs, err)
		}
		args[i] = b
	}
	return write(ctx, v.h, xs, store.Command{Op: store.OpExtend, Args: args})
}

// PopBack removes the last value (a no-op when empty).
func (v *VecWriter[T]) PopBack(ctx context.Context) (Version, error) {
	return write(ctx, v.h, struct{}{}, store.Command{Op: store.OpPopBack})
}

// PopFront removes the first value (a no-op when empty).
func (v *VecWriter[T]) PopFront(ctx context.Context) (Version, error) {
	return write(ctx, v.h, struct{}{}, store.Command{Op: store.OpPopFront})
}

// RemoveAt removes the value at index i (a no-op when out of range).
func (v *VecWriter[T]) RemoveAt(ctx context.Context, i int) (Version, error) {
	if i < 0 {
		return 0, encodeError(i, errNegativeIndex)
	}
	return write(ctx, v.h, i, store.Command{Op: store.OpRemoveAt, Args: [][]byte{store.Uint(uint64(i))}})
}

// Swap exchanges the values at i and j (a no-op when either is out of
// range).
func (v *VecWriter[T]) Swap(ctx context.Context, i, j int) (Version, error) {
	if i < 0 || j < 0 {
		return 0, encodeError([2]int{i, j}, errNegativeIndex)
	}
	return write(ctx, v.h, [2]int{i, j}, store.Command{Op: store.OpSwap, Args: [][]byte{store.Uint(uint64(i)), store.Uint(uint64(j))}})
}

// Truncate keeps the first n values (a no-op when n >= Len).
func (v *VecWriter[T]) Truncate(ctx context.Context, n int) (Version, error) {
	if n < 0 {
		return 0, encodeError(n, errNegativeIndex)
	}
	return write(ctx, v.h, n, store.Command{Op: store.OpTruncate, Args: [][]byte{store.Uint(uint64(n))}})
}

// Clear removes every value.
func (v *VecWriter[T]) Clear(ctx context.Context) (Version, error) {
	return write(ctx, v.h, struct{}{}, store.Command{Op: store.OpClear})
}
