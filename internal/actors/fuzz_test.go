package actors

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/memberlist"
	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/feed"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/fuzzseed"
	"github.com/mosaikgo/mosaik/messages"
)

var (
	fuzzNet  = id.Of("fuzz network")
	fuzzSelf = id.SecretKeyFromSeed("fuzz self")
	fuzzPeer = id.SecretKeyFromSeed("fuzz peer")
	fuzzNow  = time.UnixMilli(1_800_000_000_000)
)

// messageContext is the one part of an actor.Context the discovery
// actor's gossip handlers read, so that FuzzGossipInput can call Receive
// synchronously. Without memberlist attached the handlers start no task
// and send nothing; any other use of the context fails the test loudly
// (a nil-interface panic).
type messageContext struct {
	actor.Context
	msg any
}

func (c messageContext) Message() any { return c.msg }

// newFuzzDiscovery returns a started discovery actor of fuzzSelf, detached
// from memberlist and the actor system, as StartDiscovery would build it.
func newFuzzDiscovery(tb testing.TB) *discoveryActor {
	tb.Helper()
	p := DiscoveryParams{Key: fuzzSelf, Network: fuzzNet, Config: discovery.Config{}.WithDefaults(),
		Now: func() time.Time { return fuzzNow }}
	local, err := discovery.Sign(discovery.Entry{Network: fuzzNet, Peer: fuzzSelf.PeerID(), Version: 1}, fuzzSelf)
	if err != nil {
		tb.Fatal(err)
	}
	core := discovery.NewCatalog(local, p.Config.PurgeAfter)
	d := &Discovery{p: p, events: feed.New[discovery.Event](), watch: discovery.NewWatch(core.Snapshot()),
		broadcasts: &memberlist.TransmitLimitedQueue{NumNodes: func() int { return 1 }, RetransmitMult: 3}}
	if err := d.setHead(local); err != nil {
		tb.Fatal(err)
	}
	return &discoveryActor{d: d, core: core, fetching: map[id.PeerID]bool{}, gossip: map[id.PeerID]string{}}
}

// FuzzGossipInput feeds arbitrary memberlist input to the discovery
// actor: a user message or push-pull state (what NotifyMsg and
// MergeRemoteState hand over, of any payload kind), then a member's name
// and meta (what NotifyJoin and NotifyUpdate carry), then, for odd kinds,
// the member's leave. Nothing may panic; what does not decode is counted
// as rejected; the catalog only ever holds verified entries of our
// network, and our own entry stays ours.
func FuzzGossipInput(f *testing.F) {
	// The meaningful seeds, signed by fuzzPeer, are in testdata/fuzz.
	f.Add(uint8(messages.GossipPayload_KIND_BROADCAST), []byte{0x0a, 0x00}, "node-1", []byte{})
	f.Fuzz(func(t *testing.T, kind uint8, data []byte, name string, meta []byte) {
		a := newFuzzDiscovery(t)
		a.Receive(messageContext{msg: &messages.GossipPayload{Kind: messages.GossipPayload_Kind(kind), Data: bytes.Clone(data)}})
		if !decodes(messages.GossipPayload_Kind(kind), data) && a.d.stats.Rejected.Load() == 0 {
			t.Fatal("an undecodable payload was not counted as rejected")
		}
		a.Receive(messageContext{msg: &messages.GossipMemberAlive{Name: name, Meta: bytes.Clone(meta), Addr: "127.0.0.1:7946"}})
		if kind%2 == 1 {
			a.Receive(messageContext{msg: &messages.GossipMemberGone{Name: name, Left: kind%4 == 1}})
		}
		if local := a.core.Local(); local.Peer() != fuzzSelf.PeerID() || local.Version() != 1 {
			t.Fatalf("local entry replaced by %s version %d", local.Peer().Short(), local.Version())
		}
		for _, s := range a.core.Known() {
			if _, err := discovery.Verify(s.Proto(), a.rules(), fuzzNow); err != nil {
				t.Fatalf("catalog holds an entry that does not verify: %v", err)
			}
		}
		if snap := a.d.Catalog(); snap.Local().Peer != fuzzSelf.PeerID() {
			t.Fatal("published snapshot lost the local entry")
		}
	})
}

