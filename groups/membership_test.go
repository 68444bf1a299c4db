package groups

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"lukechampine.com/blake3"

	"github.com/mosaikgo/mosaik/id"
)

// peerN is a peer id that sorts by n: peerN(1) < peerN(2) < ...
func peerN(n int) id.PeerID {
	var p id.PeerID
	p[0] = byte(n)
	p[id.PeerIDSize-1] = 0xaa
	return p
}

// genesisN is a genesis that sorts by n, never zero for n >= 1.
func genesisN(n int) Genesis {
	var g Genesis
	g[0] = byte(n)
	return g
}

func TestNewGenesis(t *testing.T) {
	a, err := NewGenesis(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewGenesis(nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.IsZero() || b.IsZero() || a == b {
		t.Fatalf("crypto/rand geneses %s and %s", a, b)
	}

	var seed [32]byte
	x, _ := NewGenesis(rand.NewChaCha8(seed))
	y, _ := NewGenesis(rand.NewChaCha8(seed))
	if x != y || x.IsZero() {
		t.Fatalf("a seeded reader gave %s then %s", x, y)
	}

	// A zero draw reads as "unknown", so it is drawn again.
	zeroThenOne := io.MultiReader(bytes.NewReader(make([]byte, GenesisSize)), bytes.NewReader(genesisN(7).Bytes()))
	if g, err := NewGenesis(zeroThenOne); err != nil || g != genesisN(7) {
		t.Fatalf("after a zero draw: %s, %v", g, err)
	}
	if _, err := NewGenesis(bytes.NewReader(make([]byte, 100*GenesisSize))); !errors.Is(err, ErrBadGenesis) {
		t.Fatalf("an all-zero source: %v", err)
	}
	if _, err := NewGenesis(bytes.NewReader([]byte{1, 2, 3})); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a short source: %v", err)
	}
}

func TestGenesisForms(t *testing.T) {
	g := genesisN(0xab)
	g[GenesisSize-1] = 1
	if s := g.String(); len(s) != 2*GenesisSize || !strings.HasPrefix(s, "ab") {
		t.Fatalf("String() = %q", s)
	}
	if g.Short() != g.String()[:10] {
		t.Fatalf("Short() = %q", g.Short())
	}
	if p, err := ParseGenesis(g.String()); err != nil || p != g {
		t.Fatalf("ParseGenesis(String()) = %s, %v", p, err)
	}
	for _, s := range []string{"", "ab", g.String() + "00", strings.Repeat("zz", GenesisSize)} {
		if _, err := ParseGenesis(s); !errors.Is(err, ErrBadGenesis) {
			t.Errorf("ParseGenesis(%q): %v", s, err)
		}
	}

	if (Genesis{}).Bytes() != nil {
		t.Fatal("the zero genesis has a wire form; want empty (knows none)")
	}
	wire := g.Bytes()
	wire[0] = 0
	if g[0] != 0xab {
		t.Fatal("Bytes aliases the genesis")
	}
	for _, tc := range []struct {
		in   []byte
		want Genesis
		err  bool
	}{
		{nil, Genesis{}, false},
		{[]byte{}, Genesis{}, false},
		{g.Bytes(), g, false},
		{make([]byte, GenesisSize), Genesis{}, false},
		{make([]byte, GenesisSize-1), Genesis{}, true},
		{make([]byte, 32), Genesis{}, true},
	} {
		got, err := GenesisFromBytes(tc.in)
		if (err != nil) != tc.err || (err != nil && !errors.Is(err, ErrBadGenesis)) || got != tc.want {
			t.Errorf("GenesisFromBytes(%d bytes) = %s, %v", len(tc.in), got, err)
		}
	}

	lo, hi := genesisN(1), genesisN(2)
	if lo.Compare(hi) != -1 || hi.Compare(lo) != 1 || lo.Compare(lo) != 0 || !lo.Less(hi) || hi.Less(lo) {
		t.Fatal("Compare/Less disagree with byte order")
	}
	if !(Genesis{}).IsZero() || lo.IsZero() {
		t.Fatal("IsZero")
	}
}

func FuzzGenesisFromBytes(f *testing.F) {
	f.Add([]byte{})
	f.Add(genesisN(1).Bytes())
	f.Add(make([]byte, 17))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := GenesisFromBytes(b)
		if err != nil {
			if len(b) == 0 || len(b) == GenesisSize {
				t.Fatalf("refused %d bytes: %v", len(b), err)
			}
			return
		}
		if !bytes.Equal(g.Bytes(), b) && !(g.IsZero() && bytes.Equal(b, make([]byte, len(b)))) {
			t.Fatalf("%x read back as %x", b, g.Bytes())
		}
	})
}

