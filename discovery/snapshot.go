package discovery

import (
	"maps"
	"slices"
	"sync"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
)

// Snapshot is an immutable view of the catalog at one moment: the local
// entry and every visible peer's. Readers hold it as long as they like;
// newer views replace it, they never change it.
type Snapshot struct {
	seq     uint64
	local   Signed
	peers   map[id.PeerID]Signed
	changed chan struct{} // closed when a newer snapshot is published
}

// Seq grows with every change; two snapshots with one Seq are equal.
func (s *Snapshot) Seq() uint64 { return s.seq }

// Local is this node's own entry.
func (s *Snapshot) Local() Entry { return s.local.Entry() }

// Len counts every entry in the view, the local one included.
func (s *Snapshot) Len() int { return len(s.peers) + 1 }

// Peers returns the other nodes' entries, ordered by peer id.
func (s *Snapshot) Peers() []Entry {
	out := make([]Entry, 0, len(s.peers))
	for _, p := range slices.SortedFunc(maps.Keys(s.peers), id.PeerID.Compare) {
		out = append(out, s.peers[p].Entry())
	}
	return out
}

// Get returns one entry by peer id, the local one included.
func (s *Snapshot) Get(p id.PeerID) (Entry, bool) {
	if p == s.local.Peer() {
		return s.local.Entry(), true
	}
	e, ok := s.peers[p]
	if !ok {
		return Entry{}, false
	}
	return e.Entry(), true
}

// Signed returns one entry with its signature, for passing on.
func (s *Snapshot) Signed(p id.PeerID) (Signed, bool) {
	if p == s.local.Peer() {
		return s.local, true
	}
	e, ok := s.peers[p]
	return e, ok
}

// LocalSigned is this node's own entry with its signature.
func (s *Snapshot) LocalSigned() Signed { return s.local }

// State encodes the view for push-pull: our own entry and every peer's.
func (s *Snapshot) State(network id.NetworkID) *messages.CatalogState {
	st := &messages.CatalogState{NetworkId: network.Proto(), Sender: s.local.Peer().Proto()}
	st.Entries = append(st.Entries, s.local.Proto())
	for _, p := range slices.SortedFunc(maps.Keys(s.peers), id.PeerID.Compare) {
		st.Entries = append(st.Entries, s.peers[p].Proto())
	}
	return st
}

// Changed is closed once a newer snapshot has been published, so a reader
// can wait for the next change without polling. A snapshot that was never
// published through a [Watch] returns nil (a channel that never fires).
func (s *Snapshot) Changed() <-chan struct{} { return s.changed }

// Watch publishes snapshots to concurrent readers: one writer calls
// Publish, any number of readers call Current and wait on the snapshot's
// Changed channel. Publish never blocks.
type Watch struct {
	mu  sync.Mutex
	cur *Snapshot
}

// NewWatch returns a watch whose current snapshot is first.
func NewWatch(first *Snapshot) *Watch {
	w := &Watch{}
	w.Publish(first)
	return w
}

// Publish makes s current and wakes everyone waiting on the previous
// snapshot. Publishing the snapshot that is already current does nothing.
func (w *Watch) Publish(s *Snapshot) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s == w.cur {
		return
	}
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	if w.cur != nil {
		close(w.cur.changed)
	}
	w.cur = s
}

// Current returns the latest snapshot.
func (w *Watch) Current() *Snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur
}
