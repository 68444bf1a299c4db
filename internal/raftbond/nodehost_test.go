package raftbond

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/logger"
	"github.com/lni/dragonboat/v4/raftio"
	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/lni/vfs"

	"github.com/mosaikgo/mosaik/id"
)

// bondNet stands in for the bonds between nodes: one bounded queue per
// direction, drained by a goroutine that delivers in order, like a bond's
// writer and its peer's reader.
type bondNet struct {
	t         *testing.T
	dropEvery uint64                 // when > 0, every dropEvery-th frame a node sends finds its queue full
	factories map[id.PeerID]*Factory // filled before the links start
	links     map[[2]id.PeerID]chan []byte
	stop      chan struct{}
	wg        sync.WaitGroup
}

// bondQueue is the size of each link's queue, like actors' bondQueue.
const bondQueue = 1024

func newBondNet(t *testing.T, peers []id.PeerID, g Gate, dropEvery uint64) *bondNet {
	n := &bondNet{t: t, dropEvery: dropEvery, factories: map[id.PeerID]*Factory{}, links: map[[2]id.PeerID]chan []byte{}, stop: make(chan struct{})}
	for _, p := range peers {
		f, err := NewFactory(Config{Self: p, Router: &netRouter{net: n, self: p}, Gate: g})
		if err != nil {
			t.Fatal(err)
		}
		n.factories[p] = f
		for _, q := range peers {
			if p != q {
				n.links[[2]id.PeerID{p, q}] = make(chan []byte, bondQueue)
			}
		}
	}
	for pair, ch := range n.links {
		n.wg.Go(func() { n.carry(pair[0], pair[1], ch) })
	}
	return n
}

func (n *bondNet) carry(from, to id.PeerID, ch chan []byte) {
	for {
		select {
		case frame := <-ch:
			err := n.factories[to].Deliver(from, frame)
			if err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrNotStarted) {
				n.t.Errorf("%s → %s: %v", from.Short(), to.Short(), err)
			}
		case <-n.stop:
			return
		}
	}
}

func (n *bondNet) close() {
	close(n.stop)
	n.wg.Wait()
}

type netRouter struct {
	net  *bondNet
	self id.PeerID
	sent atomic.Uint64
	// chunksRefused is 1 once a chunk was refused.
	chunksRefused atomic.Uint64
}

func (r *netRouter) SendRaft(peer id.PeerID, frame []byte) error {
	ch := r.net.links[[2]id.PeerID{r.self, peer}]
	if ch == nil {
		return ErrNoRoute
	}
	if d := r.net.dropEvery; d > 0 {
		// The first chunk of the first snapshot always meets a full
		// queue, so that dragonboat must send the snapshot again.
		if frame[0] == kindChunk && r.chunksRefused.CompareAndSwap(0, 1) {
			return ErrCongested
		}
		if r.sent.Add(1)%d == 0 {
			return ErrCongested
		}
	}
	select {
	case ch <- frame:
		return nil
	default:
		return ErrCongested
	}
}

// replicaGate admits each replica id from the one peer that hosts it.
type replicaGate map[uint64]id.PeerID

func (g replicaGate) Admit(peer id.PeerID, _, replicaID uint64) bool { return g[replicaID] == peer }

// counter is the replicated state machine: the sum of the distinct
// uint64s proposed. Applying a value twice changes nothing, so a proposal
// that timed out can be retried without knowing whether it committed.
type counter struct{ seen map[uint64]bool }

func newCounter(uint64, uint64) sm.IStateMachine { return &counter{seen: map[uint64]bool{}} }

func (c *counter) Update(e sm.Entry) (sm.Result, error) {
	c.seen[binary.BigEndian.Uint64(e.Cmd)] = true
	return sm.Result{Value: c.sum()}, nil
}

func (c *counter) sum() uint64 {
	var n uint64
	for v := range c.seen {
		n += v
	}
	return n
}

func (c *counter) Lookup(any) (any, error) { return c.sum(), nil }

func (c *counter) SaveSnapshot(w io.Writer, _ sm.ISnapshotFileCollection, _ <-chan struct{}) error {
	b := binary.BigEndian.AppendUint64(nil, uint64(len(c.seen)))
	for v := range c.seen {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	_, err := w.Write(b)
	return err
}

func (c *counter) RecoverFromSnapshot(r io.Reader, _ []sm.SnapshotFile, _ <-chan struct{}) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(b) < 8 || uint64(len(b)-8) != 8*binary.BigEndian.Uint64(b) {
		return errors.New("counter: bad snapshot")
	}
	c.seen = map[uint64]bool{}
	for b = b[8:]; len(b) > 0; b = b[8:] {
		c.seen[binary.BigEndian.Uint64(b)] = true
	}
	return nil
}

