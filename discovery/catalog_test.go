package discovery

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/id"
)

// A catalog script: each step feeds one input at a logical time and
// states the events it must cause and the peers visible afterwards.
type step struct {
	at      time.Duration // since t0
	do      func(c *Catalog, now time.Time) []Event
	want    []string // event summaries
	visible []string // names of visible peers
}

type world struct {
	t    *testing.T
	keys map[string]id.SecretKey
}

func newWorld(t *testing.T, names ...string) *world {
	w := &world{t: t, keys: map[string]id.SecretKey{}}
	for _, n := range names {
		w.keys[n] = id.SecretKeyFromSeed(n)
	}
	return w
}

func (w *world) name(p id.PeerID) string {
	for n, k := range w.keys {
		if k.PeerID() == p {
			return n
		}
	}
	return p.Short()
}

func (w *world) entry(name string, version uint64, tags ...string) Signed {
	return signedEntry(w.t, w.keys[name], version, tags...)
}

func (w *world) offer(name string, version uint64) func(*Catalog, time.Time) []Event {
	return func(c *Catalog, now time.Time) []Event {
		ev, _ := c.Offer(w.entry(name, version), now)
		return ev
	}
}

func (w *world) farewell(name string, version uint64) func(*Catalog, time.Time) []Event {
	return func(c *Catalog, now time.Time) []Event {
		e := w.entry(name, version).Entry()
		e.Departing = true
		s, err := Sign(e, w.keys[name])
		if err != nil {
			w.t.Fatal(err)
		}
		ev, _ := c.Offer(s, now)
		return ev
	}
}

func (w *world) alive(name string, headVersion uint64) func(*Catalog, time.Time) []Event {
	return func(c *Catalog, now time.Time) []Event {
		var h Head
		if headVersion > 0 {
			h = HeadOf(w.entry(name, headVersion))
		}
		ev, _ := c.Alive(w.keys[name].PeerID(), h, now)
		return ev
	}
}

func (w *world) gone(name string, left bool) func(*Catalog, time.Time) []Event {
	return func(c *Catalog, now time.Time) []Event { return c.Gone(w.keys[name].PeerID(), left, now) }
}

func tick(c *Catalog, now time.Time) []Event {
	ev, _ := c.Tick(now)
	return ev
}

func (w *world) summarize(evs []Event) []string {
	var out []string
	for _, ev := range evs {
		switch e := ev.(type) {
		case PeerDiscovered:
			out = append(out, "discovered "+w.name(e.Entry.Peer))
		case PeerUpdated:
			out = append(out, "updated "+w.name(e.Entry.Peer))
		case PeerDeparted:
			out = append(out, "departed "+w.name(e.Entry.Peer)+" "+e.Reason.String())
		}
	}
	return out
}

