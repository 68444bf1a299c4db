package collections

import (
	"cmp"
	"context"
	"fmt"
	"iter"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/collections/internal/store"
	"github.com/mosaikgo/mosaik/statemachine"
)

// QueueDef defines a PriorityQueue: a Def and an optional capacity.
type QueueDef struct {
	Def
	// Capacity bounds the queue (0: unbounded). Inserting a new key into
	// a full queue evicts the entry of lowest priority (ties: lowest
	// key), which may be the new entry itself; changing an existing
	// key's priority or value never evicts. Part of the group id.
	Capacity int
}

// queueReads are the reads of a PriorityQueue: entries with distinct
// keys, each with a priority and a value, ordered by (priority, key).
type queueReads[P cmp.Ordered, K, V any] struct {
	base
	prios  statemachine.Codec[P]
	keys   statemachine.Codec[K]
	values statemachine.Codec[V]
}

func newQueueReads[P cmp.Ordered, K, V any](ctx context.Context, node *cluster.Node, def QueueDef, reader bool) (queueReads[P, K, V], error) {
	if def.Capacity < 0 {
		return queueReads[P, K, V]{}, fmt.Errorf("collections: QueueDef.Capacity is %d", def.Capacity)
	}
	pc, pn := priorityCodec[P]()
	kc, kn := keyCodec[K]()
	vc, vn := valueCodec[V]()
	sp := spec{kind: store.KindPriorityQueue, capacity: def.Capacity, codecs: pn + "," + kn + "," + vn}
	h, err := open(ctx, node, def.Def, sp, reader)
	if err != nil {
		return queueReads[P, K, V]{}, err
	}
	return queueReads[P, K, V]{base: base{h}, prios: pc, keys: kc, values: vc}, nil
}

// QueueEntry is one entry of a PriorityQueue.
type QueueEntry[P cmp.Ordered, K, V any] struct {
	Priority P
	Key      K
	Value    V
}

// Len is the number of entries.
func (q queueReads[P, K, V]) Len() int { return q.h.load().state.Len() }

// IsEmpty reports whether the queue has no entries.
func (q queueReads[P, K, V]) IsEmpty() bool { return q.Len() == 0 }

func (q queueReads[P, K, V]) lookup(s store.State, k K) (QueueEntry[P, K, V], bool) {
	e := QueueEntry[P, K, V]{Key: k}
	kb, err := q.keys.Encode(k)
	if err != nil {
		return e, false
	}
	b, ok := store.Get(s.Items, kb)
	if !ok {
		return e, false
	}
	return q.decode(e, b)
}

func (q queueReads[P, K, V]) decode(e QueueEntry[P, K, V], b []byte) (QueueEntry[P, K, V], bool) {
	pb, vb, err := store.DecodePriorityValue(b)
	if err != nil {
		return e, false
	}
	if e.Priority, err = q.prios.Decode(pb); err != nil {
		return e, false
	}
	if e.Value, err = q.values.Decode(vb); err != nil {
		return e, false
	}
	return e, true
}

// entryAt decodes the entry an index node names.
func (q queueReads[P, K, V]) entryAt(s store.State, n *store.Node) (QueueEntry[P, K, V], bool) {
	var e QueueEntry[P, K, V]
	if n == nil {
		return e, false
	}
	kb := store.KeyOfPriorityKey(n.Key)
	k, err := q.keys.Decode(kb)
	if err != nil {
		return e, false
	}
	b, ok := store.Get(s.Items, kb)
	if !ok {
		return e, false
	}
	e.Key = k
	return q.decode(e, b)
}

// Contains reports whether k has an entry.
func (q queueReads[P, K, V]) Contains(k K) bool {
	_, ok := q.lookup(q.h.load().state, k)
	return ok
}

// Get returns k's value.
func (q queueReads[P, K, V]) Get(k K) (V, bool) {
	e, ok := q.lookup(q.h.load().state, k)
	return e.Value, ok
}

// PriorityOf returns k's priority.
func (q queueReads[P, K, V]) PriorityOf(k K) (P, bool) {
	e, ok := q.lookup(q.h.load().state, k)
	return e.Priority, ok
}

