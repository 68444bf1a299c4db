package collections

import (
	"context"
	"iter"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/collections/internal/store"
	"github.com/mosaikgo/mosaik/statemachine"
)

// mapReads are the reads of a Map, on writers and readers alike. They
// read the member's local state: committed, and as fresh as the last
// write this member applied (see Version).
type mapReads[K, V any] struct {
	base
	keys   statemachine.Codec[K]
	values statemachine.Codec[V]
}

func newMapReads[K, V any](ctx context.Context, node *cluster.Node, def Def, reader bool) (mapReads[K, V], error) {
	kc, kn := keyCodec[K]()
	vc, vn := valueCodec[V]()
	h, err := open(ctx, node, def, spec{kind: store.KindMap, codecs: kn + "," + vn}, reader)
	if err != nil {
		return mapReads[K, V]{}, err
	}
	return mapReads[K, V]{base: base{h}, keys: kc, values: vc}, nil
}

// Len is the number of entries.
func (m mapReads[K, V]) Len() int { return m.h.load().state.Len() }

// IsEmpty reports whether the map has no entries.
func (m mapReads[K, V]) IsEmpty() bool { return m.Len() == 0 }

// Contains reports whether k has an entry.
func (m mapReads[K, V]) Contains(k K) bool {
	kb, err := m.keys.Encode(k)
	if err != nil {
		return false
	}
	_, ok := store.Get(m.h.load().state.Items, kb)
	return ok
}

// Get returns k's value.
func (m mapReads[K, V]) Get(k K) (V, bool) {
	var zero V
	kb, err := m.keys.Encode(k)
	if err != nil {
		return zero, false
	}
	vb, ok := store.Get(m.h.load().state.Items, kb)
	if !ok {
		return zero, false
	}
	v, err := m.values.Decode(vb)
	return v, err == nil
}

// All iterates the entries of one state (the one current when it
// starts) in key order: the same order on every member. Entries that
// do not decode are skipped.
func (m mapReads[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		store.Ascend(m.h.load().state.Items, 0, func(n *store.Node) bool {
			k, err := m.keys.Decode(n.Key)
			if err != nil {
				return true
			}
			v, err := m.values.Decode(n.Val)
			if err != nil {
				return true
			}
			return yield(k, v)
		})
	}
}

// Keys iterates the keys in order.
func (m mapReads[K, V]) Keys() iter.Seq[K] {
	return func(yield func(K) bool) {
		for k := range m.All() {
			if !yield(k) {
				return
			}
		}
	}
}

// Values iterates the values in key order.
func (m mapReads[K, V]) Values() iter.Seq[V] {
	return func(yield func(V) bool) {
		for _, v := range m.All() {
			if !yield(v) {
				return
			}
		}
	}
}

// MapReader replicates a Map without voting (an observer of its group)
// and reads it locally. It has no write methods.
type MapReader[K, V any] struct{ mapReads[K, V] }

// MapWriter replicates a Map as a voting member and writes to it.
type MapWriter[K, V any] struct{ mapReads[K, V] }

// NewMapReader joins the Map def names as a reader.
func NewMapReader[K, V any](ctx context.Context, node *cluster.Node, def Def) (*MapReader[K, V], error) {
	r, err := newMapReads[K, V](ctx, node, def, true)
	if err != nil {
		return nil, err
	}
	return &MapReader[K, V]{r}, nil
}

// NewMapWriter joins the Map def names as a writer.
func NewMapWriter[K, V any](ctx context.Context, node *cluster.Node, def Def) (*MapWriter[K, V], error) {
	r, err := newMapReads[K, V](ctx, node, def, false)
	if err != nil {
		return nil, err
	}
	return &MapWriter[K, V]{r}, nil
}

// Entry is one key and value.
type Entry[K, V any] struct {
	Key   K
	Value V
}

// Insert sets k's value.
func (m *MapWriter[K, V]) Insert(ctx context.Context, k K, v V) (Version, error) {
	in := Entry[K, V]{k, v}
	kb, err := m.keys.Encode(k)
	if err != nil {
		return 0, encodeError(in, err)
	}
	vb, err := m.values.Encode(v)
	if err != nil {
		return 0, encodeError(in, err)
	}
	return write(ctx, m.h, in, store.Command{Op: store.OpInsert, Args: [][]byte{kb, vb}})
}

// CompareAndSwap is a Map's compare-exchange: it sets k to new only if
// k's current value encodes to the same bytes as old, where nil means
// "no entry". So (nil, nil) changes nothing, (nil, v) inserts if k is
// absent, (old, nil) removes k if it holds old, and a mismatch leaves
// the map as it is. It returns the version either way; read the state
// at that version to learn whether the swap happened.
func (m *MapWriter[K, V]) CompareAndSwap(ctx context.Context, k K, old, new *V) (Version, error) {
	in := CompareAndSwapInput[K, V]{Key: k, Old: old, New: new}
	args := make([][]byte, 3)
	var err error
	if args[0], err = m.keys.Encode(k); err != nil {
		return 0, encodeError(in, err)
	}
	for i, v := range []*V{old, new} {
		if v != nil {
			if args[i+1], err = m.values.Encode(*v); err != nil {
				return 0, encodeError(in, err)
			}
		}
	}
	return write(ctx, m.h, in, store.Command{Op: store.OpCompareExchange, Args: args})
}

// CompareAndSwapInput is what a CompareAndSwap hands back when it was
// not sent.
type CompareAndSwapInput[K, V any] struct {
	Key      K
	Old, New *V
}

// Extend inserts every entry as one write (one version). An empty
// extend sends nothing and returns the current version.
func (m *MapWriter[K, V]) Extend(ctx context.Context, entries []Entry[K, V]) (Version, error) {
	if len(entries) == 0 {
		return m.Version(), nil
	}
	args := make([][]byte, 0, 2*len(entries))
	for _, e := range entries {
		kb, err := m.keys.Encode(e.Key)
		if err != nil {
			return 0, encodeError(entries, err)
		}
		vb, err := m.values.Encode(e.Value)
		if err != nil {
			return 0, encodeError(entries, err)
		}
		args = append(args, kb, vb)
	}
	return write(ctx, m.h, entries, store.Command{Op: store.OpExtend, Args: args})
}

// Remove removes k's entry (a no-op when absent).
func (m *MapWriter[K, V]) Remove(ctx context.Context, k K) (Version, error) {
	kb, err := m.keys.Encode(k)
	if err != nil {
		return 0, encodeError(k, err)
	}
	return write(ctx, m.h, k, store.Command{Op: store.OpRemove, Args: [][]byte{kb}})
}

// RemoveMany removes every key as one write. An empty list sends
// nothing and returns the current version.
func (m *MapWriter[K, V]) RemoveMany(ctx context.Context, keys []K) (Version, error) {
	return removeMany(ctx, m.base, m.keys, keys)
}

// Clear removes every entry.
func (m *MapWriter[K, V]) Clear(ctx context.Context) (Version, error) {
	return write(ctx, m.h, struct{}{}, store.Command{Op: store.OpClear})
}

func removeMany[K any](ctx context.Context, b base, codec statemachine.Codec[K], keys []K) (Version, error) {
	if len(keys) == 0 {
		return b.Version(), nil
	}
	args := make([][]byte, len(keys))
	for i, k := range keys {
		kb, err := codec.Encode(k)
		if err != nil {
			return 0, encodeError(keys, err)
		}
		args[i] = kb
	}
	return write(ctx, b.h, keys, store.Command{Op: store.OpRemoveMany, Args: args})
}
