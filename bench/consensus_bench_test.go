package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/actors"
	"github.com/mosaikgo/mosaik/rsm"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/transport/memnet"
)

// The consensus benchmarks (B1 commit throughput, B2 execute latency, B2f
// latency on a follower, B3 cold start, B8 catch-up) compare a mosaik
// group, typed through rsm, with raw dragonboat v4 used directly
// (rawdragonboat_test.go). Both sides replicate the same state machine
// (commandSize-byte commands, each adding its first 8 bytes to a sum and
// counting itself), with the same Raft timings (groups.FastConsensus, as
// mosaik turns it into dragonboat ticks) and the same log storage: either
// dragonboat's in-memory filesystem ("mem", nothing is synced: fsync off)
// or a real directory on disk ("disk", dragonboat syncs its log: fsync
// on). What differs is everything mosaik adds: discovery, bonds over QUIC
// instead of dragonboat's TCP transport, the group actor, the typed rsm
// handle and its codecs, the statemachine adapter.

// commandSize is the size of every benchmark command.
const commandSize = 16

// opTimeout bounds one proposal on both sides (dragonboat needs a
// deadline on each; rsm takes the caller's).
const opTimeout = 30 * time.Second

// formTimeout bounds starting a cluster and waiting for its group.
const formTimeout = time.Minute

// newCommand returns a fresh command carrying seq. Big endian keeps the
// first byte zero, so the entry is the command itself (an entry starting
// with 0xFF would be wrapped; see statemachine.EncodeSingle).
func newCommand(seq uint64) []byte {
	cmd := make([]byte, commandSize)
	binary.BigEndian.PutUint64(cmd, seq)
	return cmd
}

// storage is where both sides keep their Raft logs.
type storage struct {
	name string // the variant: "mem" or "disk"
	disk bool
}

var (
	memStorage  = storage{name: "mem"}
	diskStorage = storage{name: "disk", disk: true}
)

// fsync is what the Spec reports: dragonboat syncs its log on disk, and
// its in-memory filesystem has nothing to sync.
func (s storage) fsync() string {
	if s.disk {
		return "on"
	}
	return "off"
}

// tempDir makes a scratch directory for one side of one round when the
// storage is on disk, "" otherwise.
func (s storage) tempDir() (string, error) {
	if !s.disk {
		return "", nil
	}
	dir, err := os.MkdirTemp("", "mosaik-bench-")
	if err != nil {
		return "", fmt.Errorf("data dir: %w", err)
	}
	return dir, nil
}

// benchMachine is the replicated state of ours: the count and the sum of
// the commands applied.
type benchMachine struct{ count, sum uint64 }

func (*benchMachine) Signature() id.Digest { return id.Of("mosaik/bench/consensus/v1") }

func (m *benchMachine) Apply(_ statemachine.ApplyContext, cmds [][]byte) {
	for _, c := range cmds {
		m.count++
		m.sum += binary.BigEndian.Uint64(c)
	}
}

func (m *benchMachine) Query(struct{}) uint64 { return m.count }

func (m *benchMachine) Snapshot(w io.Writer) error {
	return binary.Write(w, binary.BigEndian, [2]uint64{m.count, m.sum})
}

func (m *benchMachine) Restore(r io.Reader) error {
	var s [2]uint64
	if err := binary.Read(r, binary.BigEndian, &s); err != nil {
		return err
	}
	m.count, m.sum = s[0], s[1]
	return nil
}

// commandCodec passes commands through as they are, refusing any that is
// not commandSize bytes: what a user with binary commands writes.
type commandCodec struct{}

var errCommandSize = errors.New("bench: command is not 16 bytes")

func (commandCodec) Encode(c []byte) ([]byte, error) {
	if len(c) != commandSize {
		return nil, errCommandSize
	}
	return c, nil
}

func (commandCodec) Decode(b []byte) ([]byte, error) {
	if len(b) != commandSize {
		return nil, errCommandSize
	}
	return b, nil
}

