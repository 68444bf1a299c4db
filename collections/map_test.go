package collections_test

import (
	"errors"
	"iter"
	"maps"
	"slices"
	"testing"

	"github.com/mosaikgo/mosaik/collections"
	"github.com/mosaikgo/mosaik/testkit"
)

func ptr[T any](v T) *T { return &v }

func TestMapWritersAndReaders(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	d := def("map")
	w0 := must(collections.NewMapWriter[int, string](ctx, c.Node(0), d))(t)
	w1 := must(collections.NewMapWriter[int, string](ctx, c.Node(1), d))(t)
	r := must(collections.NewMapReader[int, string](ctx, c.Node(2), d))(t)
	closeAll(t, w0, w1, r)

	// Empty getters, before anything is online.
	if r.Len() != 0 || !r.IsEmpty() || r.Contains(1) || r.Version() != 0 {
		t.Fatal("a new reader is not empty")
	}
	if _, ok := r.Get(1); ok {
		t.Fatal("Get on an empty map")
	}
	online(t, ctx, w0, w1, r)

	v := must(w0.Insert(ctx, 3, "c"))(t)
	if got, ok := w0.Get(3); !ok || got != "c" {
		t.Fatalf("writer does not read its own write: %q %v", got, ok)
	}
	must(w1.Insert(ctx, 1, "a"))(t)
	must(w0.Extend(ctx, []collections.Entry[int, string]{{Key: 2, Value: "b"}, {Key: 10, Value: "j"}, {Key: -5, Value: "m"}}))(t)
	must(w1.Remove(ctx, 10))(t)
	must(w1.Remove(ctx, 99))(t) // absent: a no-op, still versioned
	// Compare-and-swap cases.
	must(w0.CompareAndSwap(ctx, 3, ptr("c"), ptr("C")))(t)    // match: swaps
	must(w0.CompareAndSwap(ctx, 1, ptr("x"), ptr("X")))(t)    // mismatch: stays
	must(w0.CompareAndSwap(ctx, 4, nil, ptr("d")))(t)         // absent: inserts
	must(w0.CompareAndSwap(ctx, 2, ptr("b"), nil))(t)         // removes
	must(w0.CompareAndSwap(ctx, 7, nil, nil))(t)              // no-op
	last := must(w1.CompareAndSwap(ctx, 1, nil, ptr("Y")))(t) // present: stays
	if last <= v {
		t.Fatalf("versions do not grow: %d after %d", last, v)
	}
	// Empty batches send nothing and return the current version.
	if got := must(w1.Extend(ctx, nil))(t); got != w1.Version() {
		t.Fatalf("empty Extend = %d, want the current version %d", got, w1.Version())
	}
	if got := must(w1.RemoveMany(ctx, nil))(t); got != w1.Version() {
		t.Fatalf("empty RemoveMany = %d", got)
	}

	reach(t, ctx, last, w0, w1, r)
	want := map[int]string{-5: "m", 1: "a", 3: "C", 4: "d"}
	for i, h := range []interface {
		All() iter.Seq2[int, string]
	}{w0, w1, r} {
		if got := collect(h.All()); !maps.Equal(got, want) {
			t.Fatalf("handle %d holds %v, want %v", i, got, want)
		}
	}
	if keys := list(r.Keys()); !slices.Equal(keys, []int{-5, 1, 3, 4}) {
		t.Fatalf("keys in order: %v", keys)
	}
	if vals := list(r.Values()); !slices.Equal(vals, []string{"m", "a", "C", "d"}) {
		t.Fatalf("values in key order: %v", vals)
	}

	// Remove many, clear, rebuild.
	must(w0.RemoveMany(ctx, []int{-5, 4, 1000}))(t)
	reach(t, ctx, must(w0.Clear(ctx))(t), r)
	if r.Len() != 0 {
		t.Fatalf("reader holds %d entries after Clear", r.Len())
	}
	reach(t, ctx, must(w1.Insert(ctx, 8, "h"))(t), r, w0)
	if got := collect(r.All()); !maps.Equal(got, map[int]string{8: "h"}) {
		t.Fatalf("after rebuild: %v", got)
	}

	// A late writer catches up, then writes.
	late := must(collections.NewMapWriter[int, string](ctx, c.Add(), d))(t)
	closeAll(t, late)
	online(t, ctx, late)
	reach(t, ctx, w1.Version(), late)
	if got, ok := late.Get(8); !ok || got != "h" {
		t.Fatal("late writer did not catch up")
	}
	reach(t, ctx, must(late.Insert(ctx, 9, "i"))(t), w0, w1, r)
	if r.Len() != 2 {
		t.Fatalf("reader holds %d entries, want 2", r.Len())
	}

	// A node holds a writer or a reader of a collection, not both.
	if _, err := collections.NewMapReader[int, string](ctx, c.Node(0), d); !errors.Is(err, collections.ErrRole) {
		t.Fatalf("reader beside a writer: %v", err)
	}
}