func TestCatalogScripts(t *testing.T) {
	const purge = 10 * time.Second
	tests := []struct {
		name  string
		steps func(w *world) []step
	}{
		{"relayed entry is visible, then confirmed", func(w *world) []step {
			return []step{
				{0, w.offer("b", 1), []string{"discovered b"}, []string{"b"}},
				{time.Second, w.alive("b", 1), nil, []string{"b"}},
				{purge * 2, tick, nil, []string{"b"}}, // confirmed entries never go stale
			}
		}},
		{"older and equal versions are ignored", func(w *world) []step {
			return []step{
				{0, w.offer("b", 5), []string{"discovered b"}, []string{"b"}},
				{0, w.offer("b", 4), nil, []string{"b"}},
				{0, w.offer("b", 5), nil, []string{"b"}},
				{0, w.offer("b", 6), []string{"updated b"}, []string{"b"}},
			}
		}},
		{"liveness before the entry: visible once the entry arrives", func(w *world) []step {
			return []step{
				{0, w.alive("b", 3), nil, nil},
				{0, w.offer("b", 3), []string{"discovered b"}, []string{"b"}},
			}
		}},
		{"death departs at once, return with the same entry rediscovers", func(w *world) []step {
			return []step{
				{0, w.offer("b", 1), []string{"discovered b"}, []string{"b"}},
				{0, w.alive("b", 1), nil, []string{"b"}},
				{time.Second, w.gone("b", false), []string{"departed b dead"}, nil},
				{time.Second, w.offer("b", 1), nil, nil}, // a relay of the old entry does not resurrect it
				{2 * time.Second, w.alive("b", 1), []string{"discovered b"}, []string{"b"}},
			}
		}},
		{"graceful leave", func(w *world) []step {
			return []step{
				{0, w.offer("b", 1), []string{"discovered b"}, []string{"b"}},
				{0, w.gone("b", true), []string{"departed b left"}, nil},
				{0, w.gone("b", true), nil, nil},
			}
		}},
		{"a newer entry after departure means the peer is back", func(w *world) []step {
			return []step{
				{0, w.offer("b", 1), []string{"discovered b"}, []string{"b"}},
				{0, w.gone("b", false), []string{"departed b dead"}, nil},
				{time.Second, w.offer("b", 2), []string{"discovered b"}, []string{"b"}},
			}
		}},
		{"unconfirmed entries go stale after PurgeAfter", func(w *world) []step {
			return []step{
				{0, w.offer("b", 1), []string{"discovered b"}, []string{"b"}},
				{5 * time.Second, w.offer("b", 2), []string{"updated b"}, []string{"b"}}, // news restarts the clock
				{14 * time.Second, tick, nil, []string{"b"}},
				{15 * time.Second, tick, []string{"departed b stale"}, nil},
				{16 * time.Second, w.offer("b", 2), []string{"discovered b"}, []string{"b"}}, // rediscovered
			}
		}},
		{"departed entries are forgotten after PurgeAfter", func(w *world) []step {
			return []step{
				{0, w.offer("b", 1), []string{"discovered b"}, []string{"b"}},
				{0, w.gone("b", false), []string{"departed b dead"}, nil},
				{purge, tick, nil, nil},
				// Forgotten: liveness alone no longer shows it; the entry must come again.
				{purge + time.Second, w.alive("b", 1), nil, nil},
				{purge + time.Second, w.offer("b", 1), []string{"discovered b"}, []string{"b"}},
			}
		}},
		{"a farewell entry departs as left and outranks a later death notice", func(w *world) []step {
			return []step{
				{0, w.offer("b", 1), []string{"discovered b"}, []string{"b"}},
				{0, w.alive("b", 1), nil, []string{"b"}},
				{time.Second, w.farewell("b", 2), []string{"departed b left"}, nil},
				{time.Second, w.gone("b", false), nil, nil},
				{time.Second, w.alive("b", 2), nil, nil},                                    // memberlist lags behind the farewell
				{time.Second, w.offer("b", 1), nil, nil},                                    // stale relays stay out
				{2 * time.Second, w.offer("b", 3), []string{"discovered b"}, []string{"b"}}, // restarted
			}
		}},
		{"own entry is never listed as a peer", func(w *world) []step {
			return []step{
				{0, w.offer("self", 99), nil, nil},
				{0, w.alive("self", 99), nil, nil},
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, "self", "b", "c")
			c := NewCatalog(w.entry("self", 1), purge)
			for i, s := range tc.steps(w) {
				got := w.summarize(s.do(c, t0.Add(s.at)))
				if !reflect.DeepEqual(got, s.want) {
					t.Fatalf("step %d: events %v, want %v", i, got, s.want)
				}
				var vis []string
				for _, e := range c.Snapshot().Peers() {
					vis = append(vis, w.name(e.Peer))
				}
				if !reflect.DeepEqual(vis, s.visible) {
					t.Fatalf("step %d: visible %v, want %v", i, vis, s.visible)
				}
			}
		})
	}
}

