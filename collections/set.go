package collections

import (
	"context"
	"iter"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/collections/internal/store"
	"github.com/mosaikgo/mosaik/statemachine"
)

// setReads are the reads of a Set: distinct values in key order.
type setReads[T any] struct {
	base
	keys statemachine.Codec[T]
}

func newSetReads[T any](ctx context.Context, node *cluster.Node, def Def, reader bool) (setReads[T], error) {
	kc, kn := keyCodec[T]()
	h, err := open(ctx, node, def, spec{kind: store.KindSet, codecs: kn}, reader)
	if err != nil {
		return setReads[T]{}, err
	}
	return setReads[T]{base: base{h}, keys: kc}, nil
}

// Len is the number of values.
func (s setReads[T]) Len() int { return s.h.load().state.Len() }

// IsEmpty reports whether the set has no values.
func (s setReads[T]) IsEmpty() bool { return s.Len() == 0 }

// Contains reports whether x is in the set.
func (s setReads[T]) Contains(x T) bool {
	b, err := s.keys.Encode(x)
	if err != nil {
		return false
	}
	_, ok := store.Get(s.h.load().state.Items, b)
	return ok
}

// All iterates the values of one state in order.
func (s setReads[T]) All() iter.Seq[T] {
	return func(yield func(T) bool) {
		store.Ascend(s.h.load().state.Items, 0, func(n *store.Node) bool {
			x, err := s.keys.Decode(n.Key)
			if err != nil {
				return true
			}
			return yield(x)
		})
	}
}

// IsSubset reports whether every value of this set is in other (as
// both members see them now).
func (s setReads[T]) IsSubset(other SetView[T]) bool {
	for x := range s.All() {
		if !other.Contains(x) {
			return false
		}
	}
	return true
}

// SetView is what IsSubset compares against: any set, replicated
// (writer or reader) or not.
type SetView[T any] interface {
	Contains(x T) bool
}

// SetReader replicates a Set without voting; it has no write methods.
type SetReader[T any] struct{ setReads[T] }

// SetWriter replicates a Set as a voting member and writes to it.
type SetWriter[T any] struct{ setReads[T] }

// NewSetReader joins the Set def names as a reader.
func NewSetReader[T any](ctx context.Context, node *cluster.Node, def Def) (*SetReader[T], error) {
	r, err := newSetReads[T](ctx, node, def, true)
	if err != nil {
		return nil, err
	}
	return &SetReader[T]{r}, nil
}

// NewSetWriter joins the Set def names as a writer.
func NewSetWriter[T any](ctx context.Context, node *cluster.Node, def Def) (*SetWriter[T], error) {
	r, err := newSetReads[T](ctx, node, def, false)
	if err != nil {
		return nil, err
	}
	return &SetWriter[T]{r}, nil
}

// Insert adds x (a no-op when present).
func (s *SetWriter[T]) Insert(ctx context.Context, x T) (Version, error) {
	b, err := s.keys.Encode(x)
	if err != nil {
		return 0, encodeError(x, err)
	}
	return write(ctx, s.h, x, store.Command{Op: store.OpInsert, Args: [][]byte{b}})
}

// Extend adds every value as one write. An empty extend sends nothing
// and returns the current version.
func (s *SetWriter[T]) Extend(ctx context.Context, xs []T) (Version, error) {
	if len(xs) == 0 {
		return s.Version(), nil
	}
	args := make([][]byte, len(xs))
	for i, x := range xs {
		b, err := s.keys.Encode(x)
		if err != nil {
			return 0, encodeError(xs, err)
		}
		args[i] = b
	}
	return write(ctx, s.h, xs, store.Command{Op: store.OpExtend, Args: args})
}

// Remove removes x (a no-op when absent).
func (s *SetWriter[T]) Remove(ctx context.Context, x T) (Version, error) {
	b, err := s.keys.Encode(x)
	if err != nil {
		return 0, encodeError(x, err)
	}
	return write(ctx, s.h, x, store.Command{Op: store.OpRemove, Args: [][]byte{b}})
}

// RemoveMany removes every value as one write. An empty list sends
// nothing and returns the current version.
func (s *SetWriter[T]) RemoveMany(ctx context.Context, xs []T) (Version, error) {
	return removeMany(ctx, s.base, s.keys, xs)
}

// Clear removes every value.
func (s *SetWriter[T]) Clear(ctx context.Context) (Version, error) {
	return write(ctx, s.h, struct{}{}, store.Command{Op: store.OpClear})
}
