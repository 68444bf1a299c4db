package collections_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/mosaikgo/mosaik/collections"
	"github.com/mosaikgo/mosaik/testkit"
)

func TestVec(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	d := def("vec")
	w0 := must(collections.NewVecWriter[string](ctx, c.Node(0), d))(t)
	w1 := must(collections.NewVecWriter[string](ctx, c.Node(1), d))(t)
	r := must(collections.NewVecReader[string](ctx, c.Node(2), d))(t)
	closeAll(t, w0, w1, r)
	if r.Len() != 0 || !r.IsEmpty() || r.Contains("a") || r.IndexOf("a") != -1 {
		t.Fatal("a new vec is not empty")
	}
	if _, ok := r.Get(0); ok {
		t.Fatal("Get(0) of an empty vec")
	}
	if _, ok := r.Front(); ok {
		t.Fatal("Front of an empty vec")
	}
	if _, ok := r.Back(); ok {
		t.Fatal("Back of an empty vec")
	}
	online(t, ctx, w0, w1, r)

	// Edge cases on the empty vec: no-ops that still take versions.
	v0 := must(w0.PopBack(ctx))(t)
	v1 := must(w0.PopFront(ctx))(t)
	if v1 <= v0 {
		t.Fatalf("no-op writes did not take versions: %d, %d", v0, v1)
	}
	must(w0.PushBack(ctx, "b"))(t)
	must(w1.PushFront(ctx, "a"))(t)
	must(w0.Extend(ctx, []string{"c", "d", "e"}))(t)
	must(w1.InsertAt(ctx, 5, "f"))(t)  // == Len: appends
	must(w1.InsertAt(ctx, 99, "x"))(t) // > Len: no-op
	must(w0.RemoveAt(ctx, 99))(t)      // out of range: no-op
	must(w0.Swap(ctx, 0, 5))(t)        // f b c d e a
	must(w0.Swap(ctx, 0, 6))(t)        // out of range: no-op
	must(w1.Truncate(ctx, 10))(t)      // >= Len: no-op
	must(w1.RemoveAt(ctx, 1))(t)       // f c d e a
	must(w0.PopFront(ctx))(t)          // c d e a
	last := must(w0.PopBack(ctx))(t)   // c d e
	if _, err := w0.InsertAt(ctx, -1, "x"); err == nil {
		t.Fatal("a negative index was sent")
	}
	reach(t, ctx, last, w0, w1, r)
	want := []string{"c", "d", "e"}
	for i, got := range [][]string{list(r.Values()), list(w0.Values()), list(w1.Values())} {
		if !slices.Equal(got, want) {
			t.Fatalf("handle %d holds %q, want %q", i, got, want)
		}
	}
	if f, _ := r.Front(); f != "c" {
		t.Fatalf("Front = %q", f)
	}
	if b, _ := r.Back(); b != "e" {
		t.Fatalf("Back = %q", b)
	}
	if g, _ := r.Get(1); g != "d" || r.IndexOf("e") != 2 || !r.Contains("d") {
		t.Fatal("Get/IndexOf/Contains disagree")
	}
	reach(t, ctx, must(w1.Truncate(ctx, 1))(t), r)
	if got := list(r.Values()); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("after Truncate(1): %q", got)
	}
	must(w1.Clear(ctx))(t)
	reach(t, ctx, must(w0.PushBack(ctx, "z"))(t), r)
	if got := list(r.Values()); !slices.Equal(got, []string{"z"}) {
		t.Fatalf("after clear and rebuild: %q", got)
	}
}

