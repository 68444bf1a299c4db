package actors

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	cmap "github.com/orcaman/concurrent-map"
)

// ErrClosed is returned by a [System] that is closing or closed.
var ErrClosed = errors.New("actors: system closed")

// SystemConfig configures a [System]. The zero value is usable.
type SystemConfig struct {
	// Name labels the system in logs; by convention the node's short peer
	// id. Default: "mosaik".
	Name string

	// Logger receives protoactor-go's own log lines. Default: discarded,
	// because the library logs every dead letter and restart at Info level
	// and mosaik reports what matters through its own events.
	Logger *slog.Logger

	// MaxRestarts is how often the root restarts one failing child within
	// RestartWindow before it stops that child for good. Default: 10.
	MaxRestarts int

	// RestartWindow is the period MaxRestarts counts over. Default: 10 s.
	RestartWindow time.Duration
}

func (c SystemConfig) withDefaults() SystemConfig {
	c.Name = cmp.Or(c.Name, "mosaik")
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.MaxRestarts = cmp.Or(c.MaxRestarts, 10)
	c.RestartWindow = cmp.Or(c.RestartWindow, 10*time.Second)
	return c
}

// System is one node's actor system and its root supervisor. Children
// spawned through it are stopped, deepest first, by Close.
type System struct {
	sys     *actor.ActorSystem
	root    *actor.PID
	stopped chan struct{} // closed by the root actor once it and all children stopped
	name    string
}

// NewSystem starts an actor system with a root supervisor.
func NewSystem(cfg SystemConfig) (*System, error) {
	cfg = cfg.withDefaults()
	logger := cfg.Logger.With("actors", cfg.Name)
	sys := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }),
		// The throttle's timer goroutine lives this long after a dead
		// letter; keep it short so stopped systems leave nothing behind.
		actor.WithDeadLetterThrottleInterval(50*time.Millisecond),
	)
	compactRegistry(sys)
	s := &System{sys: sys, stopped: make(chan struct{}), name: cfg.Name}
	strategy := actor.NewOneForOneStrategy(cfg.MaxRestarts, cfg.RestartWindow, actor.DefaultDecider)
	props := Props(func() actor.Actor { return &rootActor{stopped: s.stopped} },
		actor.WithSupervisor(strategy))
	root, err := sys.Root.SpawnNamed(props, "node")
	if err != nil {
		return nil, fmt.Errorf("actors: spawn root: %w", err)
	}
	s.root = root
	return s, nil
}

// registryBuckets is how many concurrent maps an actor system's process
// registry spreads its PIDs over (each map has 32 locked shards).
const registryBuckets = 4

// compactRegistry replaces the process registry's maps, before any actor
// of ours is spawned, with registryBuckets of them, moving over the
// entries the system registered while starting. protoactor-go allocates
// 1024 maps of 32 shards per system, sized for millions of actors: about
// 4 MB of small pointer-filled objects that every garbage collection
// scans, per node, for the few hundred actors a node runs. In a process
// of three nodes under load that was most of the extra collector work
// against a bare dragonboat (BENCHMARKS.md B1, see docs/performance.md).
func compactRegistry(sys *actor.ActorSystem) {
	old := sys.ProcessRegistry.LocalPIDs
	small := &actor.SliceMap{LocalPIDs: make([]cmap.ConcurrentMap, registryBuckets)}
	for i := range small.LocalPIDs {
		small.LocalPIDs[i] = cmap.New()
	}
	for _, bucket := range old.LocalPIDs {
		// Items starts a goroutine per shard; nearly every map is empty,
		// and counting takes only the shards' locks.
		if bucket.IsEmpty() {
			continue
		}
		for id, proc := range bucket.Items() {
			small.GetBucket(id).Set(id, proc)
		}
	}
	sys.ProcessRegistry.LocalPIDs = small
}

// Root is the context for talking to actors from outside any actor: Send,
// Request, RequestFuture. Code outside actors may block on a future; code
// inside an actor must not.
func (s *System) Root() *actor.RootContext { return s.sys.Root }

// RootPID is the root supervisor's PID.
func (s *System) RootPID() *actor.PID { return s.root }

// Spawn starts an actor as a child of the root supervisor.
func (s *System) Spawn(props *actor.Props, name string) (*actor.PID, error) {
	if s.Closed() {
		return nil, ErrClosed
	}
	reply, err := s.sys.Root.RequestFuture(s.root, &spawnChild{props: props, name: name}, 10*time.Second).Result()
	if err != nil {
		if s.Closed() {
			return nil, ErrClosed
		}
		return nil, fmt.Errorf("actors: spawn %q: %w", name, err)
	}
	r := reply.(*spawnResult)
	if r.err != nil {
		return nil, fmt.Errorf("actors: spawn %q: %w", name, r.err)
	}
	return r.pid, nil
}

// Closed reports whether Close has finished stopping the tree.
func (s *System) Closed() bool {
	select {
	case <-s.stopped:
		return true
	default:
		return false
	}
}

// Close stops every actor, children before parents, and returns once the
// root has stopped or ctx ends. It is idempotent.
func (s *System) Close(ctx context.Context) error {
	if !s.Closed() {
		s.sys.Root.Stop(s.root)
	}
	select {
	case <-s.stopped:
		if !s.sys.IsStopped() {
			s.sys.Shutdown()
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("actors: close %s: %w", s.name, ctx.Err())
	}
}

// Props builds props with mosaik's defaults: an unbounded mailbox (see the
// package doc for why), a dispatcher that reuses worker goroutines while
// messages flow, and any further options given.
func Props(producer actor.Producer, opts ...actor.PropsOption) *actor.Props {
	opts = append([]actor.PropsOption{
		actor.WithMailbox(actor.Unbounded()),
		actor.WithDispatcher(sharedDispatcher),
	}, opts...)
	return actor.PropsFromProducer(producer, opts...)
}

// spawnChild asks the root to spawn a child; children of the root must be
// spawned from inside it so that it supervises them.
type spawnChild struct {
	props *actor.Props
	name  string
}

type spawnResult struct {
	pid *actor.PID
	err error
}

// rootActor supervises the node's subsystems. protoactor delivers Stopped
// to it only after every child has terminated, which is what Close waits
// for.
type rootActor struct {
	stopped chan struct{}
}

func (r *rootActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *spawnChild:
		pid, err := ctx.SpawnNamed(m.props, m.name)
		ctx.Respond(&spawnResult{pid: pid, err: err})
	case *actor.Stopped:
		close(r.stopped)
	}
}
