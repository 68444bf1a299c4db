package raftbond

import (
	"bytes"
	"maps"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"

	"github.com/mosaikgo/mosaik/id"
)

var (
	alice = id.SecretKeyFromSeed("alice").PeerID()
	bob   = id.SecretKeyFromSeed("bob").PeerID()
	carol = id.SecretKeyFromSeed("carol").PeerID()
)

// fakeRouter records the frames it accepts; err, when set, is what it
// answers instead.
type fakeRouter struct {
	mu     sync.Mutex
	err    error
	frames []sentFrame
}

type sentFrame struct {
	peer  id.PeerID
	frame []byte
}

func (r *fakeRouter) SendRaft(peer id.PeerID, frame []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.frames = append(r.frames, sentFrame{peer, frame})
	return nil
}

func (r *fakeRouter) setErr(err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

func (r *fakeRouter) sent() []sentFrame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.frames)
}

// sink records what dragonboat's handlers would receive.
type sink struct {
	mu      sync.Mutex
	batches []pb.MessageBatch
	chunks  []pb.Chunk
}

func (s *sink) batch(b pb.MessageBatch) {
	s.mu.Lock()
	s.batches = append(s.batches, b)
	s.mu.Unlock()
}

func (s *sink) chunk(c pb.Chunk) bool {
	s.mu.Lock()
	s.chunks = append(s.chunks, c)
	s.mu.Unlock()
	return true
}

func (s *sink) got() ([]pb.MessageBatch, []pb.Chunk) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.batches), slices.Clone(s.chunks)
}

// node is one side of a unit test: a started transport for self with a
// fake router and a sink for what it delivers.
type node struct {
	self    id.PeerID
	router  *fakeRouter
	sink    *sink
	factory *Factory
	t       *Transport
}

func newNode(tb testing.TB, self id.PeerID, mutate func(*Config)) *node {
	tb.Helper()
	n := &node{self: self, router: &fakeRouter{}, sink: &sink{}}
	cfg := Config{Self: self, Router: n.router}
	if mutate != nil {
		mutate(&cfg)
	}
	f, err := NewFactory(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	n.factory = f
	tr := f.Create(config.NodeHostConfig{RaftAddress: self.String()}, n.sink.batch, n.sink.chunk)
	if err := tr.Start(); err != nil {
		tb.Fatal(err)
	}
	n.t = tr.(*Transport)
	tb.Cleanup(func() { n.t.Close() })
	return n
}

func (n *node) conn(tb testing.TB, to id.PeerID) raftio.IConnection {
	tb.Helper()
	c, err := n.t.GetConnection(tb.Context(), to.String())
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func (n *node) snapshotConn(tb testing.TB, to id.PeerID) raftio.ISnapshotConnection {
	tb.Helper()
	c, err := n.t.GetSnapshotConnection(tb.Context(), to.String())
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// testBatch is what dragonboat would send from src: a few message types,
// entries with payloads.
func testBatch(src id.PeerID) pb.MessageBatch {
	return pb.MessageBatch{
		SourceAddress: src.String(),
		BinVer:        raftio.TransportBinVersion,
		DeploymentId:  7,
		Requests: []pb.Message{
			{Type: pb.Heartbeat, ShardID: 1, From: 1, To: 2, Term: 3, Commit: 9},
			{Type: pb.Replicate, ShardID: 1, From: 1, To: 2, Term: 3, LogIndex: 9, LogTerm: 3, Commit: 9,
				Entries: []pb.Entry{
					{Index: 10, Term: 3, Cmd: []byte("ten")},
					{Index: 11, Term: 3, Cmd: []byte("eleven")},
				}},
			{Type: pb.RequestVoteResp, ShardID: 4, From: 5, To: 6, Term: 1},
		},
	}
}

// testChunks is a snapshot of n chunks from replica 1 to replica 2.
func testChunks(n int) []pb.Chunk {
	chunks := make([]pb.Chunk, n)
	for i := range chunks {
		data := bytes.Repeat([]byte{byte(i)}, 100+i)
		chunks[i] = pb.Chunk{
			ShardID: 1, ReplicaID: 2, From: 1,
			ChunkId: uint64(i), ChunkCount: uint64(n), ChunkSize: uint64(len(data)), Data: data,
			FileChunkId: uint64(i), FileChunkCount: uint64(n),
			Index: 100, Term: 3, Filepath: "/snapshots/snapshot-0000000064.gbsnap", FileSize: 1 << 20,
			Membership:   pb.Membership{ConfigChangeId: 5, Addresses: map[uint64]string{1: alice.String(), 2: bob.String()}},
			BinVer:       raftio.TransportBinVersion,
			DeploymentId: 7,
		}
	}
	return chunks
}

// marshalled is v's dragonboat encoding, to compare values by content.
func marshalled(tb testing.TB, v interface{ Marshal() ([]byte, error) }) []byte {
	tb.Helper()
	b, err := v.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// frameOf encodes v as a frame of kind by hand, for inputs the transport
// would not produce itself.
func frameOf(tb testing.TB, kind byte, v interface{ Marshal() ([]byte, error) }) []byte {
	tb.Helper()
	return append([]byte{kind}, marshalled(tb, v)...)
}

// sameChunk compares chunks by content: their encoding is not canonical
// (membership maps are written in map order), and decoding turns nil
// maps into empty ones.
func sameChunk(a, b pb.Chunk) bool {
	norm := func(c pb.Chunk) pb.Chunk {
		m := &c.Membership
		m.Addresses = maps.Clone(m.Addresses)
		m.NonVotings = maps.Clone(m.NonVotings)
		m.Witnesses = maps.Clone(m.Witnesses)
		m.Removed = maps.Clone(m.Removed)
		for _, p := range []*map[uint64]string{&m.Addresses, &m.NonVotings, &m.Witnesses} {
			if len(*p) == 0 {
				*p = nil
			}
		}
		if len(m.Removed) == 0 {
			m.Removed = nil
		}
		if len(c.Data) == 0 {
			c.Data = nil
		}
		return c
	}
	return reflect.DeepEqual(norm(a), norm(b))
}
