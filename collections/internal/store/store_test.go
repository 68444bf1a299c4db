package store

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

func b(s string) []byte { return []byte(s) }

func cmd(op Op, args ...string) Command {
	c := Command{Op: op}
	for _, a := range args {
		if a == "<nil>" {
			c.Args = append(c.Args, nil)
		} else {
			c.Args = append(c.Args, b(a))
		}
	}
	return c
}

// contents lists a state's entries as "k=v" (or "v" for a vec).
func contents(s State) []string {
	var out []string
	Ascend(s.Items, 0, func(n *Node) bool {
		switch s.Kind {
		case KindVec:
			out = append(out, string(n.Val))
		case KindSet:
			out = append(out, string(n.Key))
		case KindPriorityQueue:
			p, v, _ := DecodePriorityValue(n.Val)
			out = append(out, fmt.Sprintf("%s=%s@%s", n.Key, v, p))
		default:
			out = append(out, string(n.Key)+"="+string(n.Val))
		}
		return true
	})
	return out
}

// checkTree verifies the AVL and size invariants, and order for ordered
// trees.
func checkTree(t *testing.T, n *Node, ordered bool) {
	t.Helper()
	var walk func(n *Node) (int8, int)
	walk = func(n *Node) (int8, int) {
		if n == nil {
			return 0, 0
		}
		hl, sl := walk(n.left)
		hr, sr := walk(n.right)
		if d := hl - hr; d > 1 || d < -1 {
			t.Fatalf("unbalanced node %q: %d vs %d", n.Key, hl, hr)
		}
		if n.height != max(hl, hr)+1 || n.size != sl+sr+1 {
			t.Fatalf("bad height or size at %q", n.Key)
		}
		return n.height, n.size
	}
	walk(n)
	if ordered {
		var prev []byte
		first := true
		Ascend(n, 0, func(x *Node) bool {
			if !first && bytes.Compare(prev, x.Key) >= 0 {
				t.Fatalf("out of order: %q then %q", prev, x.Key)
			}
			prev, first = x.Key, false
			return true
		})
	}
}

func run(t *testing.T, s State, cmds ...Command) State {
	t.Helper()
	for _, c := range cmds {
		next, err := s.Apply(c)
		if err != nil {
			t.Fatalf("apply %v: %v", c, err)
		}
		s = next
	}
	return s
}