func TestHash64NeverZero(t *testing.T) {
	var d id.Digest
	if got := hash64(d); got != 1 {
		t.Fatalf("all-zero digest: %d, want 1", got)
	}
	d[15] = 7 // the first word is zero, the second is 7
	if got := hash64(d); got != 7 {
		t.Fatalf("zero first word: %d, want the second word 7", got)
	}
	d[0] = 0x12
	if got := hash64(d); got != 0x12<<56 {
		t.Fatalf("first word: %#x", got)
	}
}

func TestShardAndReplicaIDsFollowTheDerivation(t *testing.T) {
	group, g := id.Of("group"), genesisN(9)
	sum := blake3.Sum256(append(group.Bytes(), g[:]...))
	if got, want := ShardID(group, g), binary.BigEndian.Uint64(sum[:8]); got != want {
		t.Fatalf("ShardID = %#x, want %#x", got, want)
	}
	peer := peerN(3)
	sum = blake3.Sum256(binary.BigEndian.AppendUint64(peer.Bytes(), 42))
	if got, want := ReplicaID(peer, 42), binary.BigEndian.Uint64(sum[:8]); got != want {
		t.Fatalf("ReplicaID = %#x, want %#x", got, want)
	}
	// Pinned: these ids are on disk and in every Raft message, so a change
	// of derivation must be deliberate.
	if got := ShardID(id.Digest{}, Genesis{1}); got != 0x7da324ff8c709714 {
		t.Fatalf("ShardID(zero group, genesis 01) = %#x", got)
	}
	if got := ReplicaID(id.PeerID{}, 0); got != 0x352bd266dae53c6e {
		t.Fatalf("ReplicaID(zero peer, 0) = %#x", got)
	}
}

func TestShardAndReplicaIDsAreDeterministicDistinctAndNonZero(t *testing.T) {
	const groups, geneses = 50, 2000 // 100k shard ids
	seen := make(map[uint64]struct{}, groups*geneses)
	for i := range groups {
		group := id.Of("group-" + string(rune('a'+i%26)) + string(rune('a'+i/26)))
		for j := range geneses {
			var g Genesis
			binary.BigEndian.PutUint64(g[8:], uint64(j+1))
			s := ShardID(group, g)
			if s == 0 {
				t.Fatalf("ShardID(%s, %s) = 0", group.Short(), g)
			}
			if s != ShardID(group, g) {
				t.Fatal("ShardID is not deterministic")
			}
			if _, dup := seen[s]; dup {
				t.Fatalf("ShardID collision at group %d genesis %d", i, j)
			}
			seen[s] = struct{}{}
		}
	}

	const peers, incarnations = 1000, 100 // 100k replica ids
	seen = make(map[uint64]struct{}, peers*incarnations)
	for i := range peers {
		var p id.PeerID
		binary.BigEndian.PutUint32(p[:], uint32(i))
		for inc := range uint64(incarnations) {
			r := ReplicaID(p, inc)
			if r == 0 {
				t.Fatalf("ReplicaID(%d, %d) = 0", i, inc)
			}
			if r != ReplicaID(p, inc) {
				t.Fatal("ReplicaID is not deterministic")
			}
			if _, dup := seen[r]; dup {
				t.Fatalf("ReplicaID collision at peer %d incarnation %d", i, inc)
			}
			seen[r] = struct{}{}
		}
	}
}

func TestShouldBootstrap(t *testing.T) {
	delay := 3 * time.Second
	self := peerN(5)
	none := func(ns ...int) []PeerGenesis {
		var b []PeerGenesis
		for _, n := range ns {
			b = append(b, PeerGenesis{Peer: peerN(n)})
		}
		return b
	}
	tests := []struct {
		name   string
		knows  bool
		bonded []PeerGenesis
		waited time.Duration
		want   bool
	}{
		{"alone after the delay", false, nil, delay, true},
		{"alone before the delay", false, nil, delay - 1, false},
		{"alone long after", false, nil, time.Hour, true},
		{"self knows a genesis", true, nil, time.Hour, false},
		{"lowest among bonded", false, none(6, 9, 200), delay, true},
		{"a lower bonded member", false, none(6, 4), delay, false},
		{"lowest but too early", false, none(6), delay - time.Millisecond, false},
		{"a higher bonded member knows a genesis", false, []PeerGenesis{{Peer: peerN(9), Genesis: genesisN(1)}}, delay, false},
		{"a lower one knows a genesis", false, []PeerGenesis{{Peer: peerN(1), Genesis: genesisN(1)}}, delay, false},
		{"self and zero entries are ignored", false, []PeerGenesis{{Peer: self}, {}}, delay, true},
	}
	for _, tc := range tests {
		if got := ShouldBootstrap(self, tc.knows, tc.bonded, tc.waited, delay); got != tc.want {
			t.Errorf("%s: ShouldBootstrap = %v, want %v", tc.name, got, tc.want)
		}
	}
	if !ShouldBootstrap(self, false, nil, 0, 0) {
		t.Error("a zero delay should bootstrap at once")
	}
}

