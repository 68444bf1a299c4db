package collections

import (
	"bytes"
	"errors"
	"io"

	"github.com/mosaikgo/mosaik/collections/internal/store"
	"github.com/mosaikgo/mosaik/feed"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/statemachine"
)

// errNoQueries: collections read their local state directly, never
// through the group's query path.
var errNoQueries = errors.New("collections: queries are answered locally")

// view is one published state of a collection and the version it
// reflects. Views are immutable; readers load the latest one.
type view struct {
	state   store.State
	version Version
}

// live is where a member's replica publishes its state for the member's
// handles to read. A replica's machine is replaced (restarted, rejoined)
// over the handle's life; every machine publishes here.
type live struct {
	v       *feed.Value[*view]
	metrics *memberMetrics
}

func newLive(kind store.Kind, capacity int) *live {
	return &live{v: feed.NewValue(&view{state: store.State{Kind: kind, Capacity: capacity}})}
}

func (l *live) load() *view { return l.v.Get() }

func (l *live) publish(v *view) {
	l.v.Set(v)
	l.metrics.setSize(v.state.Len())
}

// machine is a collection's replicated state machine at the byte level.
// It keeps its state as a persistent tree (store.State): applying a
// batch builds the next state and publishes it in one pointer swap, a
// snapshot captures the current state in O(1) and writes it out while
// later batches apply, and a restore builds the whole received state
// before it publishes it, so readers see the old state or the new one,
// never a part.
type machine struct {
	sig     id.Digest
	state   store.State
	version Version
	live    *live
}

var (
	_ statemachine.Machine          = (*machine)(nil)
	_ statemachine.SnapshotPreparer = (*machine)(nil)
)

func (m *machine) Signature() id.Digest { return m.sig }

func (m *machine) Apply(ctx statemachine.ApplyContext, cmds [][]byte) []error {
	// One transient edit per batch: nodes made for earlier commands of
	// the batch are updated in place. Nothing outside this call holds a
	// root made during it until publish, and the next batch gets a new
	// edit, so published and captured states never change.
	e := new(store.Edit)
	var errs []error
	for i, b := range cmds {
		// The state keeps the command's keys and values, which alias
		// it; dragonboat owns the entry's bytes, so keep a copy (one
		// allocation per command, shared by its arguments).
		c, err := store.DecodeCommand(bytes.Clone(b))
		if err == nil {
			m.state, err = m.state.ApplyEdit(e, c)
		}
		if err != nil {
			if errs == nil {
				errs = make([]error, len(cmds))
			}
			errs[i] = err
		}
	}
	m.version = Version(ctx.LastIndex())
	m.live.publish(&view{state: m.state, version: m.version})
	return errs
}

func (m *machine) Query([]byte) ([]byte, error) { return nil, errNoQueries }

func (m *machine) Snapshot(w io.Writer) error {
	return store.WriteSnapshot(w, m.state, uint64(m.version))
}

// PrepareSnapshot keeps the current root: O(1), whatever the size.
func (m *machine) PrepareSnapshot() func(io.Writer) error {
	state, version := m.state, m.version
	return func(w io.Writer) error { return store.WriteSnapshot(w, state, uint64(version)) }
}

func (m *machine) Restore(r io.Reader) error {
	m.live.metrics.syncStarted()
	state, version, err := store.ReadSnapshot(r, m.state.Kind, m.state.Capacity)
	if err != nil {
		return err
	}
	m.state, m.version = state, Version(version)
	m.live.publish(&view{state: state, version: m.version})
	return nil
}
