package discovery

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/fuzzseed"
	"github.com/mosaikgo/mosaik/messages"
)

// TestFuzzCorpus keeps testdata/fuzz in step with the inputs below; see
// package fuzzseed. Every signature is made by the real signer with fixed
// keys, so the files regenerate byte for byte.
func TestFuzzCorpus(t *testing.T) {
	key := id.SecretKeyFromSeed("fuzz")
	sign := func(e Entry) Signed {
		t.Helper()
		e.Peer = key.PeerID()
		if e.Network.IsZero() {
			e.Network = testNet
		}
		s, err := Sign(e, key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	wire := func(m proto.Message) []byte {
		t.Helper()
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	g := id.Of("group")
	full := sign(Entry{
		Version: uint64(t0.UnixMilli()), Addrs: []string{"127.0.0.1:4000", "[::1]:4000"}, GossipAddr: "127.0.0.1:4001",
		Tags: []id.Tag{id.Of("a"), id.Of("b")}, Groups: []id.GroupID{g, id.Of("other group")}, Streams: []id.StreamID{id.Of("s")},
		Tickets: []Ticket{{Class: id.Of("test class"), Data: []byte("ticket")}},
		Shards:  map[id.GroupID]ShardAd{g: {Genesis: make([]byte, 16), Replica: 7, Observer: true}},
	})
	fullWire := wire(full.Proto())
	tampered := full.Proto()
	tampered.Signature = fuzzseed.Flip(tampered.Signature, 0)
	fuzzseed.Sync(t, "FuzzVerify",
		fuzzseed.Of("full-entry", fullWire),
		fuzzseed.Of("departing", wire(sign(Entry{Version: 5, Departing: true}).Proto())),
		fuzzseed.Of("other-network", wire(sign(Entry{Network: id.Of("elsewhere"), Version: 1}).Proto())),
		fuzzseed.Of("future-version", wire(sign(Entry{Version: uint64(t0.Add(time.Hour).UnixMilli())}).Proto())),
		fuzzseed.Of("too-large", wire(sign(Entry{Version: 1, Tickets: paddingTickets(5000)}).Proto())),
		fuzzseed.Of("bad-signature", wire(tampered)),
		fuzzseed.Of("unsigned", wire(&messages.SignedPeerEntry{Entry: full.Proto().Entry})),
		fuzzseed.Of("cut", fuzzseed.Cut(fullWire, 70)),
		fuzzseed.Of("short-peer-id", wire(&messages.SignedPeerEntry{Entry: wire(&messages.PeerEntry{
			NetworkId: testNet.Proto(), PeerId: &messages.PeerId{Value: []byte{1, 2, 3}}})})),
	)

	head, err := EncodeHead(HeadOf(full), key)
	if err != nil {
		t.Fatal(err)
	}
	var other messages.PeerHead
	if err := proto.Unmarshal(head, &other); err != nil {
		t.Fatal(err)
	}
	other.Version++ // signed for another version
	fuzzseed.Sync(t, "FuzzDecodeHead",
		fuzzseed.Of("head", head),
		fuzzseed.Of("wrong-version", wire(&other)),
		fuzzseed.Of("cut", fuzzseed.Cut(head, 10)),
		fuzzseed.Of("no-digest", wire(&messages.PeerHead{PeerId: key.PeerID().Proto(), Version: 1})),
	)

	older := sign(Entry{Version: 1})
	state := func(entries ...Signed) *messages.CatalogState {
		st := &messages.CatalogState{NetworkId: testNet.Proto(), Sender: key.PeerID().Proto()}
		for _, s := range entries {
			st.Entries = append(st.Entries, s.Proto())
		}
		return st
	}
	both := wire(state(older, full))
	foreign := state(full)
	foreign.NetworkId = id.Of("elsewhere").Proto()
	fuzzseed.Sync(t, "FuzzMergeState",
		fuzzseed.Of("two-versions", both),
		fuzzseed.Of("newest-first", wire(state(full, older))),
		fuzzseed.Of("other-network", wire(foreign)),
		fuzzseed.Of("with-garbage", wire(&messages.CatalogState{NetworkId: testNet.Proto(),
			Entries: []*messages.SignedPeerEntry{older.Proto(), {Entry: []byte{0xff}}, {}}})),
		fuzzseed.Of("cut", fuzzseed.Cut(both, 30)),
	)

	// FuzzSyncRequest's connection and dialer, as the target has them.
	conn, dialer := connSecrets("fuzz conn"), id.SecretKeyFromSeed("fuzz dialer").PeerID()
	request := func(a Admission, ask SyncAsk) []byte {
		t.Helper()
		m, err := a.Request(conn, dialer, ask)
		if err != nil {
			t.Fatal(err)
		}
		return wire(m)
	}
	closed := NewAdmission(testNet, []byte("fuzz secret"))
	proven := request(closed, SyncAsk{Only: key.PeerID(), Push: true})
	fuzzseed.Sync(t, "FuzzSyncRequest",
		fuzzseed.Of("proven", proven),
		fuzzseed.Of("open", request(NewAdmission(testNet, nil), SyncAsk{Push: true})),
		fuzzseed.Of("wrong-secret", request(NewAdmission(testNet, []byte("guess")), SyncAsk{})),
		fuzzseed.Of("other-network", request(NewAdmission(id.Of("elsewhere"), []byte("fuzz secret")), SyncAsk{})),
		fuzzseed.Of("zero-only", wire(&messages.SyncRequest{NetworkId: testNet.Proto(), Only: &messages.PeerId{Value: make([]byte, 32)}})),
		fuzzseed.Of("cut", fuzzseed.Cut(proven, 20)),
	)
}