// TestExactlyOneBootstraps: of members that all bond with one another and
// know no genesis, exactly one (the lowest) bootstraps.
func TestExactlyOneBootstraps(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		peers := make([]id.PeerID, 1+r.IntN(8))
		for i := range peers {
			peers[i] = peerN(1 + r.IntN(250))
		}
		slices.SortFunc(peers, func(a, b id.PeerID) int { return a.Compare(b) })
		peers = slices.Compact(peers)
		count := 0
		for _, self := range peers {
			var bonded []PeerGenesis
			for _, p := range peers {
				if p != self {
					bonded = append(bonded, PeerGenesis{Peer: p})
				}
			}
			if ShouldBootstrap(self, false, bonded, time.Second, time.Second) {
				count++
				if self != peers[0] {
					t.Fatalf("%s bootstraps, not the lowest %s", self.Short(), peers[0].Short())
				}
			}
		}
		if count != 1 {
			t.Fatalf("%d of %d members bootstrap", count, len(peers))
		}
	}
}

func TestJoinTarget(t *testing.T) {
	p := func(peer, genesis int, committed uint64) PeerGenesis {
		pg := PeerGenesis{Peer: peerN(peer), Committed: committed}
		if genesis > 0 {
			pg.Genesis = genesisN(genesis)
		}
		return pg
	}
	tests := []struct {
		name   string
		bonded []PeerGenesis
		want   int // genesisN(want); 0 = none
	}{
		{"nobody", nil, 0},
		{"nobody knows one", []PeerGenesis{p(1, 0, 0), p(2, 0, 0)}, 0},
		{"one genesis", []PeerGenesis{p(1, 0, 0), p(2, 4, 0)}, 4},
		{"indexes unknown: the lower genesis", []PeerGenesis{p(1, 9, 0), p(2, 4, 0), p(3, 7, 0)}, 4},
		{"the longer log", []PeerGenesis{p(1, 4, 10), p(2, 9, 11)}, 9},
		{"equal logs: the lower genesis", []PeerGenesis{p(1, 9, 10), p(2, 4, 10)}, 4},
		{"the best report of a genesis counts", []PeerGenesis{p(1, 4, 12), p(2, 9, 11), p(3, 4, 0)}, 4},
		{"a known index beats an unknown one", []PeerGenesis{p(1, 2, 0), p(2, 9, 1)}, 9},
	}
	for _, tc := range tests {
		g, ok := JoinTarget(tc.bonded)
		if tc.want == 0 {
			if ok || !g.IsZero() {
				t.Errorf("%s: JoinTarget = %s, %v; want none", tc.name, g, ok)
			}
			continue
		}
		if !ok || g != genesisN(tc.want) {
			t.Errorf("%s: JoinTarget = %s, %v; want %s", tc.name, g, ok, genesisN(tc.want))
		}
	}
}

func TestWinner(t *testing.T) {
	c := func(g int, committed uint64) ShardClaim {
		var gen Genesis
		if g > 0 {
			gen = genesisN(g)
		}
		return ShardClaim{Genesis: gen, Committed: committed}
	}
	tests := []struct {
		name       string
		a, b, want ShardClaim
	}{
		{"the longer log", c(1, 5), c(2, 9), c(2, 9)},
		{"the longer log, other side", c(2, 9), c(1, 5), c(2, 9)},
		{"a tie goes to the lower genesis", c(2, 7), c(1, 7), c(1, 7)},
		{"a genesis beats none, however long", c(0, 100), c(3, 0), c(3, 0)},
		{"the same shard", c(3, 4), c(3, 6), c(3, 6)},
		{"identical", c(3, 4), c(3, 4), c(3, 4)},
	}
	for _, tc := range tests {
		if got := Winner(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: Winner = %+v, want %+v", tc.name, got, tc.want)
		}
		if Winner(tc.a, tc.b) != Winner(tc.b, tc.a) {
			t.Errorf("%s: Winner is not commutative", tc.name)
		}
		if tc.a != tc.b && tc.a.Beats(tc.b) == tc.b.Beats(tc.a) {
			t.Errorf("%s: Beats is not a strict order", tc.name)
		}
	}
}

func TestResolveRivals(t *testing.T) {
	if w, l := ResolveRivals(nil); !w.Genesis.IsZero() || l != nil {
		t.Fatalf("no claims: %+v, %v", w, l)
	}
	if w, l := ResolveRivals([]ShardClaim{{Committed: 9}}); !w.Genesis.IsZero() || l != nil {
		t.Fatalf("only the zero genesis: %+v, %v", w, l)
	}
	claims := []ShardClaim{
		{genesisN(3), 10},
		{genesisN(1), 4},
		{genesisN(2), 10},
		{genesisN(1), 12}, // the same shard as above, reported later
		{Genesis{}, 99},
	}
	w, losers := ResolveRivals(claims)
	if want := (ShardClaim{genesisN(1), 12}); w != want {
		t.Fatalf("winner %+v, want %+v", w, want)
	}
	if want := []ShardClaim{{genesisN(2), 10}, {genesisN(3), 10}}; !slices.Equal(losers, want) {
		t.Fatalf("losers %+v, want %+v", losers, want)
	}
}