// decodes reports whether the discovery actor can read data as a payload
// of kind.
func decodes(kind messages.GossipPayload_Kind, data []byte) bool {
	switch kind {
	case messages.GossipPayload_KIND_BROADCAST:
		return proto.Unmarshal(data, &messages.DiscoveryBroadcast{}) == nil
	case messages.GossipPayload_KIND_REMOTE_STATE, messages.GossipPayload_KIND_SYNC:
		return proto.Unmarshal(data, &messages.CatalogState{}) == nil
	}
	return false
}

// gossipSeeds are FuzzGossipInput's inputs: an entry and a head signed by
// fuzzPeer in every payload kind, and the ways they go wrong.
func gossipSeeds(tb testing.TB) []fuzzseed.Seed {
	tb.Helper()
	wire := func(m proto.Message) []byte {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	entry, err := discovery.Sign(discovery.Entry{Network: fuzzNet, Peer: fuzzPeer.PeerID(), Version: 2,
		Addrs: []string{"127.0.0.1:4000"}, GossipAddr: "127.0.0.1:7946"}, fuzzPeer)
	if err != nil {
		tb.Fatal(err)
	}
	head, err := discovery.EncodeHead(discovery.HeadOf(entry), fuzzPeer)
	if err != nil {
		tb.Fatal(err)
	}
	newer, err := discovery.EncodeHead(discovery.Head{Peer: fuzzPeer.PeerID(), Version: 3, Entry: id.Of("next")}, fuzzPeer)
	if err != nil {
		tb.Fatal(err)
	}
	name := fuzzPeer.PeerID().String()
	broadcast := wire(&messages.DiscoveryBroadcast{Entry: entry.Proto()})
	state := wire(&messages.CatalogState{NetworkId: fuzzNet.Proto(), Sender: fuzzPeer.PeerID().Proto(),
		Entries: []*messages.SignedPeerEntry{entry.Proto()}})
	foreign := wire(&messages.CatalogState{NetworkId: id.Of("elsewhere").Proto(), Entries: []*messages.SignedPeerEntry{entry.Proto()}})
	broadcastKind := uint8(messages.GossipPayload_KIND_BROADCAST)
	stateKind := uint8(messages.GossipPayload_KIND_REMOTE_STATE)
	return []fuzzseed.Seed{
		fuzzseed.Of("broadcast-then-alive", broadcastKind, broadcast, name, head),
		fuzzseed.Of("state-then-left", stateKind, state, name, head),
		fuzzseed.Of("sync-newer-head", uint8(messages.GossipPayload_KIND_SYNC), state, name, newer),
		fuzzseed.Of("other-network", stateKind, foreign, name, head),
		fuzzseed.Of("head-of-another", broadcastKind, broadcast, fuzzSelf.PeerID().String(), head),
		fuzzseed.Of("cut-broadcast", broadcastKind, fuzzseed.Cut(broadcast, 30), name, fuzzseed.Cut(head, 8)),
		fuzzseed.Of("unknown-kind", uint8(200), broadcast, "node-1", []byte{}),
		fuzzseed.Of("self", stateKind, wire(&messages.CatalogState{NetworkId: fuzzNet.Proto()}), fuzzSelf.PeerID().String(), []byte{0x0a}),
	}
}

// FuzzReplicaRecord feeds arbitrary bytes as a group's replica record on
// disk (written by an older version, damaged, or tampered with): loading
// never panics, refuses with an ErrCorruptDataDir that names the file
// (an empty file included: a record is never written empty), and whatever
// it accepts has a replica id and a genesis and survives being saved and
// loaded again unchanged.
func FuzzReplicaRecord(f *testing.F) {
	f.Add([]byte(`{}`)) // the meaningful seeds are in testdata/fuzz
	g := &Groups{p: GroupsParams{DataDir: f.TempDir()}}
	gid := id.Of("fuzz group")
	path := g.recordPath(gid)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		rec, err := g.loadRecord(gid)
		if err != nil {
			if rec != nil || !errors.Is(err, ErrCorruptDataDir) || !strings.Contains(err.Error(), path) {
				t.Fatalf("refused with %v (found %v)", err, rec)
			}
			return
		}
		if rec == nil || rec.Replica == 0 || rec.Genesis.IsZero() {
			t.Fatalf("accepted %+v", rec)
		}
		if err := g.saveRecord(gid, *rec); err != nil {
			t.Fatal(err)
		}
		again, err := g.loadRecord(gid)
		if err != nil || again == nil || *again != *rec {
			t.Fatalf("saved %+v, loaded %+v (%v)", rec, again, err)
		}
	})
}