// countCodec encodes a query result, the count, in 8 bytes.
type countCodec struct{}

func (countCodec) Encode(n uint64) ([]byte, error) { return binary.BigEndian.AppendUint64(nil, n), nil }

func (countCodec) Decode(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, errors.New("bench: count is not 8 bytes")
	}
	return binary.BigEndian.Uint64(b), nil
}

// benchGroup is ours' typed handle on the benchmark group.
type benchGroup = rsm.Group[[]byte, struct{}, uint64]

func benchConfig(key groups.Key) rsm.Config[[]byte, struct{}, uint64] {
	return rsm.Config[[]byte, struct{}, uint64]{
		Key:       key,
		Consensus: groups.FastConsensus(),
		Machine:   func() statemachine.StateMachine[[]byte, struct{}, uint64] { return &benchMachine{} },
		Codecs: statemachine.Codecs[[]byte, struct{}, uint64]{
			Command: commandCodec{},
			Query:   statemachine.NoOpCodecs().Query,
			Result:  countCodec{},
		},
	}
}

// oursRun numbers the networks of ours, so that no round sees another's
// nodes.
var oursRun atomic.Uint64

// oursCluster is ours' side of a consensus round: n mosaik nodes on real
// loopback sockets (QUIC for bonds, memberlist for gossip) in this
// process, the fast discovery profile, and one benchmark group.
type oursCluster struct {
	nodes  []*cluster.Node
	groups []*benchGroup // per node; nil until it joins
	// handles are further handles on the group, closed with the cluster.
	handles []*benchGroup
	cfg     rsm.Config[[]byte, struct{}, uint64]
	dir     string // the data directories' parent, "" in memory
}

// startNodes starts n nodes: node 0 first, then the others, concurrently,
// each bootstrapped from node 0's gossip address (the seed is known). With
// join, each node joins the group as soon as it has started. On error it
// closes what it started.
func startNodes(ctx context.Context, n int, st storage, join bool) (_ *oursCluster, err error) {
	network := "bench-consensus-" + strconv.FormatUint(oursRun.Add(1), 10)
	c := &oursCluster{nodes: make([]*cluster.Node, n), groups: make([]*benchGroup, n), cfg: benchConfig(groups.NewKey())}
	if c.dir, err = st.tempDir(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.close())
		}
	}()
	nodeConfig := func(i int) (cluster.Config, error) {
		cfg := cluster.Config{Network: network, Discovery: discovery.FastConfig(), DataDir: cluster.InMemory}
		if c.dir != "" {
			cfg.DataDir = filepath.Join(c.dir, "node"+strconv.Itoa(i))
		}
		if i > 0 {
			cfg.Bootstrap = []string{c.nodes[0].GossipAddr()}
		}
		if os.Getenv("BENCH_MEMNET") != "" {
			// The transport experiment of docs/performance.md (B1, B2):
			// links on the in-memory network instead of loopback QUIC.
			key := id.NewSecretKey()
			ep, err := memNet.Listen(key, memnet.EndpointConfig{})
			if err != nil {
				return cluster.Config{}, fmt.Errorf("node %d: memnet endpoint: %w", i, err)
			}
			cfg.Key, cfg.Endpoint = key, ep
		}
		return cfg, nil
	}
	start := func(i int) error {
		cfg, err := nodeConfig(i)
		if err != nil {
			return err
		}
		node, err := cluster.Start(ctx, cfg)
		if err != nil {
			return fmt.Errorf("node %d: start: %w", i, err)
		}
		c.nodes[i] = node
		if join {
			return c.join(ctx, i)
		}
		return nil
	}
	if err := start(0); err != nil {
		return nil, err
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 1; i < n; i++ {
		wg.Go(func() { errs[i] = start(i) })
	}
	wg.Wait()
	return c, errors.Join(errs...)
}

