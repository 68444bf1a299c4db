package raftbond

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/transport"
)

func TestBatchRoundTrip(t *testing.T) {
	a, b := newNode(t, alice, nil), newNode(t, bob, nil)
	want := testBatch(alice)
	wantBytes := marshalled(t, &want)

	batch := testBatch(alice)
	if err := a.conn(t, bob).SendMessageBatch(batch); err != nil {
		t.Fatal(err)
	}
	// dragonboat reuses its buffers once SendMessageBatch returns: the
	// frame must not change with them.
	copy(batch.Requests[1].Entries[0].Cmd, "TEN")
	batch.Requests[0].Term = 99

	sent := a.router.sent()
	if len(sent) != 1 || sent[0].peer != bob {
		t.Fatalf("router got %d frames (%v), want one to bob", len(sent), sent)
	}
	if err := b.factory.Deliver(alice, sent[0].frame); err != nil {
		t.Fatal(err)
	}
	got, _ := b.sink.got()
	if len(got) != 1 || !bytes.Equal(marshalled(t, &got[0]), wantBytes) {
		t.Fatalf("delivered %+v, want %+v", got, want)
	}
	if s := a.t.Stats(); s.BatchFrames != 1 || s.Congested+s.Unroutable+s.Oversized != 0 {
		t.Fatalf("sender stats %+v", s)
	}
	if s := b.t.Stats(); s.Delivered != 1 || s.Rejected != 0 {
		t.Fatalf("receiver stats %+v", s)
	}
}

func TestChunksArriveInOrder(t *testing.T) {
	a, b := newNode(t, alice, nil), newNode(t, bob, nil)
	chunks := testChunks(6)
	conn := a.snapshotConn(t, bob)
	buf := make([]byte, 200)
	for _, c := range chunks {
		// dragonboat reads every chunk's data into one reused buffer.
		c.Data = append(buf[:0], c.Data...)
		if err := conn.SendChunk(c); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close()
	for _, s := range a.router.sent() {
		if err := b.factory.Deliver(alice, s.frame); err != nil {
			t.Fatal(err)
		}
	}
	_, got := b.sink.got()
	if len(got) != len(chunks) {
		t.Fatalf("delivered %d chunks, want %d", len(got), len(chunks))
	}
	for i := range chunks {
		if !sameChunk(got[i], chunks[i]) {
			t.Fatalf("chunk %d: got id %d with %d bytes, want id %d with %d bytes",
				i, got[i].ChunkId, len(got[i].Data), chunks[i].ChunkId, len(chunks[i].Data))
		}
	}
}

func TestFullQueueDropsBatches(t *testing.T) {
	a := newNode(t, alice, nil)
	a.router.setErr(ErrCongested)
	if err := a.conn(t, bob).SendMessageBatch(testBatch(alice)); err != nil {
		t.Fatalf("a full queue failed the connection: %v", err)
	}
	if s := a.t.Stats(); s.Congested != 1 || s.BatchFrames != 0 {
		t.Fatalf("stats %+v, want one congested frame", s)
	}
}

func TestNoRouteFailsTheConnection(t *testing.T) {
	a := newNode(t, alice, nil)
	a.router.setErr(ErrNoRoute)
	err := a.conn(t, bob).SendMessageBatch(testBatch(alice))
	if !errors.Is(err, ErrNoRoute) {
		t.Fatalf("got %v, want ErrNoRoute", err)
	}
	if s := a.t.Stats(); s.Unroutable != 1 {
		t.Fatalf("stats %+v, want one unroutable frame", s)
	}
}

// A chunk that cannot be queued fails the stream for good: later chunks
// must not go out even if the bond drains, or the receiver sees a gap.
func TestFullQueueFailsSnapshotStream(t *testing.T) {
	a := newNode(t, alice, nil)
	chunks := testChunks(4)
	conn := a.snapshotConn(t, bob)
	if err := conn.SendChunk(chunks[0]); err != nil {
		t.Fatal(err)
	}
	a.router.setErr(ErrCongested)
	if err := conn.SendChunk(chunks[1]); !errors.Is(err, ErrCongested) {
		t.Fatalf("chunk 1: got %v, want ErrCongested", err)
	}
	a.router.setErr(nil)
	if err := conn.SendChunk(chunks[2]); !errors.Is(err, ErrCongested) {
		t.Fatalf("chunk 2 after a failed chunk: got %v, want the stream's failure", err)
	}
	if sent := a.router.sent(); len(sent) != 1 {
		t.Fatalf("router got %d frames, want only chunk 0", len(sent))
	}
	// A new stream (dragonboat's retry) starts afresh.
	if err := a.snapshotConn(t, bob).SendChunk(chunks[0]); err != nil {
		t.Fatal(err)
	}
}

func TestLargeBatchesAreSplit(t *testing.T) {
	a := newNode(t, alice, func(c *Config) { c.MaxFrameSize = minFrameSize })
	b := newNode(t, bob, nil)
	entry := func(size int) []pb.Entry { return []pb.Entry{{Index: 1, Term: 1, Cmd: make([]byte, size)}} }
	batch := pb.MessageBatch{SourceAddress: alice.String(), BinVer: raftio.TransportBinVersion}
	for i, size := range []int{3 << 19, 3 << 19, 3 << 20, 10, 2 << 20, 5} {
		batch.Requests = append(batch.Requests, pb.Message{
			Type: pb.Replicate, ShardID: 1, From: 1, To: 2, LogIndex: uint64(i), Entries: entry(size),
		})
	}
	if err := a.conn(t, bob).SendMessageBatch(batch); err != nil {
		t.Fatal(err)
	}
	sent := a.router.sent()
	if len(sent) < 3 {
		t.Fatalf("%d frames, want the batch split", len(sent))
	}
	for _, s := range sent {
		if len(s.frame) > minFrameSize {
			t.Fatalf("frame of %d bytes, limit %d", len(s.frame), minFrameSize)
		}
		if err := b.factory.Deliver(alice, s.frame); err != nil {
			t.Fatal(err)
		}
	}
	var order []uint64
	got, _ := b.sink.got()
	for _, g := range got {
		for _, m := range g.Requests {
			order = append(order, m.LogIndex)
		}
	}
	if want := []uint64{0, 1, 3, 4, 5}; !equal(order, want) {
		t.Fatalf("delivered messages %v, want %v (the 3 MiB one dropped)", order, want)
	}
	if s := a.t.Stats(); s.Oversized != 1 {
		t.Fatalf("stats %+v, want one oversized message", s)
	}
	huge := testChunks(1)[0]
	huge.Data = make([]byte, minFrameSize)
	if err := a.snapshotConn(t, bob).SendChunk(huge); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized chunk: got %v, want ErrTooLarge", err)
	}
}