// Min returns the entry of lowest priority (ties: lowest key).
func (q queueReads[P, K, V]) Min() (QueueEntry[P, K, V], bool) {
	s := q.h.load().state
	return q.entryAt(s, store.At(s.ByPriority, 0))
}

// Max returns the entry of highest priority (ties: highest key).
func (q queueReads[P, K, V]) Max() (QueueEntry[P, K, V], bool) {
	s := q.h.load().state
	return q.entryAt(s, store.At(s.ByPriority, s.ByPriority.Len()-1))
}

// Ascending iterates the entries of one state from lowest priority up.
func (q queueReads[P, K, V]) Ascending() iter.Seq[QueueEntry[P, K, V]] {
	return func(yield func(QueueEntry[P, K, V]) bool) {
		s := q.h.load().state
		store.Ascend(s.ByPriority, 0, func(n *store.Node) bool {
			e, ok := q.entryAt(s, n)
			return !ok || yield(e)
		})
	}
}

// Descending iterates the entries of one state from highest priority
// down.
func (q queueReads[P, K, V]) Descending() iter.Seq[QueueEntry[P, K, V]] {
	return func(yield func(QueueEntry[P, K, V]) bool) {
		s := q.h.load().state
		store.Descend(s.ByPriority, func(n *store.Node) bool {
			e, ok := q.entryAt(s, n)
			return !ok || yield(e)
		})
	}
}

// PriorityQueueReader replicates a PriorityQueue without voting; it has
// no write methods.
type PriorityQueueReader[P cmp.Ordered, K, V any] struct{ queueReads[P, K, V] }

// PriorityQueueWriter replicates a PriorityQueue as a voting member and
// writes to it.
type PriorityQueueWriter[P cmp.Ordered, K, V any] struct{ queueReads[P, K, V] }

// NewPriorityQueueReader joins the queue def names as a reader.
func NewPriorityQueueReader[P cmp.Ordered, K, V any](ctx context.Context, node *cluster.Node, def QueueDef) (*PriorityQueueReader[P, K, V], error) {
	r, err := newQueueReads[P, K, V](ctx, node, def, true)
	if err != nil {
		return nil, err
	}
	return &PriorityQueueReader[P, K, V]{r}, nil
}

// NewPriorityQueueWriter joins the queue def names as a writer.
func NewPriorityQueueWriter[P cmp.Ordered, K, V any](ctx context.Context, node *cluster.Node, def QueueDef) (*PriorityQueueWriter[P, K, V], error) {
	r, err := newQueueReads[P, K, V](ctx, node, def, false)
	if err != nil {
		return nil, err
	}
	return &PriorityQueueWriter[P, K, V]{r}, nil
}

func (q *PriorityQueueWriter[P, K, V]) encode(entries []QueueEntry[P, K, V]) ([][]byte, error) {
	args := make([][]byte, 0, 3*len(entries))
	for _, e := range entries {
		kb, err := q.keys.Encode(e.Key)
		if err != nil {
			return nil, err
		}
		pb, err := q.prios.Encode(e.Priority)
		if err != nil {
			return nil, err
		}
		vb, err := q.values.Encode(e.Value)
		if err != nil {
			return nil, err
		}
		args = append(args, kb, pb, vb)
	}
	return args, nil
}

// Insert sets k's priority and value (an upsert). A new key may evict
// the lowest entry of a full queue; see QueueDef.Capacity.
func (q *PriorityQueueWriter[P, K, V]) Insert(ctx context.Context, p P, k K, v V) (Version, error) {
	in := QueueEntry[P, K, V]{Priority: p, Key: k, Value: v}
	args, err := q.encode([]QueueEntry[P, K, V]{in})
	if err != nil {
		return 0, encodeError(in, err)
	}
	return write(ctx, q.h, in, store.Command{Op: store.OpUpsert, Args: args})
}