// resolveByHand is the reference for ResolveRivals: merge by genesis with
// a map, then pick the best by a plain scan.
func resolveByHand(claims []ShardClaim) ShardClaim {
	best := map[Genesis]uint64{}
	for _, c := range claims {
		if !c.Genesis.IsZero() && c.Committed >= best[c.Genesis] {
			best[c.Genesis] = c.Committed
		}
	}
	var w ShardClaim
	for g, committed := range best {
		if w.Genesis.IsZero() || committed > w.Committed || (committed == w.Committed && g.Less(w.Genesis)) {
			w = ShardClaim{g, committed}
		}
	}
	return w
}

func permutations(n int, visit func([]int)) {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	var rec func(k int)
	rec = func(k int) {
		if k == n {
			visit(p)
			return
		}
		for i := k; i < n; i++ {
			p[k], p[i] = p[i], p[k]
			rec(k + 1)
			p[k], p[i] = p[i], p[k]
		}
	}
	rec(0)
}

func TestResolveRivalsIsOrderIndependent(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 60 {
		// Few geneses and indexes, so ties and repeats are common.
		claims := make([]ShardClaim, 1+r.IntN(6))
		for i := range claims {
			claims[i] = ShardClaim{Genesis: genesisN(r.IntN(4)), Committed: uint64(r.IntN(3))}
		}
		wantW, wantL := ResolveRivals(claims)
		if ref := resolveByHand(claims); wantW != ref {
			t.Fatalf("%+v: winner %+v, reference %+v", claims, wantW, ref)
		}
		folded := ShardClaim{}
		for _, c := range claims {
			folded = Winner(folded, c)
		}
		if folded.Genesis != wantW.Genesis {
			t.Fatalf("%+v: folding Winner gives %+v, ResolveRivals %+v", claims, folded, wantW)
		}
		permutations(len(claims), func(p []int) {
			perm := make([]ShardClaim, len(claims))
			for i, j := range p {
				perm[i] = claims[j]
			}
			w, l := ResolveRivals(perm)
			if w != wantW || !slices.Equal(l, wantL) {
				t.Fatalf("order %v of %+v: %+v %+v, want %+v %+v", p, claims, w, l, wantW, wantL)
			}
		})
	}
}

func TestQuorum(t *testing.T) {
	for voters, want := range map[int]int{-1: 0, 0: 0, 1: 1, 2: 2, 3: 2, 4: 3, 5: 3, 6: 4, 7: 4} {
		if got := Quorum(voters); got != want {
			t.Errorf("Quorum(%d) = %d, want %d", voters, got, want)
		}
	}
}

// Member builders for the committee tables: replica ids are 100+n for
// members in the config and 200+n for new incarnations asking to join.
func voter(n int) Member {
	return Member{Peer: peerN(n), Replica: uint64(100 + n), Voter: true, CaughtUp: true, Alive: true}
}

func nonVoter(n int) Member {
	return Member{Peer: peerN(n), Replica: uint64(100 + n), CaughtUp: true, Alive: true}
}

func joiner(n int) Member {
	return Member{Peer: peerN(n), Replica: uint64(200 + n), Alive: true, Joining: true}
}

func observer(m Member) Member { m.Observer = true; return m }
func lagging(m Member) Member  { m.CaughtUp = false; return m }
func downFor(m Member, d time.Duration) Member {
	m.Alive, m.DeadFor = false, d
	return m
}