// recordSeeds are FuzzReplicaRecord's inputs: records as saveRecord
// writes them, and damaged ones.
func recordSeeds() []fuzzseed.Seed {
	var g groups.Genesis
	g[0], g[15] = 0xab, 0x01
	valid := `{"genesis":"` + g.String() + `","replica":12345678901234,"non_voting":true}`
	return []fuzzseed.Seed{
		fuzzseed.Of("valid", []byte(valid)),
		fuzzseed.Of("voting", []byte(`{"genesis":"`+g.String()+`","replica":1,"non_voting":false}`)),
		fuzzseed.Of("no-replica", []byte(`{"genesis":"`+g.String()+`"}`)),
		fuzzseed.Of("bad-genesis", []byte(`{"genesis":"xyz","replica":3}`)),
		fuzzseed.Of("negative-replica", []byte(`{"genesis":"`+g.String()+`","replica":-1}`)),
		fuzzseed.Of("cut", []byte(valid[:len(valid)-10])),
		fuzzseed.Of("empty", []byte{}),
		fuzzseed.Of("not-an-object", []byte(`[1,2,3]`)),
	}
}

// TestFuzzCorpus keeps testdata/fuzz in step with the seeds above; see
// package fuzzseed.
func TestFuzzCorpus(t *testing.T) {
	fuzzseed.Sync(t, "FuzzGossipInput", gossipSeeds(t)...)
	fuzzseed.Sync(t, "FuzzReplicaRecord", recordSeeds()...)
	valid := snapshotFile(t, []byte("the machine's own snapshot"))
	fuzzseed.Sync(t, "FuzzSnapshotFile",
		fuzzseed.Of("valid", valid),
		fuzzseed.Of("empty-payload", snapshotFile(t, nil)),
		fuzzseed.Of("truncated", fuzzseed.Cut(valid, len(valid)/2)),
		fuzzseed.Of("flipped", append(bytes.Clone(valid[:snapshotHeaderSize]), append([]byte{valid[snapshotHeaderSize] ^ 1}, valid[snapshotHeaderSize+1:]...)...)),
	)
}

// TestGossipHarnessMergesEntries shows that FuzzGossipInput's direct
// calls reach the catalog: the broadcast seed adds fuzzPeer, the
// foreign-network seed adds nothing and counts a rejection.
func TestGossipHarnessMergesEntries(t *testing.T) {
	seeds := gossipSeeds(t)
	for _, tc := range []struct {
		seed     fuzzseed.Seed
		held     bool
		rejected uint64
	}{{seeds[0], true, 0}, {seeds[3], false, 1}} {
		a := newFuzzDiscovery(t)
		kind, data := tc.seed.Args[0].(uint8), tc.seed.Args[1].([]byte)
		a.Receive(messageContext{msg: &messages.GossipPayload{Kind: messages.GossipPayload_Kind(kind), Data: data}})
		if _, held := a.d.Catalog().Get(fuzzPeer.PeerID()); held != tc.held || a.d.stats.Rejected.Load() != tc.rejected {
			t.Fatalf("%s: peer held %v, %d rejected", tc.seed.Name, held, a.d.stats.Rejected.Load())
		}
	}
}