func TestCatalogFetchesWhenHeadIsNewer(t *testing.T) {
	w := newWorld(t, "self", "b")
	c := NewCatalog(w.entry("self", 1), time.Minute)
	c.Offer(w.entry("b", 1), t0)
	if _, fetch := c.Alive(w.keys["b"].PeerID(), HeadOf(w.entry("b", 1)), t0); fetch {
		t.Fatal("fetch asked for although the head matches")
	}
	if _, fetch := c.Alive(w.keys["b"].PeerID(), HeadOf(w.entry("b", 2, "new")), t0); !fetch {
		t.Fatal("no fetch for a newer head")
	}
	if got := c.Outdated(t0); len(got) != 1 || got[0] != w.keys["b"].PeerID() {
		t.Fatalf("Outdated = %v", got)
	}
	if got := c.Outdated(t0.Add(-time.Millisecond)); len(got) != 0 {
		t.Fatalf("Outdated within the grace = %v", got)
	}
	c.Offer(w.entry("b", 2, "new"), t0)
	if !c.Holds(w.entry("b", 2, "new").Digest()) || c.Holds(w.entry("b", 1).Digest()) {
		t.Fatal("Holds does not follow the entry held")
	}
	if got := c.Outdated(t0); len(got) != 0 {
		t.Fatalf("Outdated after the fetch = %v", got)
	}
}