func TestApplyTable(t *testing.T) {
	m := State{Kind: KindMap}
	v := State{Kind: KindVec}
	tests := []struct {
		name string
		s    State
		cmds []Command
		want []string
	}{
		{"map insert", m, []Command{cmd(OpInsert, "b", "2"), cmd(OpInsert, "a", "1"), cmd(OpInsert, "b", "3")}, []string{"a=1", "b=3"}},
		{"map cas nil/nil is a no-op", m, []Command{cmd(OpCompareExchange, "a", "<nil>", "<nil>")}, nil},
		{"map cas nil/new inserts", m, []Command{cmd(OpCompareExchange, "a", "<nil>", "1")}, []string{"a=1"}},
		{"map cas nil/new on present key fails", m, []Command{cmd(OpInsert, "a", "1"), cmd(OpCompareExchange, "a", "<nil>", "2")}, []string{"a=1"}},
		{"map cas old/new swaps", m, []Command{cmd(OpInsert, "a", "1"), cmd(OpCompareExchange, "a", "1", "2")}, []string{"a=2"}},
		{"map cas old/nil removes", m, []Command{cmd(OpInsert, "a", "1"), cmd(OpCompareExchange, "a", "1", "<nil>")}, nil},
		{"map cas mismatch leaves it", m, []Command{cmd(OpInsert, "a", "1"), cmd(OpCompareExchange, "a", "9", "2")}, []string{"a=1"}},
		{"map extend, remove many", m, []Command{cmd(OpExtend, "a", "1", "b", "2", "c", "3"), cmd(OpRemoveMany, "a", "c", "zz")}, []string{"b=2"}},
		{"map remove absent", m, []Command{cmd(OpRemove, "zz")}, nil},
		{"map clear then rebuild", m, []Command{cmd(OpInsert, "a", "1"), cmd(OpClear), cmd(OpInsert, "b", "2")}, []string{"b=2"}},
		{"set", State{Kind: KindSet}, []Command{cmd(OpExtend, "b", "a", "b"), cmd(OpInsert, "c"), cmd(OpRemove, "a")}, []string{"b", "c"}},
		{"cell", State{Kind: KindCell}, []Command{cmd(OpInsert, "", "1"), cmd(OpCompareExchange, "", "1", "2"), cmd(OpCompareExchange, "", "1", "3")}, []string{"=2"}},
		{"cell clear", State{Kind: KindCell}, []Command{cmd(OpInsert, "", "1"), cmd(OpClear)}, nil},
		{"once: first write wins", State{Kind: KindOnce}, []Command{cmd(OpWriteOnce, "1"), cmd(OpWriteOnce, "2")}, []string{"=1"}},
		{"vec push", v, []Command{cmd(OpPushBack, "b"), cmd(OpPushFront, "a"), cmd(OpPushBack, "c")}, []string{"a", "b", "c"}},
		{"vec insert at", v, []Command{cmd(OpExtend, "a", "c"), {OpInsertAt, [][]byte{Uint(1), b("b")}}, {OpInsertAt, [][]byte{Uint(3), b("d")}}}, []string{"a", "b", "c", "d"}},
		{"vec insert past len is a no-op", v, []Command{cmd(OpExtend, "a"), {OpInsertAt, [][]byte{Uint(5), b("x")}}}, []string{"a"}},
		{"vec pops", v, []Command{cmd(OpExtend, "a", "b", "c"), cmd(OpPopBack), cmd(OpPopFront)}, []string{"b"}},
		{"vec pops when empty", v, []Command{cmd(OpPopBack), cmd(OpPopFront)}, nil},
		{"vec remove at", v, []Command{cmd(OpExtend, "a", "b", "c"), {OpRemoveAt, [][]byte{Uint(1)}}, {OpRemoveAt, [][]byte{Uint(7)}}}, []string{"a", "c"}},
		{"vec swap", v, []Command{cmd(OpExtend, "a", "b", "c"), {OpSwap, [][]byte{Uint(0), Uint(2)}}, {OpSwap, [][]byte{Uint(0), Uint(3)}}}, []string{"c", "b", "a"}},
		{"vec truncate", v, []Command{cmd(OpExtend, "a", "b", "c"), {OpTruncate, [][]byte{Uint(3)}}, {OpTruncate, [][]byte{Uint(9)}}, {OpTruncate, [][]byte{Uint(1)}}}, []string{"a"}},
		{"vec clear", v, []Command{cmd(OpExtend, "a", "b"), cmd(OpClear), cmd(OpPushBack, "z")}, []string{"z"}},
		{"queue upsert", State{Kind: KindPriorityQueue}, []Command{cmd(OpUpsert, "a", "5", "x", "b", "1", "y"), cmd(OpUpsert, "a", "2", "z")}, []string{"a=z@2", "b=y@1"}},
		{"queue update priority keeps value", State{Kind: KindPriorityQueue}, []Command{cmd(OpUpsert, "a", "5", "x"), cmd(OpUpdatePriority, "a", "7"), cmd(OpUpdatePriority, "zz", "1")}, []string{"a=x@7"}},
		{"queue update value keeps priority", State{Kind: KindPriorityQueue}, []Command{cmd(OpUpsert, "a", "5", "x"), cmd(OpUpdateValue, "a", "w")}, []string{"a=w@5"}},
		{"queue cas keeps priority", State{Kind: KindPriorityQueue}, []Command{cmd(OpUpsert, "a", "5", "x"), cmd(OpCompareExchange, "a", "x", "y"), cmd(OpCompareExchange, "a", "x", "z")}, []string{"a=y@5"}},
		{"queue cas removes", State{Kind: KindPriorityQueue}, []Command{cmd(OpUpsert, "a", "5", "x"), cmd(OpCompareExchange, "a", "x", "<nil>")}, nil},
		{"queue remove range", State{Kind: KindPriorityQueue}, []Command{cmd(OpUpsert, "a", "1", "", "b", "2", "", "c", "3", "", "d", "4", ""), cmd(OpRemoveRange, "2", "3")}, []string{"a=@1", "d=@4"}},
		{"queue remove range unbounded", State{Kind: KindPriorityQueue}, []Command{cmd(OpUpsert, "a", "1", "", "b", "2", "", "c", "3", ""), cmd(OpRemoveRange, "<nil>", "2")}, []string{"c=@3"}},
		{"queue capacity evicts lowest", State{Kind: KindPriorityQueue, Capacity: 2}, []Command{cmd(OpUpsert, "a", "5", "", "b", "3", "", "c", "4", "")}, []string{"a=@5", "c=@4"}},
		{"queue capacity evicts the new entry", State{Kind: KindPriorityQueue, Capacity: 2}, []Command{cmd(OpUpsert, "a", "5", "", "b", "3", "", "c", "1", "")}, []string{"a=@5", "b=@3"}},
		{"queue upsert never evicts", State{Kind: KindPriorityQueue, Capacity: 2}, []Command{cmd(OpUpsert, "a", "5", "", "b", "3", ""), cmd(OpUpsert, "b", "0", "v")}, []string{"a=@5", "b=v@0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := contents(run(t, tt.s, tt.cmds...))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestApplyRejects(t *testing.T) {
	tests := []struct {
		name string
		s    State
		c    Command
	}{
		{"vec op on a map", State{Kind: KindMap}, cmd(OpPushBack, "a")},
		{"map insert without value", State{Kind: KindMap}, cmd(OpInsert, "a")},
		{"odd extend", State{Kind: KindMap}, cmd(OpExtend, "a")},
		{"cell with a key", State{Kind: KindCell}, cmd(OpInsert, "k", "v")},
		{"once plain write", State{Kind: KindOnce}, cmd(OpInsert, "", "v")},
		{"vec bad index", State{Kind: KindVec}, cmd(OpInsertAt, "\xff", "v")},
		{"queue pair", State{Kind: KindPriorityQueue}, cmd(OpUpsert, "a", "1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, err := tt.s.Apply(tt.c)
			if !errors.Is(err, ErrBadCommand) {
				t.Fatalf("err = %v, want ErrBadCommand", err)
			}
			if next.Items != tt.s.Items {
				t.Fatal("a rejected command changed the state")
			}
		})
	}
}

// TestPersistence: applying to a state leaves earlier states intact.
func TestPersistence(t *testing.T) {
	s0 := run(t, State{Kind: KindMap}, cmd(OpExtend, "a", "1", "b", "2"))
	s1 := run(t, s0, cmd(OpInsert, "a", "9"), cmd(OpRemove, "b"), cmd(OpInsert, "c", "3"))
	if got := contents(s0); !slices.Equal(got, []string{"a=1", "b=2"}) {
		t.Fatalf("old state changed: %q", got)
	}
	if got := contents(s1); !slices.Equal(got, []string{"a=9", "c=3"}) {
		t.Fatalf("new state: %q", got)
	}
}

// TestMapAgainstModel compares random operations on the tree with a Go
// map and sort.
func TestMapAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	s := State{Kind: KindMap}
	model := map[string]string{}
	for i := range 20000 {
		k := fmt.Sprintf("%03d", r.IntN(500))
		switch r.IntN(3) {
		case 0, 1:
			v := fmt.Sprint(i)
			s = run(t, s, cmd(OpInsert, k, v))
			model[k] = v
		case 2:
			s = run(t, s, cmd(OpRemove, k))
			delete(model, k)
		}
		if i%1000 == 0 {
			checkTree(t, s.Items, true)
		}
	}
	checkTree(t, s.Items, true)
	var want []string
	for k, v := range model {
		want = append(want, k+"="+v)
	}
	sort.Strings(want)
	if got := contents(s); !slices.Equal(got, want) {
		t.Fatalf("tree and model differ: %d vs %d entries", len(got), len(want))
	}
	for i, w := range want {
		n := At(s.Items, i)
		if string(n.Key)+"="+string(n.Val) != w || Rank(s.Items, n.Key) != i {
			t.Fatalf("At/Rank(%d) disagree", i)
		}
	}
}

// TestVecAgainstModel compares random positional operations with a slice.
func TestVecAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	s := State{Kind: KindVec}
	var model []string
	for i := range 20000 {
		v := fmt.Sprint(i)
		n := len(model)
		switch r.IntN(6) {
		case 0:
			s = run(t, s, cmd(OpPushBack, v))
			model = append(model, v)
		case 1:
			s = run(t, s, cmd(OpPushFront, v))
			model = slices.Insert(model, 0, v)
		case 2:
			at := r.IntN(n + 2)
			s = run(t, s, Command{OpInsertAt, [][]byte{Uint(uint64(at)), b(v)}})
			if at <= n {
				model = slices.Insert(model, at, v)
			}
		case 3:
			at := r.IntN(n + 2)
			s = run(t, s, Command{OpRemoveAt, [][]byte{Uint(uint64(at))}})
			if at < n {
				model = slices.Delete(model, at, at+1)
			}
		case 4:
			x, y := r.IntN(n+1), r.IntN(n+1)
			s = run(t, s, Command{OpSwap, [][]byte{Uint(uint64(x)), Uint(uint64(y))}})
			if x < n && y < n {
				model[x], model[y] = model[y], model[x]
			}
		case 5:
			if r.IntN(20) == 0 {
				k := r.IntN(n + 2)
				s = run(t, s, Command{OpTruncate, [][]byte{Uint(uint64(k))}})
				if k < n {
					model = model[:k]
				}
			} else {
				s = run(t, s, cmd(OpPopFront))
				if n > 0 {
					model = model[1:]
				}
			}
		}
	}
	checkTree(t, s.Items, false)
	if got := contents(s); !slices.Equal(got, model) {
		t.Fatalf("tree and model differ: %d vs %d entries", len(got), len(model))
	}
}

func TestPriorityKeyOrder(t *testing.T) {
	prios := [][]byte{{}, {0}, {0, 0}, {0, 1}, {1}, {1, 0}, {0xff}}
	keys := [][]byte{{}, {0}, {1}}
	type pair struct{ p, k []byte }
	var pairs []pair
	for _, p := range prios {
		for _, k := range keys {
			pairs = append(pairs, pair{p, k})
		}
	}
	for _, x := range pairs {
		for _, y := range pairs {
			want := bytes.Compare(x.p, y.p)
			if want == 0 {
				want = bytes.Compare(x.k, y.k)
			}
			if got := bytes.Compare(PriorityKey(x.p, x.k), PriorityKey(y.p, y.k)); got != want {
				t.Fatalf("(%x,%x) vs (%x,%x): %d, want %d", x.p, x.k, y.p, y.k, got, want)
			}
		}
		if k := KeyOfPriorityKey(PriorityKey(x.p, x.k)); !bytes.Equal(k, x.k) {
			t.Fatalf("key of (%x,%x) = %x", x.p, x.k, k)
		}
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	states := []State{
		run(t, State{Kind: KindMap}, cmd(OpExtend, "a", "1", "b", "", "c", "3")),
		run(t, State{Kind: KindVec}, cmd(OpExtend, "x", "", "x")),
		run(t, State{Kind: KindSet}, cmd(OpExtend, "x", "y")),
		run(t, State{Kind: KindCell}, cmd(OpInsert, "", "v")),
		{Kind: KindOnce},
		run(t, State{Kind: KindPriorityQueue, Capacity: 3}, cmd(OpUpsert, "a", "2", "x", "b", "1", "y")),
	}
	for _, s := range states {
		var buf bytes.Buffer
		if err := WriteSnapshot(&buf, s, 42); err != nil {
			t.Fatal(err)
		}
		got, version, err := ReadSnapshot(bytes.NewReader(buf.Bytes()), s.Kind, s.Capacity)
		if err != nil || version != 42 {
			t.Fatalf("%s: ReadSnapshot = %d, %v", s.Kind, version, err)
		}
		if !slices.Equal(contents(got), contents(s)) || got.ByPriority.Len() != s.ByPriority.Len() {
			t.Fatalf("%s: round trip %q, want %q", s.Kind, contents(got), contents(s))
		}
		checkTree(t, got.ByPriority, true)
		if _, _, err := ReadSnapshot(bytes.NewReader(buf.Bytes()), s.Kind%kindEnd+1, 0); err == nil && s.Kind+1 < kindEnd {
			t.Fatalf("%s: read as another kind", s.Kind)
		}
	}
}

func FuzzDecodeCommand(f *testing.F) {
	f.Add(cmd(OpInsert, "k", "v").Encode())
	f.Add(cmd(OpCompareExchange, "k", "<nil>", "v").Encode())
	f.Add(Command{OpInsertAt, [][]byte{Uint(3), b("v")}}.Encode())
	f.Add(cmd(OpClear).Encode())
	f.Add([]byte{byte(OpExtend), 200, 1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeCommand(data)
		if err != nil {
			if !errors.Is(err, ErrBadCommand) {
				t.Fatalf("error %v does not match ErrBadCommand", err)
			}
			return
		}
		if again := c.Encode(); !bytes.Equal(again, data) {
			// Uvarints have one canonical form here only when minimal;
			// a decoded command must at least decode the same again.
			c2, err := DecodeCommand(again)
			if err != nil || c2.Op != c.Op || len(c2.Args) != len(c.Args) {
				t.Fatalf("re-encoding does not decode the same: %v", err)
			}
		}
		// Any decoded command applies to any kind without panicking, and
		// the trees stay valid.
		for k := KindMap; k < kindEnd; k++ {
			s := run(t, State{Kind: k, Capacity: 2}, seedFor(k)...)
			next, err := s.Apply(c)
			if err != nil && !errors.Is(err, ErrBadCommand) {
				t.Fatalf("%s: error %v does not match ErrBadCommand", k, err)
			}
			checkTree(t, next.Items, k != KindVec)
			checkTree(t, next.ByPriority, true)
			if k == KindPriorityQueue && next.Items.Len() != next.ByPriority.Len() {
				t.Fatalf("queue index out of step: %d vs %d", next.Items.Len(), next.ByPriority.Len())
			}
		}
	})
}

func seedFor(k Kind) []Command {
	switch k {
	case KindVec:
		return []Command{cmd(OpExtend, "a", "b")}
	case KindSet:
		return []Command{cmd(OpExtend, "a", "b")}
	case KindCell:
		return []Command{cmd(OpInsert, "", "a")}
	case KindOnce:
		return nil
	case KindPriorityQueue:
		return []Command{cmd(OpUpsert, "a", "1", "x", "b", "2", "y")}
	}
	return []Command{cmd(OpExtend, "a", "1", "b", "2")}
}

func FuzzReadSnapshot(f *testing.F) {
	for k := KindMap; k < kindEnd; k++ {
		var buf bytes.Buffer
		s := State{Kind: k, Capacity: 2}
		for _, c := range seedFor(k) {
			s, _ = s.Apply(c)
		}
		WriteSnapshot(&buf, s, 7)
		f.Add(byte(k), buf.Bytes())
	}
	f.Add(byte(KindMap), []byte("mcs\x01\x01\x00\xff\xff\xff\xff\x0f"))
	f.Fuzz(func(t *testing.T, kind byte, data []byte) {
		k := Kind(kind)%(kindEnd-1) + 1
		s, version, err := ReadSnapshot(bytes.NewReader(data), k, 0)
		if err != nil {
			if !errors.Is(err, ErrBadState) {
				t.Fatalf("error %v does not match ErrBadState", err)
			}
			return
		}
		checkTree(t, s.Items, k != KindVec)
		checkTree(t, s.ByPriority, true)
		var buf bytes.Buffer
		if err := WriteSnapshot(&buf, s, version); err != nil {
			t.Fatal(err)
		}
		again, _, err := ReadSnapshot(&buf, k, 0)
		if err != nil || again.Len() != s.Len() {
			t.Fatalf("re-read: %v", err)
		}
	})
}

// randomCommand returns a random command for kind, over a small key
// space so that commands collide.
func randomCommand(r *rand.Rand, k Kind, n int) Command {
	key := fmt.Sprintf("%02d", r.IntN(40))
	val := fmt.Sprint(r.IntN(1000))
	idx := func() []byte { return Uint(uint64(r.IntN(n + 2))) }
	switch k {
	case KindVec:
		switch r.IntN(7) {
		case 0:
			return cmd(OpPushBack, val)
		case 1:
			return cmd(OpPushFront, val)
		case 2:
			return Command{OpInsertAt, [][]byte{idx(), b(val)}}
		case 3:
			return Command{OpRemoveAt, [][]byte{idx()}}
		case 4:
			return Command{OpSwap, [][]byte{idx(), idx()}}
		case 5:
			return Command{OpTruncate, [][]byte{Uint(uint64(n - r.IntN(3)))}}
		default:
			return cmd(OpPopFront)
		}
	case KindPriorityQueue:
		switch r.IntN(6) {
		case 0, 1:
			return cmd(OpUpsert, key, fmt.Sprint(r.IntN(9)), val)
		case 2:
			return cmd(OpUpdatePriority, key, fmt.Sprint(r.IntN(9)))
		case 3:
			return cmd(OpRemove, key)
		case 4:
			return cmd(OpRemoveRange, fmt.Sprint(r.IntN(9)), fmt.Sprint(r.IntN(9)))
		default:
			return cmd(OpCompareExchange, key, val, "<nil>")
		}
	default:
		switch r.IntN(4) {
		case 0, 1:
			return cmd(OpInsert, key, val)
		case 2:
			return cmd(OpRemove, key)
		default:
			return cmd(OpExtend, key, val, fmt.Sprintf("%02d", r.IntN(40)), val)
		}
	}
}

// TestTransientEdits: applying batches within an edit gives the states
// that persistent updates give, and never changes a state captured
// before the batch (a snapshot or a published root).
func TestTransientEdits(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, k := range []Kind{KindMap, KindVec, KindPriorityQueue} {
		persistent := State{Kind: k, Capacity: 25}
		transient := persistent
		for range 300 {
			captured, want, wantIndex := transient, contents(transient), indexKeys(transient)
			e := new(Edit)
			for range 1 + r.IntN(40) {
				c := randomCommand(r, k, persistent.Len())
				var err1, err2 error
				persistent, err1 = persistent.Apply(c)
				transient, err2 = transient.ApplyEdit(e, c)
				if (err1 == nil) != (err2 == nil) {
					t.Fatalf("%s: errors differ: %v, %v", k, err1, err2)
				}
			}
			if got := contents(captured); !slices.Equal(got, want) || !slices.Equal(indexKeys(captured), wantIndex) {
				t.Fatalf("%s: a captured state changed under an edit", k)
			}
			if got, want := contents(transient), contents(persistent); !slices.Equal(got, want) {
				t.Fatalf("%s: transient %q, persistent %q", k, got, want)
			}
			checkTree(t, transient.Items, k != KindVec)
			checkTree(t, transient.ByPriority, true)
		}
	}
}

// indexKeys lists a queue's priority index.
func indexKeys(s State) []string {
	var out []string
	Ascend(s.ByPriority, 0, func(n *Node) bool {
		out = append(out, string(n.Key))
		return true
	})
	return out
}
