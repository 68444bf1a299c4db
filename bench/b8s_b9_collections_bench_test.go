package bench

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/collections"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
)

// B8s collections/map-sync-100k: a Map of entries items, written by two
// writers (one insert per write, inflight writes at once, untimed); then
// a third node, already started, opens a reader, and the figure is the
// time until the reader's local state reflects the last write. The
// reader joins the Map's group as an observer and catches up by
// dragonboat's snapshot transfer (the Map snapshots every 10000 writes,
// as the baseline does) and the log after it. The baseline is B8's raw
// side: a raw dragonboat replica added 100k entries behind, same run.
//
// B9 collections/map-insert-throughput: a Map of three writers; the
// leader's writer inserts with 1024 writes in flight, each one key
// (variant "single") or a batch of 16 keys as one Extend (variant
// "batched"); the figure is inserts per second over a window. Each
// insert command is 16 to 19 bytes (an 8-byte key, a small value, the
// op and lengths). The baseline is B1's raw side: raw dragonboat,
// SyncPropose of 16-byte commands, 1024 in flight, same run.

// mapCluster is ours' side: nodes and a Map writer or reader on each.
type mapCluster struct {
	nodes   *oursCluster
	writers []*collections.MapWriter[uint64, int]
	reader  *collections.MapReader[uint64, int]
}

var mapRun atomic.Uint64

func mapDef() collections.Def {
	return collections.Def{
		Store:  id.Of(fmt.Sprintf("bench/map/%d", mapRun.Add(1))),
		Config: collections.Config{Consensus: groups.FastConsensus()},
	}
}

// startMap starts n nodes with a writer on each of the first writers and
// waits until they are online; it returns the cluster and the index of
// the leader's writer.
func startMap(ctx context.Context, n, writers int, def collections.Def) (_ *mapCluster, leader int, err error) {
	ctx, cancel := context.WithTimeout(ctx, formTimeout)
	defer cancel()
	nodes, err := startNodes(ctx, n, memStorage, false)
	if err != nil {
		return nil, 0, err
	}
	c := &mapCluster{nodes: nodes}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.close())
		}
	}()
	for i := range writers {
		w, err := collections.NewMapWriter[uint64, int](ctx, nodes.nodes[i], def)
		if err != nil {
			return nil, 0, fmt.Errorf("writer %d: %w", i, err)
		}
		c.writers = append(c.writers, w)
	}
	for {
		for i, w := range c.writers {
			if err := w.When().Online(ctx); err != nil {
				return nil, 0, fmt.Errorf("writer %d: not online: %w", i, err)
			}
		}
		l := c.writers[0].Leader()
		for i := range c.writers {
			if nodes.nodes[i].PeerID() == l && c.writers[i].Leader() == l {
				return c, i, nil
			}
		}
		if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
			return nil, 0, fmt.Errorf("no writer leads: %w", err)
		}
	}
}

func (c *mapCluster) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), formTimeout)
	defer cancel()
	var errs []error
	for _, w := range c.writers {
		errs = append(errs, w.Close(ctx))
	}
	if c.reader != nil {
		errs = append(errs, c.reader.Close(ctx))
	}
	return errors.Join(append(errs, c.nodes.close())...)
}

// mapInserter inserts one fresh key per call through w.
func mapInserter(w *collections.MapWriter[uint64, int]) proposeFunc {
	return func(ctx context.Context, _ []byte) error {
		ctx, cancel := context.WithTimeout(ctx, opTimeout)
		defer cancel()
		_, err := w.Insert(ctx, commandSeq.Add(1), 1000)
		return err
	}
}

// mapExtender inserts batch fresh keys per call, as one write.
func mapExtender(w *collections.MapWriter[uint64, int], batch int) proposeFunc {
	return func(ctx context.Context, _ []byte) error {
		ctx, cancel := context.WithTimeout(ctx, opTimeout)
		defer cancel()
		entries := make([]collections.Entry[uint64, int], batch)
		for i := range entries {
			entries[i] = collections.Entry[uint64, int]{Key: commandSeq.Add(1), Value: 1000}
		}
		_, err := w.Extend(ctx, entries)
		return err
	}
}