// join makes node i join the group.
func (c *oursCluster) join(ctx context.Context, i int) error {
	g, err := rsm.Join(ctx, c.nodes[i], c.cfg)
	if err != nil {
		return fmt.Errorf("node %d: %w", i, err)
	}
	c.groups[i] = g
	return nil
}

// startGroup starts n nodes, makes them all join the group and waits until
// it has n voters and one leader every member knows. It returns the
// cluster and the leader's index.
func startGroup(ctx context.Context, n int, st storage) (*oursCluster, int, error) {
	c, err := startNodes(ctx, n, st, false)
	if err != nil {
		return nil, 0, err
	}
	leader, err := c.form(ctx, n)
	if err != nil {
		return nil, 0, errors.Join(err, c.close())
	}
	return c, leader, nil
}

// form joins every node that has not joined yet and waits until the group
// has voters voters and a leader every member knows.
func (c *oursCluster) form(ctx context.Context, voters int) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, formTimeout)
	defer cancel()
	for i := range c.nodes {
		if c.groups[i] == nil {
			if err := c.join(ctx, i); err != nil {
				return 0, err
			}
		}
	}
	return c.waitFormed(ctx, voters)
}

// waitFormed waits until the joined members agree on a leader and the
// leader counts voters voters; it returns the leader's index.
func (c *oursCluster) waitFormed(ctx context.Context, voters int) (int, error) {
	for {
		leader := -1
		for i, g := range c.groups {
			if g == nil {
				continue
			}
			cs, err := g.Core().WaitConsensus(ctx, func(cs actors.Consensus) bool { return cs.Online() })
			if err != nil {
				return 0, fmt.Errorf("node %d: no leader; members: %s: %w", i, c.describe(), err)
			}
			if cs.Leader == g.Self() {
				leader = i
			}
		}
		if leader < 0 {
			// A member names a leader that has not heard of its own
			// election yet (or no longer leads): wait for that to settle.
			if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
				return 0, fmt.Errorf("no member leads: %w", err)
			}
			continue
		}
		lg := c.groups[leader]
		cs, err := lg.Core().WaitConsensus(ctx, func(cs actors.Consensus) bool {
			return cs.Leader != lg.Self() || cs.Voters >= voters
		})
		if err != nil {
			return 0, fmt.Errorf("leader %d: waiting for %d voters; members: %s: %w", leader, voters, c.describe(), err)
		}
		if cs.Leader == lg.Self() && c.agree(lg.Self()) {
			return leader, nil
		}
	}
}

// describe says what each joined member knows of the group, for errors.
func (c *oursCluster) describe() string {
	var b strings.Builder
	for i, g := range c.groups {
		if g == nil {
			continue
		}
		cs := g.Core().Consensus()
		fmt.Fprintf(&b, "[node %d %s: running %v, leader %s, term %d, voters %d, applied %d, bonds %d]",
			i, g.Self().Short(), cs.Running, cs.Leader.Short(), cs.Term, cs.Voters, g.Committed(), len(g.Core().Bonds().Peers))
	}
	return b.String()
}

// agree reports whether every joined member sees leader as the leader.
func (c *oursCluster) agree(leader id.PeerID) bool {
	for _, g := range c.groups {
		if g != nil && g.Leader() != leader {
			return false
		}
	}
	return true
}

// close closes every handle and node (the nodes concurrently, as a
// graceful leave waits on peers) and removes the data directories.
func (c *oursCluster) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), formTimeout)
	defer cancel()
	for _, g := range append(c.handles, c.groups...) {
		if g != nil {
			g.Close()
		}
	}
	errs := make([]error, len(c.nodes))
	var wg sync.WaitGroup
	for i, node := range c.nodes {
		if node != nil {
			wg.Go(func() {
				if err := node.Close(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
					errs[i] = fmt.Errorf("node %d: close: %w", i, err)
				}
			})
		}
	}
	wg.Wait()
	if c.dir != "" {
		errs = append(errs, os.RemoveAll(c.dir))
	}
	return errors.Join(errs...)
}

