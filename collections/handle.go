package collections

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/collections/internal/store"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/actors"
	"github.com/mosaikgo/mosaik/statemachine"
)

// spec is what tells one collection from another besides its store id:
// its kind, element codecs and (for a queue) capacity. It makes the
// state machine signature.
type spec struct {
	kind     store.Kind
	capacity int
	codecs   string // names of the element codecs, see codec.go
}

func (s spec) signature() id.Digest {
	return id.Of("mosaik/collections/v1").
		Derive([]byte(s.kind.String())).
		Derive([]byte(s.codecs)).
		Derive(fmt.Appendf(nil, "capacity=%d", s.capacity))
}

// membership is one node's membership of one collection's group, shared
// by the handles of that collection on that node: the group admits one
// join per node (Join is idempotent per group id), so its replica, and
// the live state the replica publishes, are shared too.
type membership struct {
	key     membershipKey
	core    *cluster.Group
	live    *live
	reader  bool
	handles int // under registry.mu
}

type membershipKey struct {
	node  *cluster.Node
	group id.GroupID
}

var registry struct {
	sync.Mutex
	joined map[membershipKey]*membership
}

// groupConfig is the group a collection is hosted by.
func groupConfig(def Def, sp spec, reader bool, l *live) (cluster.GroupConfig, error) {
	key, err := groups.KeyFromBytes(def.Store.Derive([]byte("mosaik/collections/key")).Bytes())
	if err != nil {
		return cluster.GroupConfig{}, fmt.Errorf("collections: group key: %w", err)
	}
	sig := sp.signature()
	return cluster.GroupConfig{
		Key:       key,
		Consensus: def.Config.Consensus,
		Machine: func() statemachine.Machine {
			return &machine{sig: sig, state: store.State{Kind: sp.kind, Capacity: sp.capacity}, live: l}
		},
		Tickets:         def.Config.Tickets,
		Authorize:       def.Config.Authorize,
		Leadership:      actors.LeadershipPreference{Observer: reader},
		StrictQuorum:    def.Config.StrictQuorum,
		ReplaceAfter:    def.Config.ReplaceAfter,
		SnapshotEntries: def.Config.SnapshotEntries,
	}, nil
}

// handle is what every typed writer and reader holds: a share of the
// node's membership of the collection, and its own life.
type handle struct {
	m *membership
	// life ends when the handle is closed; waits hang off it.
	life context.Context
	end  context.CancelFunc
	once sync.Once
}

// open joins the collection's group on node, or shares the membership
// the node has already.
func open(ctx context.Context, node *cluster.Node, def Def, sp spec, reader bool) (*handle, error) {
	if err := def.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l := newLive(sp.kind, sp.capacity)
	cfg, err := groupConfig(def, sp, reader, l)
	if err != nil {
		return nil, err
	}
	key := membershipKey{node: node, group: cfg.ID()}
	registry.Lock()
	defer registry.Unlock()
	m := registry.joined[key]
	if m != nil && m.core.Context().Err() != nil {
		m = nil // the group ended under it (node closed): join anew
	}
	if m == nil {
		l.metrics = newMemberMetrics(node.Metrics(), sp.kind, node.NetworkID().Short(), key.group.Short())
		core, err := node.Join(ctx, cfg)
		if err != nil {
			l.metrics.forget()
			return nil, fmt.Errorf("collections: join %s: %w", sp.kind, err)
		}
		m = &membership{key: key, core: core, live: l, reader: reader}
		if registry.joined == nil {
			registry.joined = map[membershipKey]*membership{}
		}
		registry.joined[key] = m
	} else if m.reader != reader {
		return nil, ErrRole
	}
	m.handles++
	life, end := context.WithCancel(context.Background())
	return &handle{m: m, life: life, end: end}, nil
}

// close releases the handle; the last handle of a membership leaves the
// group.
func (h *handle) close(ctx context.Context) error {
	var leave bool
	h.once.Do(func() {
		h.end()
		registry.Lock()
		h.m.handles--
		if h.m.handles == 0 {
			leave = true
			if registry.joined[h.m.key] == h.m {
				delete(registry.joined, h.m.key)
			}
		}
		registry.Unlock()
	})
	if !leave {
		return nil
	}
	h.m.live.metrics.forget()
	if err := h.m.core.Leave(ctx); err != nil && !errors.Is(err, actors.ErrGroupLeft) {
		return fmt.Errorf("collections: leave: %w", err)
	}
	return nil
}

func (h *handle) load() *view { return h.m.live.load() }

// write sends cmd through the group and returns its version once this
// member has applied it. input is handed back in a WriteError when the
// command was not sent.
func write[T any](ctx context.Context, h *handle, input T, cmd store.Command) (Version, error) {
	if h.life.Err() != nil {
		return 0, ErrClosed
	}
	idx, err := h.m.core.ProposeEntry(ctx, statemachine.EncodeSingle(cmd.Encode()))
	switch {
	case err == nil:
		return Version(idx), nil
	case errors.Is(err, actors.ErrOffline):
		return 0, &WriteError[T]{Input: input, Err: ErrOffline}
	}
	return 0, fmt.Errorf("collections: write: %w", err)
}

// encodeError hands input back with a codec failure.
func encodeError[T any](input T, err error) error {
	return &WriteError[T]{Input: input, Err: err}
}

// When waits for conditions on a collection. Every wait takes a ctx,
// returns nil at once when its condition holds already, ctx's error when
// ctx ends first, and ErrClosed once the handle is closed.
type When struct{ h *handle }

// withLife is ctx, also cancelled when the handle closes (no goroutine:
// the handle's life cancels it through context.AfterFunc).
func (w *When) withLife(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(w.h.life, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

func (w *When) result(err error) error {
	if w.h.life.Err() != nil {
		return ErrClosed
	}
	return err
}

func (w *When) consensus(ctx context.Context, cond func(actors.Consensus) bool) error {
	if err := w.result(nil); err != nil {
		return err
	}
	ctx, cancel := w.withLife(ctx)
	defer cancel()
	_, err := w.h.m.core.WaitConsensus(ctx, cond)
	return w.result(err)
}

// Online: this member has joined the collection's group and knows a
// leader: writes can be sent, and the local state follows the group's.
func (w *When) Online(ctx context.Context) error {
	return w.consensus(ctx, actors.Consensus.Online)
}

// Offline: writes cannot be sent now.
func (w *When) Offline(ctx context.Context) error {
	return w.consensus(ctx, func(c actors.Consensus) bool { return !c.Online() })
}

// version waits until the local state's version satisfies cond.
func (w *When) version(ctx context.Context, cond func(Version) bool) error {
	if err := w.result(nil); err != nil {
		return err
	}
	ctx, cancel := w.withLife(ctx)
	defer cancel()
	_, err := w.h.m.live.v.Wait(ctx, func(v *view) bool { return cond(v.version) })
	return w.result(err)
}

// Updated: the local state changed since Updated was called (a write was
// applied or a snapshot installed).
func (w *When) Updated(ctx context.Context) error {
	was := w.h.load()
	if err := w.result(nil); err != nil {
		return err
	}
	ctx, cancel := w.withLife(ctx)
	defer cancel()
	_, err := w.h.m.live.v.Wait(ctx, func(v *view) bool { return v != was })
	return w.result(err)
}

// Reaches: the local state reflects version v (or later): every write
// that returned a version up to v is visible.
func (w *When) Reaches(ctx context.Context, v Version) error {
	return w.version(ctx, func(cur Version) bool { return cur >= v })
}