func (c *counter) Close() error { return nil }

// leaders enqueues leadership changes; dragonboat's listener callbacks
// must not block.
type leaders chan raftio.LeaderInfo

func (l leaders) LeaderUpdated(info raftio.LeaderInfo) {
	select {
	case l <- info:
	default:
	}
}

func quietDragonboat() {
	// pebble reports through the standard logger that the in-memory
	// filesystem cannot tell its disk usage.
	log.SetOutput(io.Discard)
	for _, name := range []string{"pebblekv", "dragonboat", "raft", "rsm", "transport", "logdb", "raftpb", "config", "settings", "registry", "grpc", "tan", "vfs"} {
		logger.GetLogger(name).SetLevel(logger.CRITICAL)
	}
}

// TestNodeHostsOverBonds runs a 3-replica shard on three NodeHosts that
// talk only through this transport: two replicas elect a leader and
// commit entries, compacting their logs, then the third starts late and
// must catch up from a snapshot streamed as chunks. Every replica then
// reads the same count.
func TestNodeHostsOverBonds(t *testing.T) { runShard(t, 0) }

// TestNodeHostsOverCongestedBonds runs the same shard over bonds whose
// queues refuse one frame in ten: Raft must make progress on
// retransmissions alone, and a snapshot stream that loses a chunk must be
// sent again.
func TestNodeHostsOverCongestedBonds(t *testing.T) { runShard(t, 10) }

func runShard(t *testing.T, dropEvery uint64) {
	quietDragonboat()
	const shard = 1
	peers := []id.PeerID{alice, bob, carol}
	members := map[uint64]dragonboat.Target{1: alice.String(), 2: bob.String(), 3: carol.String()}
	net := newBondNet(t, peers, replicaGate{1: alice, 2: bob, 3: carol}, dropEvery)
	defer net.close()

	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second)
	defer cancel()
	events := make(leaders, 64)
	hosts := make([]*dragonboat.NodeHost, len(peers))
	for i, p := range peers {
		nh, err := dragonboat.NewNodeHost(config.NodeHostConfig{
			NodeHostDir:       "/nodehost",
			RTTMillisecond:    10,
			RaftAddress:       p.String(),
			RaftEventListener: events,
			Expert: config.ExpertConfig{
				TransportFactory: net.factories[p],
				FS:               vfs.NewMem(),
				LogDB:            config.GetTinyMemLogDBConfig(),
				Engine:           config.EngineConfig{ExecShards: 1, CommitShards: 1, ApplyShards: 1, SnapshotShards: 1, CloseShards: 1},
			},
		})
		if err != nil {
			t.Fatalf("NodeHost %d: %v", i, err)
		}
		hosts[i] = nh
		defer nh.Close()
	}
	start := func(i int) {
		t.Helper()
		cfg := config.Config{
			ShardID: shard, ReplicaID: uint64(i + 1),
			ElectionRTT: 10, HeartbeatRTT: 1, CheckQuorum: true,
			SnapshotEntries: 10, CompactionOverhead: 2,
		}
		if err := hosts[i].StartReplica(members, false, newCounter, cfg); err != nil {
			t.Fatalf("StartReplica %d: %v", i+1, err)
		}
	}
	propose := func(nh *dragonboat.NodeHost, v uint64) {
		t.Helper()
		cmd := binary.BigEndian.AppendUint64(nil, v)
		for {
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			_, err := nh.SyncPropose(pctx, nh.GetNoOPSession(shard), cmd)
			cancel()
			if err == nil {
				return
			}
			// A replica takes a moment to initialize after it knows the
			// leader, and a proposal forwarded to the leader can be lost
			// on a full bond; the counter makes retries harmless.
			if !dragonboat.IsTempError(err) {
				t.Fatalf("propose on %s: %v", nh.RaftAddress()[:10], err)
			}
			select {
			case <-time.After(10 * time.Millisecond):
			case <-ctx.Done():
				t.Fatalf("propose on %s: %v", nh.RaftAddress()[:10], err)
			}
		}
	}
	readAll := func(want uint64) {
		t.Helper()
		for i, nh := range hosts {
			var v any
			var err error
			for {
				// A read whose ReadIndex was dropped times out; reads
				// can be retried.
				rctx, cancel := context.WithTimeout(ctx, time.Second)
				v, err = nh.SyncRead(rctx, shard, nil)
				cancel()
				if !dragonboat.IsTempError(err) || ctx.Err() != nil {
					break
				}
			}
			if err != nil {
				t.Fatalf("read on replica %d: %v", i+1, err)
			}
			if v.(uint64) != want {
				t.Fatalf("replica %d reads %d, want %d", i+1, v, want)
			}
		}
	}

	start(0)
	start(1)
	// Both running replicas must know the leader before they propose.
	for known := map[uint64]bool{}; len(known) < 2; {
		select {
		case info := <-events:
			if info.LeaderID != 0 {
				known[info.ReplicaID] = true
			} else {
				delete(known, info.ReplicaID)
			}
		case <-ctx.Done():
			t.Fatal("no leader elected")
		}
	}
	// Proposals on both replicas: the follower's go to the leader.
	want := uint64(0)
	for v := uint64(1); v <= 30; v++ {
		propose(hosts[v%2], v)
		want += v
	}
	start(2)
	propose(hosts[2], 100)
	want += 100
	readAll(want)

	var chunks, congested uint64
	for _, p := range peers {
		s := net.factories[p].Transport().Stats()
		chunks += s.ChunkFrames
		congested += s.Congested
		if s.Rejected+s.NotAdmitted+s.Oversized+s.Unroutable != 0 {
			t.Errorf("%s: %+v", p.Short(), s)
		}
		t.Logf("%s: %+v", p.Short(), s)
	}
	if chunks == 0 {
		t.Error("replica 3 caught up without a snapshot; the chunk path went untested")
	}
	if (congested > 0) != (dropEvery > 0) {
		t.Errorf("%d frames met a full queue, with dropEvery %d", congested, dropEvery)
	}
	if dropEvery > 0 {
		refused := uint64(0)
		for _, p := range peers {
			refused += net.factories[p].cfg.Router.(*netRouter).chunksRefused.Load()
		}
		if refused == 0 {
			t.Error("no snapshot stream failed; the retry went untested")
		}
	}
}

