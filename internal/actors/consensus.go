package actors

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/logger"
	"github.com/lni/dragonboat/v4/raftio"
	"github.com/lni/vfs"

	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/logroute"
	"github.com/mosaikgo/mosaik/internal/raftbond"
)

// raftRTT is the tick dragonboat measures election and heartbeat timeouts
// in. Group timings are converted to it, so it only needs to be fine
// enough for the fastest profile.
const raftRTT = 10 * time.Millisecond

// consensusHost is the node's one dragonboat NodeHost, whose Raft traffic
// rides the node's bonds. Every group is one shard on it.
type consensusHost struct {
	nh      *dragonboat.NodeHost
	factory *raftbond.Factory
	root    *actor.RootContext // for leader events to group actors
	release func()             // gives the data directory back; nil in memory

	mu struct {
		sync.Mutex
		routes   map[id.PeerID]*sendQueue        // a bond's queue per peer
		shards   map[uint64]*actor.PID           // shard id -> group actor, for leader events
		replicas map[uint64]map[uint64]id.PeerID // shard -> replica -> peer, for the gate
	}
}

// startConsensus starts the NodeHost. An empty dataDir keeps the Raft log
// in memory (tests, demos); otherwise it lives on disk there.
func startConsensus(self id.PeerID, dataDir string, root *actor.RootContext) (*consensusHost, error) {
	quietDragonboat()
	h := &consensusHost{root: root}
	h.mu.routes = map[id.PeerID]*sendQueue{}
	h.mu.shards = map[uint64]*actor.PID{}
	h.mu.replicas = map[uint64]map[uint64]id.PeerID{}
	f, err := raftbond.NewFactory(raftbond.Config{Self: self, Router: h, Gate: h})
	if err != nil {
		return nil, err
	}
	h.factory = f
	cfg := config.NodeHostConfig{
		NodeHostDir:         dataDir,
		RTTMillisecond:      uint64(raftRTT / time.Millisecond),
		RaftAddress:         self.String(),
		RaftEventListener:   (*shardEvents)(h),
		SystemEventListener: (*shardEvents)(h),
		Expert: config.ExpertConfig{
			TransportFactory: f,
			LogDB:            config.GetSmallMemLogDBConfig(),
			// One worker per stage: a node hosts a handful of groups on
			// a machine that also runs the application.
			Engine: config.EngineConfig{ExecShards: 1, CommitShards: 1, ApplyShards: 1, SnapshotShards: 1, CloseShards: 1},
		},
	}
	if dataDir == "" {
		cfg.NodeHostDir = "/mosaik"
		cfg.Expert.FS = vfs.NewMem()
		cfg.Expert.LogDB = config.GetTinyMemLogDBConfig()
	} else {
		// dragonboat locks its directory against other processes; within
		// one, a second NodeHost on it crashes inside the log store.
		release, err := claimDataDir(dataDir)
		if err != nil {
			return nil, err
		}
		h.release = release
	}
	nh, err := openNodeHost(cfg)
	if err != nil {
		h.releaseDataDir()
		return nil, err
	}
	h.nh = nh
	return h, nil
}

// openNodeHost starts the NodeHost on cfg's directory. dragonboat panics
// on some damaged files and returns no NodeHost and no error on others
// (NODEHOST.ID, dragonboat.ds); both become errors matching
// ErrCorruptDataDir, as does any failure to open a directory that holds
// data, except its being locked by another process.
func openNodeHost(cfg config.NodeHostConfig) (nh *dragonboat.NodeHost, err error) {
	defer func() {
		if v := recover(); v != nil {
			nh, err = nil, fmt.Errorf("%w: %s: opening the Raft data: %v", ErrCorruptDataDir, cfg.NodeHostDir, v)
		}
	}()
	nh, err = dragonboat.NewNodeHost(cfg)
	switch {
	case err != nil && strings.Contains(err.Error(), "failed to lock data directory"):
		return nil, fmt.Errorf("actors: consensus: data directory %s is locked by another process: %w", cfg.NodeHostDir, err)
	case err != nil && cfg.Expert.FS == nil:
		return nil, fmt.Errorf("%w: %s: opening the Raft data: %w", ErrCorruptDataDir, cfg.NodeHostDir, err)
	case err != nil:
		return nil, fmt.Errorf("actors: consensus: %w", err)
	case nh == nil:
		return nil, fmt.Errorf("%w: %s: its identity files (NODEHOST.ID, dragonboat.ds) do not read back", ErrCorruptDataDir, cfg.NodeHostDir)
	}
	return nh, nil
}

// ErrDataDirInUse is returned when a node starts on a data directory that
// another node of this process is using.
var ErrDataDirInUse = errors.New("actors: data directory in use by another node of this process")

// dataDirs holds the data directories of this process's running nodes.
var dataDirs struct {
	sync.Mutex
	inUse map[string]bool
}

// claimDataDir reserves dir for one node until release is called.
func claimDataDir(dir string) (release func(), err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("actors: data directory %q: %w", dir, err)
	}
	dataDirs.Lock()
	defer dataDirs.Unlock()
	if dataDirs.inUse[abs] {
		return nil, fmt.Errorf("%w: %s", ErrDataDirInUse, abs)
	}
	if dataDirs.inUse == nil {
		dataDirs.inUse = map[string]bool{}
	}
	dataDirs.inUse[abs] = true
	return sync.OnceFunc(func() {
		dataDirs.Lock()
		defer dataDirs.Unlock()
		delete(dataDirs.inUse, abs)
	}), nil
}

