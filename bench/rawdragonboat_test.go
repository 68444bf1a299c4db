package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/logger"
	"github.com/lni/dragonboat/v4/raftio"
	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/lni/vfs"

	"github.com/mosaikgo/mosaik/feed"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/internal/actors"
)

// The baseline of the consensus benchmarks: raw dragonboat v4 as a user
// would run it, n NodeHosts in this process with dragonboat's own TCP
// transport on 127.0.0.1, one shard with one replica per NodeHost, and a
// concurrent state machine doing what benchMachine does. Everything that
// is a tuning choice is set as mosaik sets it for a group with
// groups.FastConsensus, so that only what mosaik adds differs:
//
//   - the tick (RTTMillisecond), election and heartbeat timeouts in ticks,
//     CheckQuorum, snapshot and compaction intervals and the in-memory log
//     bound, computed as actors/replica.go's shardConfig computes them;
//   - the LogDB and filesystem: mosaik's in-memory mode is dragonboat's
//     in-memory vfs with the tiny LogDB profile, its on-disk mode a real
//     directory with the small profile (see actors/consensus.go).
//
// dragonboat's engine keeps its default worker counts: they are a user's
// default, and one shard keeps one worker of each stage busy either way.

// rawRTT is dragonboat's tick; mosaik's is the same (raftRTT).
const rawRTT = 10 * time.Millisecond

// rawShard is the baseline's one shard.
const rawShard = 1

// rawShardConfig is replica's shard config, with the timings mosaik
// derives from groups.FastConsensus.
func rawShardConfig(replica uint64) config.Config {
	c := groups.FastConsensus()
	election := max(uint64((c.ElectionTimeout+c.ElectionJitter/2)/rawRTT), 10)
	const snapshots = actors.DefaultSnapshotEntries
	return config.Config{
		ShardID:            rawShard,
		ReplicaID:          replica,
		ElectionRTT:        election,
		HeartbeatRTT:       max(election/10, 1),
		CheckQuorum:        true,
		SnapshotEntries:    snapshots,
		CompactionOverhead: snapshots / 10,
		MaxInMemLogSize:    64 << 20,
	}
}

// rawQuietOnce turns dragonboat's loggers down, as mosaik does: they log
// every election at Info level, and the TCP transport every connection
// its peers close at shutdown.
var rawQuietOnce sync.Once

func rawQuiet() {
	rawQuietOnce.Do(func() {
		for _, name := range []string{"dragonboat", "raft", "rsm", "logdb", "raftpb", "config", "settings", "registry", "grpc", "tan", "vfs", "pebblekv", "transport"} {
			logger.GetLogger(name).SetLevel(logger.CRITICAL)
		}
	})
}

// rawMachine is the baseline's state machine: benchMachine's work, plus
// the applied index for the benchmarks to wait on.
type rawMachine struct {
	mu         sync.RWMutex
	count, sum uint64
	applied    *feed.Value[uint64]
}

var _ sm.IConcurrentStateMachine = (*rawMachine)(nil)

func (m *rawMachine) Update(entries []sm.Entry) ([]sm.Entry, error) {
	m.mu.Lock()
	for i, e := range entries {
		if len(e.Cmd) == commandSize {
			m.count++
			m.sum += binary.BigEndian.Uint64(e.Cmd)
		}
		entries[i].Result = sm.Result{Value: e.Index}
	}
	m.mu.Unlock()
	if len(entries) > 0 {
		m.applied.Set(entries[len(entries)-1].Index)
	}
	return entries, nil
}

func (m *rawMachine) Lookup(any) (any, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.count, nil
}

func (m *rawMachine) PrepareSnapshot() (any, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return [2]uint64{m.count, m.sum}, nil
}

func (m *rawMachine) SaveSnapshot(state any, w io.Writer, _ sm.ISnapshotFileCollection, _ <-chan struct{}) error {
	return binary.Write(w, binary.BigEndian, state.([2]uint64))
}

func (m *rawMachine) RecoverFromSnapshot(r io.Reader, _ []sm.SnapshotFile, _ <-chan struct{}) error {
	var s [2]uint64
	if err := binary.Read(r, binary.BigEndian, &s); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.count, m.sum = s[0], s[1]
	return nil
}

func (m *rawMachine) Close() error { return nil }

// rawCluster is the baseline's side of a round: n NodeHosts.
type rawCluster struct {
	hosts   []*dragonboat.NodeHost
	addrs   []string
	applied []*feed.Value[uint64] // per host: its replica's applied index
	leader  *feed.Value[uint64]   // the leader's replica id, 0 for none
	dir     string
}

// rawLeaderEvents is a NodeHost's event listener: it publishes the leader.
type rawLeaderEvents struct{ leader *feed.Value[uint64] }

func (l rawLeaderEvents) LeaderUpdated(info raftio.LeaderInfo) {
	if info.ShardID == rawShard {
		l.leader.Set(info.LeaderID)
	}
}

// startRawHosts creates n NodeHosts, concurrently, on st. Host i runs
// replica i+1 once startReplica is called. On error it closes what it
// created.
func startRawHosts(n int, st storage) (_ *rawCluster, err error) {
	rawQuiet()
	c := &rawCluster{
		hosts:   make([]*dragonboat.NodeHost, n),
		addrs:   make([]string, n),
		applied: make([]*feed.Value[uint64], n),
		leader:  feed.NewValue[uint64](0),
	}
	if c.dir, err = st.tempDir(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.close())
		}
	}()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		c.applied[i] = feed.NewValue[uint64](0)
		wg.Go(func() { c.hosts[i], c.addrs[i], errs[i] = c.newHost(i, st) })
	}
	wg.Wait()
	return c, errors.Join(errs...)
}