// executor is how a benchmark commits one command on ours: through an rsm
// handle's Execute, with a per-command timeout as on the baseline.
func executor(g *benchGroup) proposeFunc {
	return func(ctx context.Context, cmd []byte) error {
		ctx, cancel := context.WithTimeout(ctx, opTimeout)
		defer cancel()
		_, err := g.Execute(ctx, cmd)
		return err
	}
}

// proposeFunc commits one command and returns once the member it was
// issued on has applied it.
type proposeFunc func(ctx context.Context, cmd []byte) error

// commandSeq numbers commands across the process; the numbers only need
// to differ.
var commandSeq atomic.Uint64

// loadFigures is what one throughput run measured.
type loadFigures struct {
	rate float64 // commits per second in the window
	// cpu is the process's CPU time per commit in the window (zero where
	// unknown): on a shared machine, where the CPU share a side gets
	// drifts, the steadier figure of how much work a commit takes.
	cpu time.Duration
	// gc is the part of cpu the garbage collector took (runtime/metrics'
	// estimate), allocated the heap bytes allocated per commit, and
	// cycles the collections in the window.
	gc        time.Duration
	allocated uint64
	cycles    uint64
}

// throughput runs one worker per element of propose, each committing one
// command after another, so that len(propose) commands are in flight. It
// lets the load run for warmup, then counts the commits of the next
// window, stops the workers and waits for them. The first error of any
// worker fails the run.
func throughput(ctx context.Context, propose []proposeFunc, warmup, window time.Duration) (loadFigures, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		commits atomic.Uint64
		stopped atomic.Bool
		errOnce sync.Once
		runErr  error
	)
	var wg sync.WaitGroup
	for _, p := range propose {
		wg.Go(func() {
			for !stopped.Load() {
				if err := p(ctx, newCommand(commandSeq.Add(1))); err != nil {
					if !stopped.Load() {
						errOnce.Do(func() { runErr = err; stopped.Store(true); cancel() })
					}
					return
				}
				commits.Add(1)
			}
		})
	}
	finish := func() error {
		stopped.Store(true)
		wg.Wait()
		return runErr
	}
	if err := sleepCtx(ctx, warmup); err != nil {
		return loadFigures{}, errors.Join(finish(), err)
	}
	c0, cpu0, t0 := commits.Load(), processCPU(), time.Now()
	gc0, alloc0, cycles0 := gcStats()
	err := sleepCtx(ctx, window)
	c1, cpu1, elapsed := commits.Load(), processCPU(), time.Since(t0)
	gc1, alloc1, cycles1 := gcStats()
	if err := errors.Join(finish(), err); err != nil {
		return loadFigures{}, err
	}
	n := c1 - c0
	if n == 0 {
		return loadFigures{}, errors.New("no command committed in the window")
	}
	return loadFigures{
		rate:      float64(n) / elapsed.Seconds(),
		cpu:       (cpu1 - cpu0) / time.Duration(n),
		gc:        (gc1 - gc0) / time.Duration(n),
		allocated: (alloc1 - alloc0) / n,
		cycles:    cycles1 - cycles0,
	}, nil
}

// latencies commits warmup untimed commands, then n timed ones, one after
// another, and returns the n times.
func latencies(ctx context.Context, propose proposeFunc, warmup, n int) ([]time.Duration, error) {
	for range warmup {
		if err := propose(ctx, newCommand(commandSeq.Add(1))); err != nil {
			return nil, fmt.Errorf("warmup: %w", err)
		}
	}
	out := make([]time.Duration, n)
	for i := range out {
		cmd := newCommand(commandSeq.Add(1))
		t0 := time.Now()
		if err := propose(ctx, cmd); err != nil {
			return nil, fmt.Errorf("command %d: %w", i, err)
		}
		out[i] = time.Since(t0)
	}
	return out, nil
}

