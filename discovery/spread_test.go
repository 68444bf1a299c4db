package discovery

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/id"
)

func TestFanOutTo(t *testing.T) {
	ps := func(ns ...int) []id.PeerID {
		var out []id.PeerID
		for _, n := range ns {
			out = append(out, peerAt(n))
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		peer    int
		members []int
		limit   int
		want    []int
	}{
		{"none", 0, nil, 4, nil},
		{"only the peer itself", 2, []int{2}, 4, nil},
		{"all but the peer, in order", 2, []int{4, 1, 2, 3}, 4, []int{1, 3, 4}},
		{"duplicates once", 0, []int{1, 1, 3}, 4, []int{1, 3}},
		{"capped: starts after the peer", 2, []int{0, 1, 3, 4, 5}, 2, []int{3, 4}},
		{"capped: wraps", 4, []int{0, 1, 3, 5}, 3, []int{5, 0, 1}},
		{"capped: peer after every member", 9, []int{0, 1, 3}, 2, []int{0, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := FanOutTo(peerAt(tc.peer), ps(tc.members...), tc.limit)
			if want := ps(tc.want...); !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", names(got), names(want))
			}
		})
	}
}

func names(ps []id.PeerID) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Short())
	}
	return strings.Join(out, " ")
}

func TestPushBack(t *testing.T) {
	w := newWorld(t, "a", "b", "c", "d", "big")
	a, b, c, d := w.entry("a", 5), w.entry("b", 5), w.entry("c", 5), w.entry("d", 5)
	big, err := Sign(Entry{Network: testNet, Peer: w.keys["big"].PeerID(), Version: 5, Addrs: []string{strings.Repeat("x", 600)}}, w.keys["big"])
	if err != nil {
		t.Fatal(err)
	}
	held := []Signed{d, c, big, b, a}
	listing := func(ss ...Signed) func(id.Digest) bool {
		return func(dg id.Digest) bool {
			return slices.ContainsFunc(ss, func(s Signed) bool { return s.Digest() == dg })
		}
	}
	sorted := func(ss ...Signed) []Signed {
		slices.SortFunc(ss, func(x, y Signed) int { return x.Peer().Compare(y.Peer()) })
		return ss
	}
	for _, tc := range []struct {
		name     string
		listed   func(id.Digest) bool
		sender   id.PeerID
		maxN     int
		maxBytes int
		want     []Signed
	}{
		{"a joiner listing only itself gets the rest", listing(a), a.Peer(), 16, 1 << 20, sorted(b, c, d, big)},
		{"the sender's own entry never goes back", listing(), a.Peer(), 16, 1 << 20, sorted(b, c, d, big)},
		{"listed entries stay", listing(a, b, c, d, big), a.Peer(), 16, 1 << 20, nil},
		{"another version listed: ours goes", listing(a, w.entry("b", 4)), a.Peer(), 16, 1 << 20, sorted(b, c, d, big)},
		{"capped in count", listing(a), a.Peer(), 2, 1 << 20, sorted(b, c, d, big)[:2]},
		{"capped in bytes: the big one is skipped", listing(a), a.Peer(), 16, b.Size() + c.Size() + d.Size(), sorted(b, c, d)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PushBack(held, tc.listed, tc.sender, tc.maxN, tc.maxBytes)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d entries, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if got[i].Digest() != tc.want[i].Digest() {
					t.Fatalf("entry %d is %s's, want %s's", i, w.name(got[i].Peer()), w.name(tc.want[i].Peer()))
				}
			}
		})
	}
}

// A PushBacks script: each step adds, takes or ends one push-back and
// states what the queue does.
func TestPushBacks(t *testing.T) {
	w := newWorld(t, "e")
	e := []Signed{w.entry("e", 1)}
	to := func(n int, addr string) PushBackTo { return PushBackTo{Peer: peerAt(n), Addr: addr, Entries: e} }
	q := NewPushBacks(2, 2, time.Second)
	t0 := time.Unix(1000, 0)
	now := t0
	type step struct {
		name string
		do   func() string
		want string
	}
	add := func(p PushBackTo) func() string {
		return func() string {
			if q.Add(p, now) {
				return "queued"
			}
			return "dropped"
		}
	}
	next := func() string {
		p, ok := q.Next(now)
		if !ok {
			return "none"
		}
		return p.Peer.Short() + "@" + p.Addr
	}
	done := func(n int) func() string { return func() string { q.Done(peerAt(n)); return "" } }
	at := func(d time.Duration) func() string { return func() string { now = t0.Add(d); return "" } }
	for _, s := range []step{
		{"nothing waits", next, "none"},
		{"no entries: nothing to push", add(PushBackTo{Peer: peerAt(1)}), "dropped"},
		{"first", add(to(1, "x")), "queued"},
		{"second", add(to(2, "x")), "queued"},
		{"full", add(to(3, "x")), "dropped"},
		{"a newer one for a waiting peer replaces it", add(to(1, "y")), "queued"},
		{"oldest first, newest version", next, peerAt(1).Short() + "@y"},
		{"again for the running peer: started too recently", add(to(1, "z")), "dropped"},
		{"the other peer runs", next, peerAt(2).Short() + "@x"},
		{"two run: no third", next, "none"},
		{"both end", func() string { q.Done(peerAt(1)); q.Done(peerAt(2)); return "" }, ""},
		{"still within the interval of peer 1's start", add(to(1, "z")), "dropped"},
		{"an interval later", at(time.Second), ""},
		{"peer 1 may have another", add(to(1, "z")), "queued"},
		{"it runs", next, peerAt(1).Short() + "@z"},
		{"peer 3 queues behind nothing", add(to(3, "x")), "queued"},
		{"one per peer running: peer 1 again waits for its own", add(to(1, "w")), "dropped"},
		{"peer 3 runs", next, peerAt(3).Short() + "@x"},
		{"peer 3 ends", done(3), ""},
	} {
		if got := s.do(); got != s.want {
			t.Fatalf("%s: got %q, want %q", s.name, got, s.want)
		}
	}
	if q.Dropped() != 4 || q.Waiting() != 0 || q.Running() != 1 {
		t.Fatalf("dropped %d, waiting %d, running %d; want 4, 0, 1", q.Dropped(), q.Waiting(), q.Running())
	}
}
