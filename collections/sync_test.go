package collections_test

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/collections"
	"github.com/mosaikgo/mosaik/testkit"
)

// big adds the 100k-entry sizes to the sync tests (slow under -race).
var big = flag.Bool("collections.big", false, "also sync collections of 100k entries")

// syncDef is a collection that snapshots every 1000 writes, so that a
// late member of a frozen collection catches up by snapshot transfer.
func syncDef(name string) collections.Def {
	d := def(name)
	d.Config.SnapshotEntries = 1000
	return d
}

// fillMap writes n entries (key i, value "v<i>") in batches of batch
// with inflight writes at once, and returns the last version. The batch
// holding key 0 is written first, alone, so every state of the map but
// the empty one holds key 0.
func fillMap(ctx context.Context, t testing.TB, w *collections.MapWriter[int, string], n, batch, inflight int) collections.Version {
	t.Helper()
	next := make(chan int)
	var last atomic.Uint64
	write := func(start int) error {
		entries := make([]collections.Entry[int, string], 0, batch)
		for i := start; i < min(start+batch, n); i++ {
			entries = append(entries, collections.Entry[int, string]{Key: i, Value: fmt.Sprintf("v%d", i)})
		}
		v, err := w.Extend(ctx, entries)
		if err != nil {
			return err
		}
		for {
			cur := last.Load()
			if uint64(v) <= cur || last.CompareAndSwap(cur, uint64(v)) {
				return nil
			}
		}
	}
	if err := write(0); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range inflight {
		wg.Go(func() {
			for start := range next {
				if err := write(start); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
feed:
	for start := batch; start < n; start += batch {
		select {
		case next <- start:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return collections.Version(last.Load())
}

// syncsStarted reads mosaik_collections_syncs_started on node.
func syncsStarted(t testing.TB, node *cluster.Node) float64 {
	t.Helper()
	fams, err := node.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, f := range fams {
		if f.GetName() == "mosaik_collections_syncs_started" {
			for _, m := range f.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

func metricValue(t testing.TB, node *cluster.Node, name string) (float64, bool) {
	t.Helper()
	fams, err := node.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

// TestSyncFrozen: a frozen Map reaches a late reader identically, for
// several batch sizes; the late reader installs a snapshot atomically:
// whenever it sees entries, it sees the smallest key.
func TestSyncFrozen(t *testing.T) {
	type size struct{ n, batch, inflight int }
	sizes := []size{{10_000, 1, 64}, {10_000, 10, 32}, {10_000, 1000, 4}}
	if *big {
		sizes = append(sizes, size{100_000, 1, 256}, size{100_000, 100, 64}, size{100_000, 1000, 16})
	}
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%d/batch%d", sz.n, sz.batch), func(t *testing.T) {
			c := testkit.NewCluster(t, 3, testkit.Options{})
			ctx := testkit.Context(t)
			d := syncDef(fmt.Sprintf("frozen-%d-%d", sz.n, sz.batch))
			w0 := must(collections.NewMapWriter[int, string](ctx, c.Node(0), d))(t)
			w1 := must(collections.NewMapWriter[int, string](ctx, c.Node(1), d))(t)
			closeAll(t, w0, w1)
			online(t, ctx, w0, w1)
			last := fillMap(ctx, t, w0, sz.n, sz.batch, sz.inflight)
			reach(t, ctx, last, w1)

			r := must(collections.NewMapReader[int, string](ctx, c.Node(2), d))(t)
			closeAll(t, r)
			// Watch the install from another goroutine: a reader that
			// sees entries must see the first one.
			done := make(chan struct{})
			var torn atomic.Int64
			var wg sync.WaitGroup
			wg.Go(func() {
				for {
					select {
					case <-done:
						return
					default:
					}
					if r.Len() > 0 && !r.Contains(0) {
						torn.Add(1)
					}
					runtime.Gosched()
				}
			})
			reach(t, ctx, last, r)
			close(done)
			wg.Wait()
			if torn.Load() > 0 {
				t.Fatalf("the reader saw entries without the first one %d times", torn.Load())
			}
			if r.Len() != sz.n || !maps.Equal(collect(r.All()), collect(w1.All())) {
				t.Fatalf("reader holds %d entries, writers %d; contents differ", r.Len(), w1.Len())
			}
			if sz.batch == 1 && syncsStarted(t, c.Node(2)) == 0 {
				t.Fatal("the late reader caught up without a snapshot")
			}
			if v, ok := metricValue(t, c.Node(2), "mosaik_collections_map_size"); !ok || v != float64(sz.n) {
				t.Fatalf("mosaik_collections_map_size = %v (%v), want %d", v, ok, sz.n)
			}
		})
	}
}

// TestSyncWhileWriting: writes continue while a late reader syncs; it
// converges, and a reader recreated on the same node refills.
func TestSyncWhileWriting(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	d := syncDef("while-writing")
	w0 := must(collections.NewMapWriter[int, string](ctx, c.Node(0), d))(t)
	w1 := must(collections.NewMapWriter[int, string](ctx, c.Node(1), d))(t)
	closeAll(t, w0, w1)
	online(t, ctx, w0, w1)
	fillMap(ctx, t, w0, 5000, 1, 64)

	// Keep writing (overwrites and new keys) while the reader joins.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := w1.Insert(ctx, i%7000, fmt.Sprintf("w%d", i)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	r := must(collections.NewMapReader[int, string](ctx, c.Node(2), d))(t)
	online(t, ctx, r)
	reach(t, ctx, w1.Version(), r)
	close(stop)
	wg.Wait()
	last := must(w0.Insert(ctx, -1, "end"))(t)
	reach(t, ctx, last, r, w1)
	if !maps.Equal(collect(r.All()), collect(w0.All())) {
		t.Fatal("the reader diverged")
	}

	// A reader closed (its member leaves) and opened again refills.
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	r2 := must(collections.NewMapReader[int, string](ctx, c.Node(2), d))(t)
	closeAll(t, r2)
	reach(t, ctx, last, r2)
	if !maps.Equal(collect(r2.All()), collect(w0.All())) {
		t.Fatal("the recreated reader diverged")
	}
}

// TestSyncLeaderKilled: the leader dies while a late reader syncs; the
// reader still converges, and later writes reach it.
func TestSyncLeaderKilled(t *testing.T) {
	c := testkit.NewCluster(t, 4, testkit.Options{})
	ctx := testkit.Context(t)
	d := syncDef("leader-killed")
	ws := []*collections.MapWriter[int, string]{
		must(collections.NewMapWriter[int, string](ctx, c.Node(0), d))(t),
		must(collections.NewMapWriter[int, string](ctx, c.Node(1), d))(t),
		must(collections.NewMapWriter[int, string](ctx, c.Node(2), d))(t),
	}
	online(t, ctx, ws[0], ws[1], ws[2])
	last := fillMap(ctx, t, ws[0], 5000, 1, 64)
	reach(t, ctx, last, ws[0], ws[1], ws[2])
	leader := -1
	for i := range ws {
		if ws[0].Leader() == c.Node(i).PeerID() {
			leader = i
		}
	}
	if leader < 0 {
		t.Fatal("no writer leads")
	}
	r := must(collections.NewMapReader[int, string](ctx, c.Node(3), d))(t)
	// Kill the leader as soon as the reader has joined: mid-sync.
	c.Kill(leader)
	var alive []*collections.MapWriter[int, string]
	for i, w := range ws {
		if i != leader {
			alive = append(alive, w)
		}
	}
	closeAll(t, append([]closer{r}, alive[0], alive[1])...)
	reach(t, ctx, last, r)
	online(t, ctx, alive[0])
	final := must(alive[0].Insert(ctx, -1, "after"))(t)
	reach(t, ctx, final, r, alive[1])
	if !maps.Equal(collect(r.All()), collect(alive[1].All())) || r.Len() != 5001 {
		t.Fatalf("reader holds %d entries and diverges", r.Len())
	}
}