// mapSyncOurs is ours' side of B8s.
func mapSyncOurs(ctx context.Context, load catchupLoad) (_ float64, err error) {
	ctx, cancel := context.WithTimeout(ctx, 10*formTimeout)
	defer cancel()
	def := mapDef()
	c, leader, err := startMap(ctx, 3, 2, def)
	if err != nil {
		return 0, err
	}
	defer func() { err = joinClose(err, c.close()) }()
	if err := fill(ctx, mapInserter(c.writers[leader]), load.entries, load.inflight); err != nil {
		return 0, fmt.Errorf("fill: %w", err)
	}
	target := c.writers[leader].Version()
	if n := c.writers[leader].Len(); n != load.entries {
		return 0, fmt.Errorf("the map holds %d entries, want %d", n, load.entries)
	}
	t0 := time.Now()
	c.reader, err = collections.NewMapReader[uint64, int](ctx, c.nodes.nodes[2], def)
	if err != nil {
		return 0, err
	}
	wctx, wcancel := context.WithTimeout(ctx, catchUpTimeout)
	defer wcancel()
	if err := c.reader.When().Reaches(wctx, target); err != nil {
		return 0, fmt.Errorf("reader at version %d of %d: %w", c.reader.Version(), target, err)
	}
	elapsed := time.Since(t0)
	if n := c.reader.Len(); n != load.entries {
		return 0, fmt.Errorf("the reader holds %d entries, want %d", n, load.entries)
	}
	return Millis(elapsed), nil
}

func mapSyncSpec(load catchupLoad) Spec {
	s := consensusSpec("B8s", fmt.Sprintf("collections/map-sync-%dk", load.entries/1000), "mem", "ms", "<= 1.0", memStorage)
	s.Baseline += ", SyncRequestAddReplica then a joining replica (B8's baseline)"
	return s
}

func mapSyncMeasures(load catchupLoad) (ours, base Measure) {
	ours = func(ctx context.Context) (float64, error) { return mapSyncOurs(ctx, load) }
	base = func(ctx context.Context) (float64, error) { return catchupRaw(ctx, load) }
	return ours, base
}

// BenchmarkMapSync is B8s; -benchtime Nx runs N rounds.
func BenchmarkMapSync(b *testing.B) {
	ours, base := mapSyncMeasures(catchupFull)
	benchPairs(b, mapSyncSpec(catchupFull), ours, base, nil)
}

// TestMapSyncSmoke runs B8s with 2000 entries, one round.
func TestMapSyncSmoke(t *testing.T) {
	ours, base := mapSyncMeasures(catchupSmoke)
	smokePairs(t, mapSyncSpec(catchupSmoke), ours, base)
}

// mapInsertBatch is the Extend size of B9's batched variant.
const mapInsertBatch = 16

// mapInsertOurs is ours' side of B9: inserts per second.
func mapInsertOurs(ctx context.Context, load commitLoad, batch int) (_ loadFigures, err error) {
	c, leader, err := startMap(ctx, 3, 3, mapDef())
	if err != nil {
		return loadFigures{}, err
	}
	defer func() { err = joinClose(err, c.close()) }()
	props := make([]proposeFunc, load.inflight)
	for i := range props {
		if batch > 1 {
			props[i] = mapExtender(c.writers[leader], batch)
		} else {
			props[i] = mapInserter(c.writers[leader])
		}
	}
	f, err := throughput(ctx, props, load.warmup, load.window)
	f.rate *= float64(max(batch, 1))
	return f, err
}

func mapInsertSpec(batch int, load commitLoad) Spec {
	variant := "single"
	if batch > 1 {
		variant = fmt.Sprintf("batched-%d", batch)
	}
	s := consensusSpec("B9", "collections/map-insert-throughput", variant, "inserts/s", ">= 0.95", memStorage)
	s.Baseline += fmt.Sprintf(", SyncPropose of 16 B commands, %d in flight (B1's baseline)", load.inflight)
	return s
}

func mapInsertMeasures(batch int, load commitLoad) (ours, base Measure) {
	ours = func(ctx context.Context) (float64, error) {
		f, err := mapInsertOurs(ctx, load, batch)
		return f.rate, err
	}
	base = func(ctx context.Context) (float64, error) {
		f, err := commitRaw(ctx, memStorage, load)
		return f.rate, err
	}
	return ours, base
}

// BenchmarkMapInsert is B9; -benchtime Nx runs N rounds per variant.
func BenchmarkMapInsert(b *testing.B) {
	for _, batch := range []int{1, mapInsertBatch} {
		b.Run(mapInsertSpec(batch, commitFull).Variant, func(b *testing.B) {
			ours, base := mapInsertMeasures(batch, commitFull)
			benchPairs(b, mapInsertSpec(batch, commitFull), ours, base, nil)
		})
	}
}

// TestMapInsertSmoke runs B9 small: 32 in flight, one short round of
// each variant.
func TestMapInsertSmoke(t *testing.T) {
	for _, batch := range []int{1, mapInsertBatch} {
		ours, base := mapInsertMeasures(batch, commitSmoke)
		smokePairs(t, mapInsertSpec(batch, commitSmoke), ours, base)
	}
}