func TestNextChange(t *testing.T) {
	const deadAfter = 10 * time.Second
	dead := func(m Member) Member { return downFor(m, deadAfter) }
	suspect := func(m Member) Member { return downFor(m, deadAfter-1) }
	ms := func(m ...Member) []Member { return m }
	add := func(n int) *ConfigChange { return &ConfigChange{AddNonVoting, peerN(n), uint64(200 + n)} }
	promote := func(n int) *ConfigChange { return &ConfigChange{Promote, peerN(n), uint64(100 + n)} }
	remove := func(n int) *ConfigChange { return &ConfigChange{Remove, peerN(n), uint64(100 + n)} }

	tests := []struct {
		name      string
		members   []Member
		leader    int
		maxVoters int
		want      *ConfigChange // nil: no change
	}{
		// Stable committees.
		{"a lone leader", ms(voter(1)), 1, 5, nil},
		{"three voters", ms(voter(1), voter(2), voter(3)), 2, 5, nil},
		{"five voters and spares", ms(voter(1), voter(2), voter(3), voter(4), voter(5), nonVoter(6), nonVoter(7)), 1, 5, nil},
		{"one voter, one spare: two would be even", ms(voter(1), nonVoter(2)), 1, 5, nil},
		{"three voters, one spare", ms(voter(1), voter(2), voter(3), nonVoter(4)), 1, 5, nil},

		// Growth.
		{"add a joiner", ms(voter(1), joiner(2)), 1, 5, add(2)},
		{"add the lowest joiner first", ms(voter(1), joiner(3), joiner(2)), 1, 5, add(2)},
		{"1 to 3: promote the lowest ready", ms(voter(1), nonVoter(3), nonVoter(2)), 1, 5, promote(2)},
		{"2 on the way to 3", ms(voter(1), voter(2), nonVoter(3)), 1, 5, promote(3)},
		{"3 to 5", ms(voter(1), voter(2), voter(3), nonVoter(4), nonVoter(5)), 1, 5, promote(4)},
		{"promotion before adds", ms(voter(1), nonVoter(2), nonVoter(3), joiner(4)), 1, 5, promote(2)},
		{"a lagging replica is not promoted", ms(voter(1), nonVoter(2), lagging(nonVoter(3))), 1, 5, nil},
		{"a dead joiner is not added", ms(voter(1), downFor(joiner(2), time.Second)), 1, 5, nil},
		{"a joiner already in the config", ms(voter(1), nonVoter(2), Member{Peer: peerN(2), Replica: 102, Joining: true, Alive: true}), 1, 5, nil},
		{"the cap is respected", ms(voter(1), voter(2), voter(3), nonVoter(4), nonVoter(5)), 1, 3, nil},
		{"an even cap is lowered", ms(voter(1), voter(2), voter(3), nonVoter(4), nonVoter(5)), 1, 4, nil},
		{"zero cap means 5", ms(voter(1), voter(2), voter(3), nonVoter(4), nonVoter(5)), 1, 0, promote(4)},

		// Observers.
		{"an observer is added", ms(voter(1), observer(joiner(2))), 1, 5, add(2)},
		{"an observer is never promoted", ms(voter(1), observer(nonVoter(2)), observer(nonVoter(3))), 1, 5, nil},
		{"observers are skipped for promotion", ms(voter(1), observer(nonVoter(2)), nonVoter(3), nonVoter(4)), 1, 5, promote(3)},
		{"a seated observer makes room", ms(voter(1), observer(voter(2)), voter(3), nonVoter(4)), 1, 5, promote(4)},
		{"then gives up its seat", ms(voter(1), observer(voter(2)), voter(3), voter(4)), 1, 5, remove(2)},
		{"a seated observer without a replacement", ms(voter(1), observer(voter(2)), voter(3)), 1, 5, nil},
		{"an observer leader keeps its seat", ms(observer(voter(1)), voter(2), voter(3), nonVoter(4)), 1, 5, nil},

		// Failures.
		{"a dead voter is removed", ms(voter(1), voter(2), dead(voter(3)), nonVoter(4)), 1, 5, remove(3)},
		{"and replaced", ms(voter(1), voter(2), nonVoter(4)), 1, 5, promote(4)},
		{"a suspect voter is kept", ms(voter(1), voter(2), suspect(voter(3)), nonVoter(4)), 1, 5, nil},
		{"dead voters before dead non-voters", ms(voter(1), voter(2), dead(voter(4)), dead(nonVoter(3))), 1, 5, remove(4)},
		{"a dead non-voter is removed", ms(voter(1), dead(nonVoter(2))), 1, 5, remove(2)},
		{"removals before promotions", ms(voter(1), voter(2), voter(3), dead(voter(4)), voter(5), nonVoter(6)), 1, 5, remove(4)},
		{"no quorum, no change", ms(voter(1), dead(voter(2)), dead(voter(3))), 1, 5, nil},
		{"no quorum counting suspects", ms(voter(1), suspect(voter(2)), dead(voter(3)), nonVoter(4)), 1, 5, nil},
		{"the leader is never removed, even seen as dead", ms(dead(voter(1)), voter(2), voter(3)), 1, 5, nil},
		{"a superseded replica goes first", ms(voter(1), voter(2), voter(3), joiner(3)), 1, 5, remove(3)},
		{"then its new replica is added", ms(voter(1), voter(2), joiner(3)), 1, 5, add(3)},
		{"a superseded non-voter", ms(voter(1), nonVoter(2), joiner(2)), 1, 5, remove(2)},

		// Shrinking.
		{"even without prospects shrinks, not the leader", ms(voter(1), voter(2)), 2, 5, remove(1)},
		{"even drops the highest", ms(voter(1), voter(2), voter(3), voter(4)), 1, 5, remove(4)},
		{"even drops a suspect first", ms(voter(1), suspect(voter(2)), voter(3), voter(4)), 1, 5, remove(2)},
		{"even waits for a joiner", ms(voter(1), voter(2), joiner(3)), 1, 5, add(3)},
		{"even waits for a lagging replica", ms(voter(1), voter(2), lagging(nonVoter(3))), 1, 5, nil},
		{"an observer joiner is no prospect", ms(voter(1), voter(2), voter(3), voter(4), observer(nonVoter(5))), 1, 5, remove(4)},
		{"over the cap", ms(voter(1), voter(2), voter(3), voter(4), voter(5)), 5, 3, remove(4)},
		{"over the cap, the observer first", ms(voter(1), voter(2), observer(voter(3)), voter(4), voter(5)), 1, 3, remove(3)},

		// Inconsistent views.
		{"the leader is not a voter", ms(nonVoter(1), voter(2), voter(3)), 1, 5, nil},
		{"the leader is unknown", ms(voter(2), voter(3), voter(4)), 1, 5, nil},
	}
	for _, tc := range tests {
		got, ok := NextChange(tc.members, peerN(tc.leader), tc.maxVoters, deadAfter)
		switch {
		case tc.want == nil && ok:
			t.Errorf("%s: NextChange = %v, want none", tc.name, got)
		case tc.want != nil && !ok:
			t.Errorf("%s: NextChange = none, want %v", tc.name, *tc.want)
		case tc.want != nil && got != *tc.want:
			t.Errorf("%s: NextChange = %v, want %v", tc.name, got, *tc.want)
		}
		// The answer must not depend on the order of the input.
		rev := slices.Clone(tc.members)
		slices.Reverse(rev)
		if again, ok2 := NextChange(rev, peerN(tc.leader), tc.maxVoters, deadAfter); again != got || ok2 != ok {
			t.Errorf("%s: reversed input gives %v, %v", tc.name, again, ok2)
		}
	}
}