// percentile is the nearest-rank p-th percentile (0 < p <= 100) of ds, 0
// for none.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// joinClose adds the error of closing a side to the error it measured
// with.
func joinClose(err, closeErr error) error {
	if closeErr != nil {
		return errors.Join(err, fmt.Errorf("close: %w", closeErr))
	}
	return err
}

// sleepCtx waits d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// consensusSpec is the Spec of a consensus benchmark against raw
// dragonboat on the given storage.
func consensusSpec(id, name, variant, unit, goal string, st storage) Spec {
	return Spec{
		ID:       id,
		Name:     name,
		Variant:  variant,
		Baseline: "raw dragonboat v4, 3 NodeHosts, TCP transport, " + st.name + " LogDB",
		Unit:     unit,
		Goal:     goal,
		Fsync:    st.fsync(),
	}
}

// cpuNote holds the CPU time per commit each side measured in its latest
// run, for the round's log line.
type cpuNote struct {
	mu         sync.Mutex
	ours, base loadFigures
}

func (n *cpuNote) set(side *loadFigures, f loadFigures) {
	n.mu.Lock()
	defer n.mu.Unlock()
	*side = f
}

func (n *cpuNote) String() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	side := func(f loadFigures) string {
		return fmt.Sprintf("%.1f us (GC %.1f us, %d B allocated, %d GC cycles in the window)",
			Micros(f.cpu), Micros(f.gc), f.allocated, f.cycles)
	}
	return "CPU per commit: ours " + side(n.ours) + ", base " + side(n.base)
}

// benchPairs runs one RunPair per b.Loop iteration, then reports and
// records the result under spec. note, when set, adds to each round's
// log line.
func benchPairs(b *testing.B, spec Spec, ours, base Measure, note func() string) {
	var pairs []Pair
	for round := 0; b.Loop(); round++ {
		pair, err := RunPair(context.Background(), round, ours, base)
		if err != nil {
			b.Fatal(err)
		}
		line := fmt.Sprintf("round %d: ours %s, base %s %s, ratio %.3f", round, figure(pair.Ours), figure(pair.Base), spec.Unit, pair.Ratio())
		if note != nil {
			line += "; " + note()
		}
		b.Log(line)
		pairs = append(pairs, pair)
	}
	r := Summarize(spec, pairs)
	r.Report(b)
	b.Log(r)
	results.Add(r)
}

// smokePairs runs one round of spec's comparison and checks that both
// sides measured something and the ratio is a number; never a timing.
func smokePairs(t *testing.T, spec Spec, ours, base Measure) {
	pairs, err := Interleave(t.Context(), 1, ours, base)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, Summarize(spec, pairs))
}

func checkResult(t *testing.T, r Result) {
	t.Helper()
	if !(r.Ratio > 0) || math.IsInf(r.Ratio, 0) {
		t.Fatalf("%s: ratio %v, want a positive finite number", r.ID, r.Ratio)
	}
	t.Log(r)
}

// multiPairs pairs runs that measure several figures at once (B3's
// leader, first commit and three voters): RunPair sees the first figure,
// the others are kept aside and paired from the same two runs.
type multiPairs struct {
	names []string // the figures, the first being RunPair's
	mu    sync.Mutex
	ours  map[string]float64 // latest run's figures
	base  map[string]float64
	pairs map[string][]Pair
}

func newMultiPairs(names ...string) *multiPairs {
	return &multiPairs{names: names, pairs: map[string][]Pair{}}
}