// TestConcurrentWritersConverge: writers push at once; every member ends
// with the same sequence, in one order.
func TestConcurrentWritersConverge(t *testing.T) {
	c := testkit.NewCluster(t, 4, testkit.Options{})
	ctx := testkit.Context(t)
	d := def("converge")
	ws := []*collections.VecWriter[int]{
		must(collections.NewVecWriter[int](ctx, c.Node(0), d))(t),
		must(collections.NewVecWriter[int](ctx, c.Node(1), d))(t),
	}
	rs := []*collections.VecReader[int]{
		must(collections.NewVecReader[int](ctx, c.Node(2), d))(t),
		must(collections.NewVecReader[int](ctx, c.Node(3), d))(t),
	}
	closeAll(t, ws[0], ws[1], rs[0], rs[1])
	online(t, ctx, ws[0], ws[1], rs[0], rs[1])
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		last collections.Version
	)
	for i, w := range ws {
		for j := range 3 {
			wg.Go(func() {
				for k := range 20 {
					v, err := w.PushBack(ctx, i*1000+j*100+k)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					last = max(last, v)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	reach(t, ctx, last, ws[0], ws[1], rs[0], rs[1])
	want := list(ws[0].Values())
	if len(want) != 120 {
		t.Fatalf("%d values, want 120", len(want))
	}
	for i, got := range [][]int{list(ws[1].Values()), list(rs[0].Values()), list(rs[1].Values())} {
		if !slices.Equal(got, want) {
			t.Fatalf("member %d diverges", i+1)
		}
	}
}

func TestSet(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	d := def("set")
	w0 := must(collections.NewSetWriter[string](ctx, c.Node(0), d))(t)
	w1 := must(collections.NewSetWriter[string](ctx, c.Node(1), d))(t)
	r := must(collections.NewSetReader[string](ctx, c.Node(2), d))(t)
	closeAll(t, w0, w1, r)
	if r.Len() != 0 || !r.IsEmpty() || r.Contains("a") || len(list(r.All())) != 0 {
		t.Fatal("a new set is not empty")
	}
	online(t, ctx, w0, w1, r)
	must(w0.Insert(ctx, "b"))(t)
	must(w1.Extend(ctx, []string{"a", "c", "b", "d"}))(t)
	must(w0.Remove(ctx, "zz"))(t)
	last := must(w1.RemoveMany(ctx, []string{"d", "q"}))(t)
	reach(t, ctx, last, w0, w1, r)
	want := []string{"a", "b", "c"}
	for i, got := range [][]string{list(r.All()), list(w0.All()), list(w1.All())} {
		if !slices.Equal(got, want) {
			t.Fatalf("handle %d holds %q, want %q", i, got, want)
		}
	}
	if !r.IsSubset(w0) || !w0.IsSubset(r) {
		t.Fatal("equal sets are not subsets of each other")
	}
	reach(t, ctx, must(w0.Insert(ctx, "e"))(t), w0)
	if !r.IsSubset(w0) {
		t.Fatal("the reader's set is not a subset of a larger one")
	}
	reach(t, ctx, w0.Version(), r)
	reach(t, ctx, must(w1.Clear(ctx))(t), r)
	if !r.IsEmpty() {
		t.Fatal("not empty after Clear")
	}
	reach(t, ctx, must(w1.Extend(ctx, []string{"x"}))(t), r)
	if got := list(r.All()); !slices.Equal(got, []string{"x"}) {
		t.Fatalf("after rebuild: %q", got)
	}
}

func TestCellAndOnce(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	cw0 := must(collections.NewCellWriter[int](ctx, c.Node(0), def("cell")))(t)
	cw1 := must(collections.NewCellWriter[int](ctx, c.Node(1), def("cell")))(t)
	cr := must(collections.NewCellReader[int](ctx, c.Node(2), def("cell")))(t)
	ow0 := must(collections.NewOnceWriter[string](ctx, c.Node(0), def("once")))(t)
	ow1 := must(collections.NewOnceWriter[string](ctx, c.Node(1), def("once")))(t)
	or := must(collections.NewOnceReader[string](ctx, c.Node(2), def("once")))(t)
	closeAll(t, cw0, cw1, cr, ow0, ow1, or)
	if !cr.IsNone() || !or.IsNone() {
		t.Fatal("new cells hold values")
	}
	if _, ok := cr.Read(); ok {
		t.Fatal("Read of an empty cell")
	}
	online(t, ctx, cw0, cw1, cr, ow0, ow1, or)

	must(cw0.Write(ctx, 1))(t)
	must(cw1.CompareAndSwap(ctx, ptr(1), ptr(2)))(t) // swaps
	must(cw0.CompareAndSwap(ctx, ptr(1), ptr(3)))(t) // mismatch
	last := must(cw0.CompareAndSwap(ctx, nil, ptr(4)))(t)
	reach(t, ctx, last, cr)
	if v, ok := cr.Read(); !ok || v != 2 {
		t.Fatalf("cell = %d %v, want 2", v, ok)
	}
	reach(t, ctx, must(cw1.Clear(ctx))(t), cr)
	if !cr.IsNone() {
		t.Fatal("cell holds a value after Clear")
	}
	reach(t, ctx, must(cw1.CompareAndSwap(ctx, nil, ptr(5)))(t), cr, cw0)
	if v, _ := cw0.Read(); v != 5 {
		t.Fatalf("cell = %d, want 5", v)
	}

	// Once: a reader waiting for the value, writers racing.
	got := make(chan string, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		v, err := or.AwaitValue(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- v
	})
	va := must(ow0.Write(ctx, "first"))(t)
	vb := must(ow1.Write(ctx, "second"))(t)
	if vb <= va {
		t.Fatalf("the later write took no version of its own: %d, %d", va, vb)
	}
	wg.Wait()
	if v := <-got; v != "first" {
		t.Fatalf("AwaitValue = %q, want first", v)
	}
	reach(t, ctx, vb, or, ow0, ow1)
	for i, h := range []interface{ Read() (string, bool) }{or, ow0, ow1} {
		if v, ok := h.Read(); !ok || v != "first" {
			t.Fatalf("handle %d reads %q, want first", i, v)
		}
	}
	// AwaitValue ends with the handle.
	closed := must(collections.NewOnceReader[string](ctx, c.Node(2), def("never")))(t)
	if err := closed.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := closed.AwaitValue(ctx); !errors.Is(err, collections.ErrClosed) {
		t.Fatalf("AwaitValue on a closed handle: %v", err)
	}
}

type qe = collections.QueueEntry[int, string, string]

func queueContents(seq func(func(qe) bool)) []qe { return list(seq) }

func TestPriorityQueue(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	d := collections.QueueDef{Def: def("queue"), Capacity: 4}
	w0 := must(collections.NewPriorityQueueWriter[int, string, string](ctx, c.Node(0), d))(t)
	w1 := must(collections.NewPriorityQueueWriter[int, string, string](ctx, c.Node(1), d))(t)
	r := must(collections.NewPriorityQueueReader[int, string, string](ctx, c.Node(2), d))(t)
	closeAll(t, w0, w1, r)
	if _, ok := r.Min(); ok || !r.IsEmpty() || r.Contains("a") {
		t.Fatal("a new queue is not empty")
	}
	if _, ok := r.Max(); ok {
		t.Fatal("Max of an empty queue")
	}
	online(t, ctx, w0, w1, r)

	must(w0.Insert(ctx, 5, "a", "va"))(t)
	must(w1.Extend(ctx, []qe{{Priority: -3, Key: "b", Value: "vb"}, {Priority: 10, Key: "c", Value: "vc"}, {Priority: 7, Key: "d", Value: "vd"}}))(t)
	// Full (4): a new key of the lowest priority evicts itself.
	must(w0.Insert(ctx, -10, "e", "ve"))(t)
	// A new key above the lowest evicts the lowest (b at -3).
	must(w0.Insert(ctx, 0, "f", "vf"))(t)
	// Upserts never evict.
	must(w1.Insert(ctx, -20, "f", "vf2"))(t)
	must(w1.UpdatePriority(ctx, "a", 6))(t)
	must(w1.UpdateValue(ctx, "d", "vd2"))(t)
	must(w0.CompareAndSwap(ctx, "c", ptr("vc"), ptr("vc2")))(t) // swaps, keeps priority 10
	must(w0.CompareAndSwap(ctx, "c", ptr("no"), ptr("vc3")))(t) // mismatch
	last := must(w0.UpdatePriority(ctx, "zz", 1))(t)            // absent: no-op
	reach(t, ctx, last, w0, w1, r)
	want := []qe{{Priority: -20, Key: "f", Value: "vf2"}, {Priority: 6, Key: "a", Value: "va"}, {Priority: 7, Key: "d", Value: "vd2"}, {Priority: 10, Key: "c", Value: "vc2"}}
	for i, got := range [][]qe{queueContents(r.Ascending()), queueContents(w0.Ascending()), queueContents(w1.Ascending())} {
		if !slices.Equal(got, want) {
			t.Fatalf("handle %d holds %v, want %v", i, got, want)
		}
	}
	desc := queueContents(r.Descending())
	slices.Reverse(desc)
	if !slices.Equal(desc, want) {
		t.Fatalf("descending %v", desc)
	}
	if m, _ := r.Min(); m != want[0] {
		t.Fatalf("Min = %v", m)
	}
	if m, _ := r.Max(); m != want[3] {
		t.Fatalf("Max = %v", m)
	}
	if p, ok := r.PriorityOf("a"); !ok || p != 6 {
		t.Fatalf("PriorityOf(a) = %d %v", p, ok)
	}
	if v, ok := r.Get("d"); !ok || v != "vd2" {
		t.Fatalf("Get(d) = %q %v", v, ok)
	}

	must(w1.RemoveRange(ctx, ptr(0), ptr(7)))(t) // a, d
	reach(t, ctx, must(w1.Remove(ctx, "missing"))(t), r)
	if got := queueContents(r.Ascending()); !slices.Equal(got, []qe{want[0], want[3]}) {
		t.Fatalf("after RemoveRange: %v", got)
	}
	must(w0.RemoveKeys(ctx, []string{"f"}))(t)
	reach(t, ctx, must(w0.CompareAndSwap(ctx, "c", ptr("vc2"), nil))(t), r)
	if !r.IsEmpty() {
		t.Fatalf("queue holds %v", queueContents(r.Ascending()))
	}
	must(w0.Extend(ctx, []qe{{Priority: 1, Key: "x"}, {Priority: 2, Key: "y"}}))(t)
	must(w0.RemoveRange(ctx, nil, ptr(1)))(t)
	reach(t, ctx, must(w0.Clear(ctx))(t), r)
	reach(t, ctx, must(w1.Insert(ctx, 1, "z", ""))(t), r)
	if r.Len() != 1 {
		t.Fatalf("after clear and rebuild: %d entries", r.Len())
	}
}

// TestOfflineHandsInputBack: a writer whose group has no leader hands
// the input back.
func TestOfflineHandsInputBack(t *testing.T) {
	c := testkit.NewCluster(t, 1, testkit.Options{})
	ctx := testkit.Context(t)
	// A lone reader: its group has no voter, so it never gets online;
	// a lone writer is tried before its group bootstraps.
	w := must(collections.NewMapWriter[string, int](ctx, c.Node(0), def("offline")))(t)
	closeAll(t, w)
	_, err := w.Insert(ctx, "k", 7)
	var we *collections.WriteError[collections.Entry[string, int]]
	if err == nil {
		t.Skip("the group was online at once")
	}
	if !errors.Is(err, collections.ErrOffline) || !errors.As(err, &we) || we.Input.Key != "k" || we.Input.Value != 7 {
		t.Fatalf("err = %v, want an offline WriteError with the input", err)
	}
	online(t, ctx, w)
	reach(t, ctx, must(w.Insert(ctx, "k", 7))(t), w)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := w.When().Reaches(cctx, 1<<40); !errors.Is(err, context.Canceled) {
		t.Fatalf("Reaches with a cancelled ctx: %v", err)
	}
}