func equal(a, b []uint64) bool { return slices.Equal(a, b) }

func TestSourceMismatchRejected(t *testing.T) {
	b := newNode(t, bob, nil)
	forged := testBatch(carol) // sent by alice, claiming to be carol
	err := b.factory.Deliver(alice, frameOf(t, kindBatch, &forged))
	if !errors.Is(err, ErrSourceMismatch) || !errors.Is(err, ErrBadFrame) {
		t.Fatalf("got %v, want ErrSourceMismatch (an ErrBadFrame)", err)
	}
	upper := testBatch(alice)
	upper.SourceAddress = strings.ToUpper(upper.SourceAddress)
	if err := b.factory.Deliver(alice, frameOf(t, kindBatch, &upper)); !errors.Is(err, ErrSourceMismatch) {
		t.Fatalf("upper-case source: got %v, want ErrSourceMismatch", err)
	}
	if got, _ := b.sink.got(); len(got) != 0 {
		t.Fatalf("forged batches reached dragonboat: %v", got)
	}
	if s := b.t.Stats(); s.Rejected != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestGarbageRejected(t *testing.T) {
	b := newNode(t, bob, nil)
	batchWith := func(edit func(*pb.Message)) []byte {
		batch := testBatch(alice)
		edit(&batch.Requests[1])
		return frameOf(t, kindBatch, &batch)
	}
	chunkWith := func(edit func(*pb.Chunk)) []byte {
		c := testChunks(1)[0]
		edit(&c)
		return frameOf(t, kindChunk, &c)
	}
	good := frameOf(t, kindBatch, new(testBatch(alice)))
	cases := map[string][]byte{
		"empty":           {},
		"kind zero":       {0},
		"unknown kind":    append([]byte{9}, good[1:]...),
		"truncated batch": good[:len(good)/2],
		"bad varint":      {kindBatch, 0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		// dragonboat's decoder counts the messages ahead without bounds
		// checks: a tag with no length after a first message panics it.
		"decoder panic":       append(append([]byte{kindBatch}, good[1:3+int(good[2])]...), 0x0a),
		"truncated chunk":     chunkWith(func(*pb.Chunk) {})[:40],
		"local message type":  batchWith(func(m *pb.Message) { m.Type = pb.Election }),
		"install snapshot":    batchWith(func(m *pb.Message) { m.Type = pb.InstallSnapshot }),
		"unknown type":        batchWith(func(m *pb.Message) { m.Type = 200 }),
		"no recipient":        batchWith(func(m *pb.Message) { m.To = 0 }),
		"no sender":           batchWith(func(m *pb.Message) { m.From = 0 }),
		"chunk no sender":     chunkWith(func(c *pb.Chunk) { c.From = 0 }),
		"chunk no recipient":  chunkWith(func(c *pb.Chunk) { c.ReplicaID = 0 }),
		"poison chunk":        chunkWith(func(c *pb.Chunk) { c.ChunkCount = pb.PoisonChunkCount }),
		"chunk no file":       chunkWith(func(c *pb.Chunk) { c.Filepath = "" }),
		"chunk dot dot":       chunkWith(func(c *pb.Chunk) { c.Filepath = "/a/.." }),
		"chunk root":          chunkWith(func(c *pb.Chunk) { c.Filepath = "/" }),
		"chunk no membership": chunkWith(func(c *pb.Chunk) { c.Membership.ConfigChangeId = 0 }),
	}
	for name, frame := range cases {
		t.Run(name, func(t *testing.T) {
			if err := b.factory.Deliver(alice, frame); !errors.Is(err, ErrBadFrame) {
				t.Fatalf("got %v, want ErrBadFrame", err)
			}
		})
	}
	if gotB, gotC := b.sink.got(); len(gotB)+len(gotC) != 0 {
		t.Fatalf("garbage reached dragonboat: %v %v", gotB, gotC)
	}
}

type gate map[id.PeerID][]uint64 // replica ids each peer may speak for

func (g gate) Admit(peer id.PeerID, _, replicaID uint64) bool {
	for _, r := range g[peer] {
		if r == replicaID {
			return true
		}
	}
	return false
}

func TestGateFiltersReplicas(t *testing.T) {
	b := newNode(t, bob, func(c *Config) { c.Gate = gate{alice: {1}} })
	batch := testBatch(alice) // replicas 1, 1 and 5
	err := b.factory.Deliver(alice, frameOf(t, kindBatch, &batch))
	if !errors.Is(err, ErrNotAdmitted) || errors.Is(err, ErrBadFrame) {
		t.Fatalf("got %v, want ErrNotAdmitted", err)
	}
	got, _ := b.sink.got()
	if len(got) != 1 || len(got[0].Requests) != 2 || got[0].Requests[0].From != 1 || got[0].Requests[1].From != 1 {
		t.Fatalf("delivered %+v, want replica 1's two messages", got)
	}
	chunk := testChunks(1)[0]
	chunk.From = 5
	if err := b.factory.Deliver(alice, frameOf(t, kindChunk, &chunk)); !errors.Is(err, ErrNotAdmitted) {
		t.Fatalf("chunk: got %v, want ErrNotAdmitted", err)
	}
	if _, chunks := b.sink.got(); len(chunks) != 0 {
		t.Fatal("a refused chunk reached dragonboat")
	}
	if s := b.t.Stats(); s.NotAdmitted != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestValidate(t *testing.T) {
	f, err := NewFactory(Config{Self: alice, Router: &fakeRouter{}})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]bool{
		alice.String():                     true,
		strings.Repeat("0", 64):            true,
		strings.Repeat("f", 64):            true,
		strings.ToUpper(alice.String()):    false,
		alice.String()[:63]:                false,
		alice.String() + "0":               false,
		"":                                 false,
		"localhost:9000":                   false,
		strings.Repeat("g", 64):            false,
		alice.String()[:62] + "0x":         false,
		" " + alice.String()[1:]:           false,
		strings.Repeat("é", 32):            false, // 64 bytes, not hex
		alice.String()[:63] + "\x00":       false,
		alice.String()[:32] + ":" + "1234": false,
	}
	for addr, want := range cases {
		if got := f.Validate(addr); got != want {
			t.Errorf("Validate(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cases := map[string]Config{
		"Self":         {Router: &fakeRouter{}},
		"Router":       {Self: alice},
		"MaxFrameSize": {Self: alice, Router: &fakeRouter{}, MaxFrameSize: 1 << 20},
	}
	for field, cfg := range cases {
		if _, err := NewFactory(cfg); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("bad %s: got %v, want an error naming it", field, err)
		}
	}
	if err := DefaultConfig(alice, &fakeRouter{}).Validate(); err != nil {
		t.Fatal(err)
	}
	// The default leaves room for the bond's envelope in its frame limit.
	env := transport.DefaultMaxFrameSize - DefaultMaxFrameSize
	if env < 16 || env > 1024 {
		t.Fatalf("DefaultMaxFrameSize leaves %d bytes for the envelope", env)
	}
}

func TestLifecycle(t *testing.T) {
	s := &sink{}
	f, err := NewFactory(Config{Self: alice, Router: &fakeRouter{}})
	if err != nil {
		t.Fatal(err)
	}
	frame := frameOf(t, kindBatch, new(testBatch(bob)))
	if err := f.Deliver(bob, frame); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("before NewNodeHost: got %v, want ErrNotStarted", err)
	}
	wrong := f.Create(config.NodeHostConfig{RaftAddress: bob.String()}, s.batch, s.chunk)
	if err := wrong.Start(); err == nil || !strings.Contains(err.Error(), "RaftAddress") {
		t.Fatalf("RaftAddress of another peer: got %v", err)
	}
	wrong.Close()

	tr := f.Create(config.NodeHostConfig{RaftAddress: alice.String()}, s.batch, s.chunk)
	if err := f.Deliver(bob, frame); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("before Start: got %v, want ErrNotStarted", err)
	}
	if err := tr.Start(); err != nil {
		t.Fatal(err)
	}
	if err := f.Deliver(bob, frame); err != nil {
		t.Fatal(err)
	}
	conn, err := tr.GetConnection(t.Context(), bob.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.GetConnection(t.Context(), "bob:1234"); err == nil {
		t.Fatal("connection to a non-PeerID address")
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := f.Deliver(bob, frame); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: got %v, want ErrClosed", err)
	}
	if err := conn.SendMessageBatch(testBatch(alice)); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after Close: got %v, want ErrClosed", err)
	}
	if _, err := tr.GetSnapshotConnection(t.Context(), bob.String()); !errors.Is(err, ErrClosed) {
		t.Fatalf("snapshot connection after Close: got %v, want ErrClosed", err)
	}
	if err := tr.Start(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close: got %v, want ErrClosed", err)
	}
	if got, _ := s.got(); len(got) != 1 {
		t.Fatalf("%d batches delivered, want 1", len(got))
	}
}

// Close returns only once deliveries already inside dragonboat are done,
// so no handler runs after the NodeHost tore down what it uses.
func TestCloseWaitsForDeliveries(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var events []string
	record := func(e string) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	f, err := NewFactory(Config{Self: alice, Router: &fakeRouter{}})
	if err != nil {
		t.Fatal(err)
	}
	handler := func(pb.MessageBatch) {
		close(entered)
		<-release
		record("handler done")
	}
	tr := f.Create(config.NodeHostConfig{RaftAddress: alice.String()}, handler, func(pb.Chunk) bool { return true })
	if err := tr.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := f.Deliver(bob, frameOf(t, kindBatch, new(testBatch(bob)))); err != nil {
			t.Error(err)
		}
	})
	<-entered
	wg.Go(func() {
		tr.Close()
		record("closed")
	})
	close(release)
	wg.Wait()
	if len(events) != 2 || events[0] != "handler done" {
		t.Fatalf("events %v: Close returned during a delivery", events)
	}
}