// Extend upserts every entry, in order, as one write. An empty extend
// sends nothing and returns the current version.
func (q *PriorityQueueWriter[P, K, V]) Extend(ctx context.Context, entries []QueueEntry[P, K, V]) (Version, error) {
	if len(entries) == 0 {
		return q.Version(), nil
	}
	args, err := q.encode(entries)
	if err != nil {
		return 0, encodeError(entries, err)
	}
	return write(ctx, q.h, entries, store.Command{Op: store.OpUpsert, Args: args})
}

// UpdatePriority changes k's priority, keeping its value (a no-op when
// k is absent).
func (q *PriorityQueueWriter[P, K, V]) UpdatePriority(ctx context.Context, k K, p P) (Version, error) {
	in := QueueEntry[P, K, V]{Priority: p, Key: k}
	kb, err := q.keys.Encode(k)
	if err != nil {
		return 0, encodeError(in, err)
	}
	pb, err := q.prios.Encode(p)
	if err != nil {
		return 0, encodeError(in, err)
	}
	return write(ctx, q.h, in, store.Command{Op: store.OpUpdatePriority, Args: [][]byte{kb, pb}})
}

// UpdateValue changes k's value, keeping its priority (a no-op when k
// is absent).
func (q *PriorityQueueWriter[P, K, V]) UpdateValue(ctx context.Context, k K, v V) (Version, error) {
	in := QueueEntry[P, K, V]{Key: k, Value: v}
	kb, err := q.keys.Encode(k)
	if err != nil {
		return 0, encodeError(in, err)
	}
	vb, err := q.values.Encode(v)
	if err != nil {
		return 0, encodeError(in, err)
	}
	return write(ctx, q.h, in, store.Command{Op: store.OpUpdateValue, Args: [][]byte{kb, vb}})
}

// CompareAndSwap sets k's value to new, keeping its priority, only if k
// is present and its value encodes as old does; a nil new removes the
// entry. An absent key has no priority to keep, so (nil, v) inserts
// nothing: use Insert.
func (q *PriorityQueueWriter[P, K, V]) CompareAndSwap(ctx context.Context, k K, old, new *V) (Version, error) {
	in := CompareAndSwapInput[K, V]{Key: k, Old: old, New: new}
	args := make([][]byte, 3)
	var err error
	if args[0], err = q.keys.Encode(k); err != nil {
		return 0, encodeError(in, err)
	}
	for i, v := range []*V{old, new} {
		if v != nil {
			if args[i+1], err = q.values.Encode(*v); err != nil {
				return 0, encodeError(in, err)
			}
		}
	}
	return write(ctx, q.h, in, store.Command{Op: store.OpCompareExchange, Args: args})
}

// Remove removes k's entry (a no-op when absent).
func (q *PriorityQueueWriter[P, K, V]) Remove(ctx context.Context, k K) (Version, error) {
	kb, err := q.keys.Encode(k)
	if err != nil {
		return 0, encodeError(k, err)
	}
	return write(ctx, q.h, k, store.Command{Op: store.OpRemove, Args: [][]byte{kb}})
}

// RemoveKeys removes every key as one write. An empty list sends nothing
// and returns the current version.
func (q *PriorityQueueWriter[P, K, V]) RemoveKeys(ctx context.Context, keys []K) (Version, error) {
	return removeMany(ctx, q.base, q.keys, keys)
}

// RemoveRange removes every entry whose priority lies in [lowest,
// highest]; a nil bound is unbounded.
func (q *PriorityQueueWriter[P, K, V]) RemoveRange(ctx context.Context, lowest, highest *P) (Version, error) {
	in := [2]*P{lowest, highest}
	args := make([][]byte, 2)
	for i, p := range in {
		if p != nil {
			b, err := q.prios.Encode(*p)
			if err != nil {
				return 0, encodeError(in, err)
			}
			args[i] = b
		}
	}
	return write(ctx, q.h, in, store.Command{Op: store.OpRemoveRange, Args: args})
}

// Clear removes every entry.
func (q *PriorityQueueWriter[P, K, V]) Clear(ctx context.Context) (Version, error) {
	return write(ctx, q.h, struct{}{}, store.Command{Op: store.OpClear})
}