func (h *consensusHost) releaseDataDir() {
	if h.release != nil {
		h.release()
	}
}

// SendRaft implements raftbond.Router: the frame joins the queue of a bond
// to peer, any group's, without blocking and within the bond's byte
// budget.
func (h *consensusHost) SendRaft(peer id.PeerID, frame []byte) error {
	h.mu.Lock()
	q, ok := h.mu.routes[peer]
	h.mu.Unlock()
	if !ok {
		return raftbond.ErrNoRoute
	}
	if !q.offer(groups.RaftMessage(frame)) {
		return raftbond.ErrCongested
	}
	return nil
}

// Admit implements raftbond.Gate: a peer may speak only for the replicas
// the group's members advertise as its own, or for replicas no one has
// advertised yet (a joiner's, before its entry spreads).
func (h *consensusHost) Admit(peer id.PeerID, shard, replica uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	owner, known := h.mu.replicas[shard][replica]
	return !known || owner == peer
}

func (h *consensusHost) route(peer id.PeerID, q *sendQueue) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mu.routes[peer] = q
}

func (h *consensusHost) unroute(peer id.PeerID, q *sendQueue) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.mu.routes[peer] == q {
		delete(h.mu.routes, peer)
	}
}

func (h *consensusHost) register(shard uint64, group *actor.PID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mu.shards[shard] = group
}

func (h *consensusHost) unregister(shard uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.mu.shards, shard)
	delete(h.mu.replicas, shard)
}

// learnReplicas records which peer owns which replica of a shard.
func (h *consensusHost) learnReplicas(shard uint64, owners map[uint64]id.PeerID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mu.replicas[shard] = owners
}

func (h *consensusHost) close() {
	h.nh.Close()
	h.releaseDataDir()
}

// shardEvents is the NodeHost's event listener, for leader and system
// events. dragonboat calls it on its own goroutines, which must not
// block: it only tells the shard's group actor, which reads what changed.
type shardEvents consensusHost

func (l *shardEvents) notify(shard uint64) {
	l.mu.Lock()
	pid := l.mu.shards[shard]
	l.mu.Unlock()
	if pid != nil {
		l.root.Send(pid, &shardNews{shard: shard})
	}
}

func (l *shardEvents) LeaderUpdated(info raftio.LeaderInfo) { l.notify(info.ShardID) }

// The system events that change what a member's lifecycle sees: its
// replica's configuration, or the replica itself.
func (l *shardEvents) MembershipChanged(info raftio.NodeInfo) { l.notify(info.ShardID) }
func (l *shardEvents) NodeDeleted(info raftio.NodeInfo)       { l.notify(info.ShardID) }
func (l *shardEvents) NodeUnloaded(info raftio.NodeInfo)      { l.notify(info.ShardID) }
func (l *shardEvents) NodeReady(info raftio.NodeInfo)         { l.notify(info.ShardID) }
func (l *shardEvents) SnapshotRecovered(info raftio.SnapshotInfo) {
	l.notify(info.ShardID)
}

// The rest are of no interest.
func (l *shardEvents) NodeHostShuttingDown()                       {}
func (l *shardEvents) ConnectionEstablished(raftio.ConnectionInfo) {}
func (l *shardEvents) ConnectionFailed(raftio.ConnectionInfo)      {}
func (l *shardEvents) SendSnapshotStarted(raftio.SnapshotInfo)     {}
func (l *shardEvents) SendSnapshotCompleted(raftio.SnapshotInfo)   {}
func (l *shardEvents) SendSnapshotAborted(raftio.SnapshotInfo)     {}
func (l *shardEvents) SnapshotReceived(raftio.SnapshotInfo)        {}
func (l *shardEvents) SnapshotCreated(raftio.SnapshotInfo)         {}
func (l *shardEvents) SnapshotCompacted(raftio.SnapshotInfo)       {}
func (l *shardEvents) LogCompacted(raftio.EntryInfo)               {}
func (l *shardEvents) LogDBCompacted(raftio.EntryInfo)             {}

// quietOnce turns dragonboat's chatty package loggers down to errors, once
// per process: they log every election and LogDB step at Info level.
var quietOnce sync.Once

// quietDragonboat routes dragonboat's lines to the loggers of live nodes
// (internal/logroute), which then receive its chatty Info lines as Debug;
// only when another logger factory was installed first does it turn
// dragonboat's package loggers down instead.
func quietDragonboat() {
	if _, err := logroute.Dragonboat(); err == nil {
		return
	}
	quietOnce.Do(func() {
		for _, name := range []string{"dragonboat", "raft", "rsm", "logdb", "raftpb", "config", "settings", "registry", "grpc", "tan", "vfs", "pebblekv"} {
			logger.GetLogger(name).SetLevel(logger.ERROR)
		}
		// The transport logs every batch it cannot send as an error; with
		// bonds that come and go (partitions, departures) that is routine,
		// and raftbond counts them.
		logger.GetLogger("transport").SetLevel(logger.CRITICAL)
	})
}