// cluster is a toy shard for driving NextChange to a fixed point: config
// changes apply at once, added replicas are caught up at once, and a live
// member whose replica is removed rejoins under a new incarnation.
type cluster struct {
	t           *testing.T
	leader      id.PeerID
	maxVoters   int
	deadAfter   time.Duration
	members     []Member
	incarnation map[id.PeerID]uint64
	changes     []ConfigChange
}

func (c *cluster) index(ch ConfigChange) int {
	return slices.IndexFunc(c.members, func(m Member) bool { return m.Peer == ch.Peer && m.Replica == ch.Replica })
}

func (c *cluster) voters() (all, live int) {
	for _, m := range c.members {
		if m.Voter && !m.Joining {
			all++
			superseded := slices.ContainsFunc(c.members, func(o Member) bool {
				return o.Joining && o.Peer == m.Peer && o.Replica != m.Replica
			})
			if m.Peer == c.leader || (m.Alive && !superseded) {
				live++
			}
		}
	}
	return all, live
}

// settle applies NextChange until it has nothing to say, checking every
// change on the way.
func (c *cluster) settle() {
	c.t.Helper()
	for step := 0; ; step++ {
		if step > 10*len(c.members)+10 {
			c.t.Fatalf("no fixed point after %d changes: %v", step, c.changes)
		}
		ch, ok := NextChange(c.members, c.leader, c.maxVoters, c.deadAfter)
		if !ok {
			return
		}
		c.changes = append(c.changes, ch)
		i := c.index(ch)
		if i < 0 {
			c.t.Fatalf("%v names no member", ch)
		}
		m := c.members[i]
		switch ch.Kind {
		case AddNonVoting:
			if !m.Joining || !m.Alive {
				c.t.Fatalf("%v adds %+v", ch, m)
			}
			m.Joining, m.Voter, m.CaughtUp = false, false, true
			c.members[i] = m
		case Promote:
			if m.Joining || m.Voter || m.Observer || !m.CaughtUp || !m.Alive {
				c.t.Fatalf("%v promotes %+v", ch, m)
			}
			c.members[i].Voter = true
		case Remove:
			if m.Peer == c.leader || m.Joining {
				c.t.Fatalf("%v removes %+v", ch, m)
			}
			c.members = slices.Delete(c.members, i, i+1)
			superseded := slices.ContainsFunc(c.members, func(o Member) bool { return o.Peer == m.Peer })
			if m.Alive && !superseded {
				c.incarnation[m.Peer]++
				c.members = append(c.members, Member{
					Peer: m.Peer, Replica: ReplicaID(m.Peer, c.incarnation[m.Peer]),
					Observer: m.Observer, Alive: true, Joining: true,
				})
			}
		}
		if all, live := c.voters(); live < Quorum(all) {
			c.t.Fatalf("%v leaves %d live voters of %d", ch, live, all)
		}
		if all, _ := c.voters(); ch.Kind == Promote && all > voterCap(c.maxVoters)+1 {
			c.t.Fatalf("%v makes %d voters, cap %d", ch, all, c.maxVoters)
		}
	}
}

func (c *cluster) voterPeers() []id.PeerID {
	var v []id.PeerID
	for _, m := range c.members {
		if m.Voter && !m.Joining {
			v = append(v, m.Peer)
		}
	}
	slices.SortFunc(v, func(a, b id.PeerID) int { return a.Compare(b) })
	return v
}

func newCluster(t *testing.T, leader int, maxVoters int, members ...Member) *cluster {
	return &cluster{t: t, leader: peerN(leader), maxVoters: maxVoters, deadAfter: 10 * time.Second,
		members: members, incarnation: map[id.PeerID]uint64{}}
}