// newHost creates host i on a free loopback port. dragonboat names a
// host by its address, so it cannot listen on port 0: the port is found
// first, and taken again if someone else took it in between.
func (c *rawCluster) newHost(i int, st storage) (*dragonboat.NodeHost, string, error) {
	var lastErr error
	for range 3 {
		addr, err := freePort()
		if err != nil {
			return nil, "", err
		}
		cfg := config.NodeHostConfig{
			NodeHostDir:       "/raft",
			RTTMillisecond:    uint64(rawRTT / time.Millisecond),
			RaftAddress:       addr,
			RaftEventListener: rawLeaderEvents{c.leader},
			Expert:            config.ExpertConfig{LogDB: config.GetSmallMemLogDBConfig()},
		}
		if st.disk {
			cfg.NodeHostDir = filepath.Join(c.dir, "host"+strconv.Itoa(i))
		} else {
			cfg.Expert.FS = vfs.NewMem()
			cfg.Expert.LogDB = config.GetTinyMemLogDBConfig()
		}
		nh, err := dragonboat.NewNodeHost(cfg)
		if err == nil {
			return nh, addr, nil
		}
		lastErr = err
	}
	return nil, "", fmt.Errorf("host %d: %w", i, lastErr)
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// members maps the replica ids of the first n hosts to their addresses.
func (c *rawCluster) members(n int) map[uint64]dragonboat.Target {
	m := map[uint64]dragonboat.Target{}
	for i := range n {
		m[uint64(i+1)] = c.addrs[i]
	}
	return m
}

// startReplica starts host i's replica: a member of initial, or, with
// join, a replica the shard has just added.
func (c *rawCluster) startReplica(i int, initial map[uint64]dragonboat.Target, join bool) error {
	applied := c.applied[i]
	create := func(uint64, uint64) sm.IConcurrentStateMachine { return &rawMachine{applied: applied} }
	if err := c.hosts[i].StartConcurrentReplica(initial, join, create, rawShardConfig(uint64(i+1))); err != nil {
		return fmt.Errorf("host %d: start replica: %w", i, err)
	}
	return nil
}

// startRawGroup starts n hosts, each with a replica of one shard of all
// n, and waits for a leader. It returns the cluster and the leader's
// index.
func startRawGroup(ctx context.Context, n int, st storage) (*rawCluster, int, error) {
	c, err := startRawHosts(n, st)
	if err != nil {
		return nil, 0, err
	}
	for i := range n {
		if err := c.startReplica(i, c.members(n), false); err != nil {
			return nil, 0, errors.Join(err, c.close())
		}
	}
	ctx, cancel := context.WithTimeout(ctx, formTimeout)
	defer cancel()
	leader, err := c.waitLeader(ctx)
	if err != nil {
		return nil, 0, errors.Join(err, c.close())
	}
	return c, leader, nil
}

// waitLeader waits until some host reports a leader and returns the
// leader's index.
func (c *rawCluster) waitLeader(ctx context.Context) (int, error) {
	for {
		rid, changed := c.leader.Load()
		if rid != 0 {
			return int(rid - 1), nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return 0, fmt.Errorf("raw: no leader: %w", ctx.Err())
		}
	}
}

// membership describes host i's view of the shard's membership, for
// errors.
func (c *rawCluster) membership(ctx context.Context, i int) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	m, err := c.hosts[i].SyncGetShardMembership(ctx, rawShard)
	if err != nil {
		return "unknown: " + err.Error()
	}
	return fmt.Sprintf("voters %v, non-voting %v, removed %v", m.Nodes, m.NonVotings, m.Removed)
}

// waitApplied waits until host i applied index.
func (c *rawCluster) waitApplied(ctx context.Context, i int, index uint64) error {
	for {
		have, changed := c.applied[i].Load()
		if have >= index {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("raw: host %d applied %d, waiting for %d: %w", i, have, index, ctx.Err())
		}
	}
}

// proposer commits one command through host i with SyncPropose and a
// per-command timeout, retrying while the shard says it is busy or not
// ready, as mosaik does (the entry was not taken, so it cannot apply
// twice).
func (c *rawCluster) proposer(i int) proposeFunc {
	nh := c.hosts[i]
	session := nh.GetNoOPSession(rawShard)
	return func(ctx context.Context, cmd []byte) error {
		ctx, cancel := context.WithTimeout(ctx, opTimeout)
		defer cancel()
		for {
			_, err := nh.SyncPropose(ctx, session, cmd)
			if err == nil {
				return nil
			}
			if !errors.Is(err, dragonboat.ErrShardNotReady) && !errors.Is(err, dragonboat.ErrSystemBusy) {
				return fmt.Errorf("raw: propose: %w", err)
			}
			if err := sleepCtx(ctx, rawRTT); err != nil {
				return fmt.Errorf("raw: propose: %w", err)
			}
		}
	}
}

// close closes every host, concurrently, and removes the data.
func (c *rawCluster) close() error {
	var wg sync.WaitGroup
	for _, nh := range c.hosts {
		if nh != nil {
			wg.Go(nh.Close)
		}
	}
	wg.Wait()
	if c.dir != "" {
		return os.RemoveAll(c.dir)
	}
	return nil
}