// TestCampaign starts a one-replica shard whose election timeout (10 s)
// outlasts the test's patience: the replica leads only because Campaign
// makes it stand at once. Campaign on a replica that leads changes
// nothing.
func TestCampaign(t *testing.T) {
	quietDragonboat()
	const shard = 7
	net := newBondNet(t, []id.PeerID{alice}, replicaGate{1: alice}, 0)
	defer net.close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	events := make(leaders, 64)
	nh, err := dragonboat.NewNodeHost(config.NodeHostConfig{
		NodeHostDir:       "/nodehost",
		RTTMillisecond:    10,
		RaftAddress:       alice.String(),
		RaftEventListener: events,
		Expert: config.ExpertConfig{
			TransportFactory: net.factories[alice],
			FS:               vfs.NewMem(),
			LogDB:            config.GetTinyMemLogDBConfig(),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer nh.Close()
	tr := net.factories[alice].Transport()
	cfg := config.Config{ShardID: shard, ReplicaID: 1, ElectionRTT: 1000, HeartbeatRTT: 10, CheckQuorum: true, PreVote: true}
	if err := nh.StartReplica(map[uint64]dragonboat.Target{1: alice.String()}, false, newCounter, cfg); err != nil {
		t.Fatal(err)
	}
	// The replica ignores a TimeoutNow until it has applied its bootstrap
	// configuration, so the test asks again until it leads.
	// The term is taken from the event: NodeHost.GetLeaderID is updated
	// after the listener runs and may still report the follower's term.
	retry := time.NewTicker(20 * time.Millisecond)
	defer retry.Stop()
	var term uint64
	for term == 0 {
		if err := tr.Campaign(shard, 1); err != nil {
			t.Fatal(err)
		}
		select {
		case info := <-events:
			if info.LeaderID == 1 {
				term = info.Term
			}
		case <-retry.C:
		case <-ctx.Done():
			t.Fatal("the replica did not lead after Campaign")
		}
	}
	if err := tr.Campaign(shard, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := nh.SyncPropose(ctx, nh.GetNoOPSession(shard), binary.BigEndian.AppendUint64(nil, 1)); err != nil {
		t.Fatalf("propose after a second Campaign: %v", err)
	}
	if leader, again, _, err := nh.GetLeaderID(shard); err != nil || leader != 1 || again != term {
		t.Fatalf("after a second Campaign: leader %d term %d (%v), want 1 and term %d", leader, again, err, term)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Campaign(shard, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Campaign after Close: %v, want ErrClosed", err)
	}
}