func TestCommitteeGrowsOneThreeFive(t *testing.T) {
	// The leader bootstrapped alone; six more ask to join.
	c := newCluster(t, 4, 5, voter(4), joiner(1), joiner(2), joiner(3), joiner(5), joiner(6), joiner(7))
	c.settle()
	if want := []id.PeerID{peerN(1), peerN(2), peerN(3), peerN(4), peerN(5)}; !slices.Equal(c.voterPeers(), want) {
		t.Fatalf("voters %v, want the leader and the four lowest", c.voterPeers())
	}
	var sizes []int
	voters := 1
	for _, ch := range c.changes {
		if ch.Kind == Promote {
			voters++
			sizes = append(sizes, voters)
		}
		if ch.Kind == Remove {
			t.Fatalf("growth removed %v", ch)
		}
	}
	if !slices.Equal(sizes, []int{2, 3, 4, 5}) {
		t.Fatalf("committee sizes %v", sizes)
	}

	// A voter dies for good: it is removed and the lowest spare replaces it.
	i := slices.IndexFunc(c.members, func(m Member) bool { return m.Peer == peerN(2) })
	c.members[i] = downFor(c.members[i], time.Minute)
	c.changes = nil
	c.settle()
	if want := []id.PeerID{peerN(1), peerN(3), peerN(4), peerN(5), peerN(6)}; !slices.Equal(c.voterPeers(), want) {
		t.Fatalf("after a death: voters %v, changes %v", c.voterPeers(), c.changes)
	}
	if len(c.changes) != 2 || c.changes[0].Kind != Remove || c.changes[1].Kind != Promote {
		t.Fatalf("replacing a dead voter took %v", c.changes)
	}

	// Nothing more to do.
	if ch, ok := NextChange(c.members, c.leader, 5, c.deadAfter); ok {
		t.Fatalf("a settled committee changes: %v", ch)
	}
}

// TestCommitteeSettlesOdd drives random views to a fixed point: every
// change keeps a live quorum, observers are never promoted, the leader is
// never removed, and at rest the committee is odd and within the cap.
func TestCommitteeSettlesOdd(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	skipped := 0
	for round := range 500 {
		n := 1 + r.IntN(9)
		leader := 1 + r.IntN(n)
		maxVoters := r.IntN(8) // 0 means the default
		var members []Member
		for p := 1; p <= n; p++ {
			var m Member
			switch {
			case p == leader:
				m = voter(p)
			case r.IntN(3) == 0:
				m = voter(p)
			case r.IntN(2) == 0:
				m = nonVoter(p)
			default:
				m = joiner(p)
			}
			if p != leader && r.IntN(5) == 0 {
				m = downFor(m, time.Duration(r.IntN(20))*time.Second)
			}
			if r.IntN(5) == 0 {
				m.Observer = true
			}
			members = append(members, m)
			if p != leader && !m.Joining && r.IntN(10) == 0 {
				members = append(members, joiner(p)) // a new incarnation asks in
			}
		}
		c := newCluster(t, leader, maxVoters, members...)
		c.settle()
		all, live := c.voters()
		if !slices.Contains(c.voterPeers(), c.leader) {
			t.Fatalf("round %d: the leader lost its seat: %v", round, c.changes)
		}
		if live < Quorum(all) {
			// Without a live quorum from the start nothing may change.
			if len(c.changes) > 0 {
				t.Fatalf("round %d: changed %v without a live quorum", round, c.changes)
			}
			skipped++
			continue
		}
		if all%2 == 0 || all > voterCap(maxVoters) {
			t.Fatalf("round %d: settled on %d voters (cap %d) after %v", round, all, maxVoters, c.changes)
		}
	}
	if skipped > 100 {
		t.Fatalf("%d of 500 views had no live quorum; the test checks too little", skipped)
	}
	t.Logf("%d of 500 views had no live quorum", skipped)
}

func TestReformThreshold(t *testing.T) {
	if got, want := ReformThreshold(ConsensusConfig{}), 2*time.Second+500*time.Millisecond+3*time.Second; got != want {
		t.Fatalf("default: %v, want %v", got, want)
	}
	f := FastConsensus()
	if got := ReformThreshold(f); got != f.ElectionTimeout+f.ElectionJitter+f.BootstrapDelay {
		t.Fatalf("fast: %v", got)
	}
}

func TestChangeStrings(t *testing.T) {
	for k, want := range map[ChangeKind]string{AddNonVoting: "add-non-voting", Promote: "promote", Remove: "remove", 0: "unknown"} {
		if k.String() != want {
			t.Errorf("%d.String() = %q", k, k.String())
		}
	}
	s := ConfigChange{Kind: Promote, Peer: peerN(1), Replica: 7}.String()
	if s != "promote "+peerN(1).Short()+"/7" {
		t.Fatalf("ConfigChange.String() = %q", s)
	}
}