// measures turns two runs measuring every figure into RunPair's sides.
func (m *multiPairs) measures(ours, base func(context.Context) (map[string]float64, error)) (Measure, Measure) {
	side := func(run func(context.Context) (map[string]float64, error), into *map[string]float64) Measure {
		return func(ctx context.Context) (float64, error) {
			fs, err := run(ctx)
			if err != nil {
				return 0, err
			}
			for _, name := range m.names {
				if !(fs[name] > 0) {
					return 0, fmt.Errorf("figure %s is %v; want a positive number", name, fs[name])
				}
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			*into = fs
			return fs[m.names[0]], nil
		}
	}
	return side(ours, &m.ours), side(base, &m.base)
}

// round runs one round and records a pair per figure. It returns the
// round's log line.
func (m *multiPairs) round(ctx context.Context, round int, ours, base Measure, unit string) (string, error) {
	if _, err := RunPair(ctx, round, ours, base); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	line := fmt.Sprintf("round %d:", round)
	for i, name := range m.names {
		p := Pair{Ours: m.ours[name], Base: m.base[name]}
		m.pairs[name] = append(m.pairs[name], p)
		sep := ";"
		if i == 0 {
			sep = ""
		}
		line += fmt.Sprintf("%s %s ours %s, base %s %s (ratio %.3f)", sep, name, figure(p.Ours), figure(p.Base), unit, p.Ratio())
	}
	return line, nil
}

// results summarizes each figure under the Spec spec gives it.
func (m *multiPairs) results(spec func(name string) Spec) []Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Result, len(m.names))
	for i, name := range m.names {
		out[i] = Summarize(spec(name), m.pairs[name])
	}
	return out
}

// benchMulti runs one round per b.Loop iteration and records a result per
// figure.
func benchMulti(b *testing.B, m *multiPairs, ours, base Measure, unit string, spec func(name string) Spec) {
	for round := 0; b.Loop(); round++ {
		line, err := m.round(context.Background(), round, ours, base, unit)
		if err != nil {
			b.Fatal(err)
		}
		b.Log(line)
	}
	for _, r := range m.results(spec) {
		b.Log(r)
		b.ReportMetric(r.Ratio, r.Variant+"-ratio")
		results.Add(r)
	}
}

// smokeMulti runs one round and checks every figure's result.
func smokeMulti(t *testing.T, m *multiPairs, ours, base Measure, unit string, spec func(name string) Spec) {
	line, err := m.round(t.Context(), 0, ours, base, unit)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(line)
	for _, r := range m.results(spec) {
		checkResult(t, r)
	}
}

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name string
		ds   []time.Duration
		p    float64
		want time.Duration
	}{
		{"none", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median of odd", ms(3, 1, 2), 50, 2 * time.Millisecond},
		{"median of even takes the lower", ms(4, 1, 3, 2), 50, 2 * time.Millisecond},
		{"p99 of 100 is the 99th", ms(seq(100)...), 99, 99 * time.Millisecond},
		{"p100 is the largest", ms(5, 9, 1), 100, 9 * time.Millisecond},
		{"tiny p is the smallest", ms(5, 9, 1), 0.1, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.ds, tt.p); got != tt.want {
				t.Fatalf("percentile(%v, %v) = %v, want %v", tt.ds, tt.p, got, tt.want)
			}
		})
	}
}

// seq is 1..n.
func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

// memNet carries ours' links when BENCH_MEMNET is set (see startNodes).
var memNet = memnet.New(memnet.Config{})

// gcStats reads the runtime's garbage-collection counters: the CPU time
// the collector has used so far (the runtime's estimate), the bytes
// allocated on the heap so far and the cycles completed.
func gcStats() (cpu time.Duration, allocated uint64, cycles uint64) {
	s := []metrics.Sample{
		{Name: "/cpu/classes/gc/total:cpu-seconds"},
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/gc/cycles/total:gc-cycles"},
	}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindFloat64 {
		cpu = time.Duration(s[0].Value.Float64() * float64(time.Second))
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		allocated = s[1].Value.Uint64()
	}
	if s[2].Value.Kind() == metrics.KindUint64 {
		cycles = s[2].Value.Uint64()
	}
	return cpu, allocated, cycles
}