func TestCatalogHoldsHead(t *testing.T) {
	w := newWorld(t, "self", "b", "c")
	c := NewCatalog(w.entry("self", 1), time.Minute)
	b1, b2 := w.entry("b", 1), w.entry("b", 2)
	c.Offer(b1, t0)
	forged := HeadOf(b1)
	forged.Peer = w.keys["c"].PeerID() // b's entry under c's name
	for _, tc := range []struct {
		name string
		head Head
		want bool
	}{
		{"the entry held", HeadOf(b1), true},
		{"a newer one", HeadOf(b2), false},
		{"an unknown peer", HeadOf(w.entry("c", 1)), false},
		{"a held digest under another peer", forged, false},
		{"a held digest at another version", Head{Peer: b1.Peer(), Version: 2, Entry: b1.Digest()}, false},
		{"our own", HeadOf(w.entry("self", 1)), false},
	} {
		if got := c.HoldsHead(tc.head); got != tc.want {
			t.Errorf("%s: HoldsHead = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCatalogReportsOwnEntryBehind(t *testing.T) {
	w := newWorld(t, "self")
	c := NewCatalog(w.entry("self", 10), time.Minute)
	if _, behind := c.Offer(w.entry("self", 10), t0); behind {
		t.Fatal("our own current entry reported as ahead")
	}
	if _, behind := c.Offer(w.entry("self", 9), t0); behind {
		t.Fatal("an older own entry reported as ahead")
	}
	if _, behind := c.Offer(w.entry("self", 12), t0); !behind {
		t.Fatal("a newer own entry from a previous run went unnoticed")
	}
}

func TestSnapshotIsImmutableAndWatchWakes(t *testing.T) {
	w := newWorld(t, "self", "b")
	c := NewCatalog(w.entry("self", 1), time.Minute)
	watch := NewWatch(c.Snapshot())
	first := watch.Current()
	if first.Len() != 1 {
		t.Fatalf("Len = %d, want 1 (the local entry)", first.Len())
	}
	c.Offer(w.entry("b", 1), t0)
	watch.Publish(c.Snapshot())
	select {
	case <-first.Changed():
	default:
		t.Fatal("publishing did not close the old snapshot's Changed channel")
	}
	if first.Len() != 1 || watch.Current().Len() != 2 {
		t.Fatalf("old snapshot changed (%d) or new one wrong (%d)", first.Len(), watch.Current().Len())
	}
	if _, ok := watch.Current().Get(w.keys["b"].PeerID()); !ok {
		t.Fatal("Get misses b")
	}
	e, _ := watch.Current().Get(w.keys["b"].PeerID())
	e.Addrs[0] = "tampered"
	if again, _ := watch.Current().Get(w.keys["b"].PeerID()); again.Addrs[0] == "tampered" {
		t.Fatal("a caller's change leaked into the snapshot")
	}
	if st := watch.Current().State(testNet); len(st.Entries) != 2 {
		t.Fatalf("State has %d entries, want 2", len(st.Entries))
	}
}

// TestCatalogBounds scripts a catalog bounded to two peers: newcomers take
// departed peers' places, confirmed ones also unconfirmed peers' places,
// and anyone else is refused.
func TestCatalogBounds(t *testing.T) {
	w := newWorld(t, "self", "b", "c", "d", "e")
	c := NewCatalog(w.entry("self", 1), time.Minute)
	c.Limit(2, 0)
	steps := []step{
		{0, w.offer("b", 1), []string{"discovered b"}, []string{"b"}},
		{time.Second, w.offer("c", 1), []string{"discovered c"}, []string{"b", "c"}},
		// Full: an unconfirmed newcomer is refused; updates still pass.
		{2 * time.Second, w.offer("d", 1), nil, []string{"b", "c"}},
		{2 * time.Second, w.offer("b", 2), []string{"updated b"}, []string{"b", "c"}},
		// A departed peer's kept entry makes room for a newcomer.
		{3 * time.Second, w.gone("c", false), []string{"departed c dead"}, []string{"b"}},
		{4 * time.Second, w.offer("d", 1), []string{"discovered d"}, []string{"b", "d"}},
		// Failure detection confirms e: the longest-unconfirmed peer (b,
		// relayed since 2 s) departs as stale to make room.
		{5 * time.Second, w.alive("e", 0), []string{"departed b stale"}, []string{"d"}},
		{5 * time.Second, w.offer("e", 1), []string{"discovered e"}, []string{"d", "e"}},
		// Now d is the only unconfirmed peer and e is confirmed: another
		// relayed newcomer is refused.
		{6 * time.Second, w.offer("c", 2), nil, []string{"d", "e"}},
	}
	for i, s := range steps {
		got := w.summarize(s.do(c, t0.Add(s.at)))
		if !reflect.DeepEqual(got, s.want) {
			t.Fatalf("step %d: events %v, want %v", i, got, s.want)
		}
		var vis []string
		for _, e := range c.Snapshot().Peers() {
			vis = append(vis, w.name(e.Peer))
		}
		slices.Sort(vis) // Peers is in peer id order, the script in name order
		if !reflect.DeepEqual(vis, s.visible) {
			t.Fatalf("step %d: visible %v, want %v", i, vis, s.visible)
		}
	}
	if got := c.Refused(); got != 2 {
		t.Fatalf("Refused = %d, want 2", got)
	}
	// Admits tells the same without counting: c is refused, listed d
	// still passes; once e departs, its place admits c.
	if c.Admits(w.keys["c"].PeerID(), 100) || !c.Admits(w.keys["d"].PeerID(), 100) {
		t.Fatal("Admits disagrees with Offer on a full catalog")
	}
	c.Gone(w.keys["e"].PeerID(), true, t0.Add(7*time.Second))
	if !c.Admits(w.keys["c"].PeerID(), 100) || c.Refused() != 2 {
		t.Fatal("Admits refuses a newcomer a departed peer's place, or counted")
	}
}

// TestCatalogByteBound bounds the catalog to the bytes of two entries and
// checks the count stays exact through updates and purges.
func TestCatalogByteBound(t *testing.T) {
	w := newWorld(t, "self", "b", "c", "d")
	c := NewCatalog(w.entry("self", 1), time.Minute)
	size := w.entry("b", 1).Size()
	c.Limit(0, 2*size+size/2)
	c.Offer(w.entry("b", 1), t0)
	c.Offer(w.entry("c", 1), t0)
	if ev, _ := c.Offer(w.entry("d", 1), t0); len(ev) != 0 || c.Refused() != 1 {
		t.Fatalf("third entry: events %v, refused %d; want refused", w.summarize(ev), c.Refused())
	}
	if c.Bytes() != w.entry("b", 1).Size()+w.entry("c", 1).Size() {
		t.Fatalf("Bytes = %d", c.Bytes())
	}
	// An update that grows past the bound is refused too; the old entry
	// stays.
	big := w.entry("b", 2, "a long tag name", "another long tag name", "and a third one")
	if ev, _ := c.Offer(big, t0); len(ev) != 0 {
		t.Fatalf("oversized update: %v", w.summarize(ev))
	}
	// Stale purges give the bytes back.
	c.Tick(t0.Add(2 * time.Minute))
	if c.Bytes() != 0 || c.Snapshot().Len() != 1 {
		t.Fatalf("after the purge: %d bytes, %d entries", c.Bytes(), c.Snapshot().Len())
	}
	if ev, _ := c.Offer(big, t0.Add(2*time.Minute)); len(ev) != 1 {
		t.Fatal("an entry that fits was refused after the purge")
	}
}