// TestPromotionsPending: the committee is still to grow while a live
// member that may vote, ready or not, would get a seat by NextChange's
// rules; then no non-voting member has finished joining.
func TestPromotionsPending(t *testing.T) {
	const deadAfter = 10 * time.Second
	ms := func(m ...Member) []Member { return m }
	for _, tc := range []struct {
		name    string
		members []Member
		want    bool
	}{
		{"a lone leader", ms(voter(1)), false},
		{"two members: one voter is the committee", ms(voter(1), nonVoter(2)), false},
		{"a joiner of two", ms(voter(1), joiner(2)), false},
		{"three members, two not yet voting", ms(voter(1), nonVoter(2), nonVoter(3)), true},
		{"a lagging third is still due", ms(voter(1), nonVoter(2), lagging(nonVoter(3))), true},
		{"a joining third is due too", ms(voter(1), nonVoter(2), joiner(3)), true},
		{"three voters", ms(voter(1), voter(2), voter(3)), false},
		{"three voters and a fourth", ms(voter(1), voter(2), voter(3), nonVoter(4)), false},
		{"three voters and two more", ms(voter(1), voter(2), voter(3), nonVoter(4), joiner(5)), true},
		{"five voters and spares", ms(voter(1), voter(2), voter(3), voter(4), voter(5), nonVoter(6), nonVoter(7)), false},
		{"a dead spare is not due", ms(voter(1), nonVoter(2), downFor(nonVoter(3), deadAfter)), false},
		{"observers never are", ms(voter(1), observer(nonVoter(2)), observer(nonVoter(3))), false},
		{"a view without the leader as voter", ms(nonVoter(1), nonVoter(2)), true},
	} {
		if got := PromotionsPending(tc.members, peerN(1), 5, deadAfter); got != tc.want {
			t.Errorf("%s: PromotionsPending = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestFailoverBound: the fast profile's bound, from its parts.
func TestFailoverBound(t *testing.T) {
	c := FastConsensus()
	// 1 s detection + 1.1 s threshold + 2 x 600 ms elections + 1 s
	// forward timeout + 2 x 100 ms heartbeats.
	if got, want := FailoverBound(c), 4500*time.Millisecond; got != want {
		t.Fatalf("FailoverBound(fast) = %v, want %v", got, want)
	}
	if FailoverBound(ConsensusConfig{}) != FailoverBound(DefaultConsensus()) {
		t.Fatal("zero fields do not take the defaults")
	}
}

func TestShouldBootstrapEarly(t *testing.T) {
	const quiet = 200 * time.Millisecond
	self := peerN(5)
	ready := func(n int) FoundingPeer { return FoundingPeer{Peer: peerN(n), Bonded: true, Idle: true} }
	tests := []struct {
		name     string
		members  []FoundingPeer
		quietFor time.Duration
		want     bool
	}{
		{"lowest of bonded idle members, quiet", []FoundingPeer{ready(6), ready(9)}, quiet, true},
		{"not quiet long enough", []FoundingPeer{ready(6)}, quiet - 1, false},
		{"alone: waits the delay", nil, time.Hour, false},
		{"a lower member", []FoundingPeer{ready(6), ready(4)}, quiet, false},
		{"a member not bonded", []FoundingPeer{ready(6), {Peer: peerN(7), Idle: true}}, quiet, false},
		{"a member not heard", []FoundingPeer{ready(6), {Peer: peerN(7), Bonded: true}}, quiet, false},
	}
	for _, tc := range tests {
		if got := ShouldBootstrapEarly(self, tc.members, tc.quietFor, quiet); got != tc.want {
			t.Errorf("%s: ShouldBootstrapEarly = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestAtMostOneFoundsEarly: of members that each see some of the others,
// where seeing is mutual (a bond has two ends), no two that see each
// other both found a shard early.
func TestAtMostOneFoundsEarly(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		n := 2 + r.IntN(6)
		peers := make([]id.PeerID, n)
		for i := range peers {
			peers[i] = peerN(1 + i*7)
		}
		sees := make([][]bool, n)
		for i := range sees {
			sees[i] = make([]bool, n)
		}
		for i := range n {
			for j := i + 1; j < n; j++ {
				if r.IntN(2) == 0 {
					sees[i][j], sees[j][i] = true, true
				}
			}
		}
		founds := make([]bool, n)
		for i := range n {
			var members []FoundingPeer
			for j := range n {
				if sees[i][j] {
					members = append(members, FoundingPeer{Peer: peers[j], Bonded: true, Idle: true})
				}
			}
			founds[i] = ShouldBootstrapEarly(peers[i], members, time.Second, time.Second)
		}
		for i := range n {
			for j := range n {
				if i != j && sees[i][j] && founds[i] && founds[j] {
					t.Fatalf("%s and %s see each other and both found a shard", peers[i].Short(), peers[j].Short())
				}
			}
		}
	}
}
