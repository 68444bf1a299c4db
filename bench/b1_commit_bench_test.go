package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/rsm"
)

// B1 group/commit-throughput: a 3-node group on loopback commits 16-byte
// commands with inflight of them in flight, all issued on the leader; the
// figure is commits per second over a window after a warmup, counted as
// the proposer sees them return (committed and applied on the leader).
//
// Ours issues them through rsm. A handle proposes its commands one at a
// time, in issue order (see rsm's package doc), so ours opens one handle
// per in-flight command, each driven by one goroutine calling Execute in
// a loop. Variant ".../core" drives the untyped cluster.Group.Propose
// from the same number of goroutines instead, to show what the typed
// handles cost. The baseline runs the same loop on dragonboat's
// SyncPropose on the leader's NodeHost.

// commitLoad sizes one B1 run.
type commitLoad struct {
	inflight       int
	warmup, window time.Duration
}

var (
	commitFull  = commitLoad{inflight: 1024, warmup: time.Second, window: 5 * time.Second}
	commitSmoke = commitLoad{inflight: 32, warmup: 100 * time.Millisecond, window: 300 * time.Millisecond}
)

// commitOurs is ours' side of B1: rsm handles, or the core group when
// core is set.
func commitOurs(ctx context.Context, st storage, load commitLoad, core bool) (_ loadFigures, err error) {
	c, leader, err := startGroup(ctx, 3, st)
	if err != nil {
		return loadFigures{}, err
	}
	defer func() { err = joinClose(err, c.close()) }()
	props := make([]proposeFunc, load.inflight)
	for i := range props {
		if core {
			props[i] = coreProposer(c.groups[leader].Core())
			continue
		}
		h, err := rsm.Join(ctx, c.nodes[leader], c.cfg)
		if err != nil {
			return loadFigures{}, fmt.Errorf("handle %d: %w", i, err)
		}
		c.handles = append(c.handles, h)
		props[i] = executor(h)
	}
	return throughput(ctx, props, load.warmup, load.window)
}

// coreProposer commits through the untyped group, as rsm does under its
// handles.
func coreProposer(g *cluster.Group) proposeFunc {
	return func(ctx context.Context, cmd []byte) error {
		ctx, cancel := context.WithTimeout(ctx, opTimeout)
		defer cancel()
		_, err := g.Propose(ctx, cmd)
		return err
	}
}

// commitRaw is the baseline side of B1.
func commitRaw(ctx context.Context, st storage, load commitLoad) (_ loadFigures, err error) {
	c, leader, err := startRawGroup(ctx, 3, st)
	if err != nil {
		return loadFigures{}, err
	}
	defer func() { err = joinClose(err, c.close()) }()
	props := make([]proposeFunc, load.inflight)
	for i := range props {
		props[i] = c.proposer(leader)
	}
	return throughput(ctx, props, load.warmup, load.window)
}

// commitVariant is one line of B1.
type commitVariant struct {
	st   storage
	core bool
}

func (v commitVariant) name() string {
	if v.core {
		return v.st.name + "/core"
	}
	return v.st.name
}

var commitVariants = []commitVariant{{st: memStorage}, {st: diskStorage}, {st: memStorage, core: true}}

func commitSpec(v commitVariant, load commitLoad) Spec {
	s := consensusSpec("B1", "group/commit-throughput", v.name(), "commits/s", ">= 0.9", v.st)
	s.Baseline += fmt.Sprintf(", SyncPropose, %d in flight", load.inflight)
	return s
}

// commitMeasures returns the two sides of B1; each notes its CPU time
// per commit in cpu.
func commitMeasures(v commitVariant, load commitLoad, cpu *cpuNote) (ours, base Measure) {
	ours = func(ctx context.Context) (float64, error) {
		f, err := commitOurs(ctx, v.st, load, v.core)
		cpu.set(&cpu.ours, f)
		return f.rate, err
	}
	base = func(ctx context.Context) (float64, error) {
		f, err := commitRaw(ctx, v.st, load)
		cpu.set(&cpu.base, f)
		return f.rate, err
	}
	return ours, base
}

// BenchmarkCommitThroughput is B1; -benchtime Nx runs N rounds per
// variant.
func BenchmarkCommitThroughput(b *testing.B) {
	for _, v := range commitVariants {
		b.Run(v.name(), func(b *testing.B) {
			var cpu cpuNote
			ours, base := commitMeasures(v, commitFull, &cpu)
			benchPairs(b, commitSpec(v, commitFull), ours, base, cpu.String)
		})
	}
}

// TestCommitThroughputSmoke runs B1 small: in memory, 32 in flight, one
// short round.
func TestCommitThroughputSmoke(t *testing.T) {
	v := commitVariant{st: memStorage}
	var cpu cpuNote
	ours, base := commitMeasures(v, commitSmoke, &cpu)
	smokePairs(t, commitSpec(v, commitSmoke), ours, base)
	t.Log(cpu.String())
}
