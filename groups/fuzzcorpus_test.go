package groups

import (
	"bytes"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/fuzzseed"
	"github.com/mosaikgo/mosaik/messages"
)

// TestFuzzCorpus keeps testdata/fuzz in step with the inputs below; see
// package fuzzseed. The handshakes are built by the real encoders from the
// handshake fixture, whose keys and connection secrets are fixed.
func TestFuzzCorpus(t *testing.T) {
	wire := func(m proto.Message) []byte {
		t.Helper()
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	fx := newHandshakeFixture()
	start := wire(fx.start())
	badBond := fx.start()
	badBond.KnownBonds = append(badBond.KnownBonds, &messages.PeerId{Value: []byte{1}})
	bigGenesis := fx.start()
	bigGenesis.Genesis = make([]byte, MaxGenesisSize+1)
	fuzzseed.Sync(t, "FuzzHandshakeStart",
		fuzzseed.Of("valid", start),
		fuzzseed.Of("no-bonds", wire(Start{Network: fx.network, Group: fx.group}.Proto(fx.key, fx.secret(fx.conn), fx.dialer))),
		fuzzseed.Of("wrong-key", wire(Start{Network: fx.network, Group: fx.group}.Proto(fx.wrongKey, fx.secret(fx.conn), fx.dialer))),
		fuzzseed.Of("replayed", wire(Start{Network: fx.network, Group: fx.group}.Proto(fx.key, fx.secret(fx.other), fx.dialer))),
		fuzzseed.Of("other-network", wire(Start{Network: fx.otherNet, Group: fx.group}.Proto(fx.key, fx.secret(fx.conn), fx.dialer))),
		fuzzseed.Of("unknown-group", wire(Start{Network: fx.network, Group: fx.unknown}.Proto(fx.key, fx.secret(fx.conn), fx.dialer))),
		fuzzseed.Of("malformed-bond", wire(badBond)),
		fuzzseed.Of("oversized-genesis", wire(bigGenesis)),
		fuzzseed.Of("cut", fuzzseed.Cut(start, 40)),
	)

	end := wire(End{KnownBonds: []id.PeerID{fx.dialer}, Genesis: genesisN(3).Bytes()}.Proto(fx.key, fx.secret(fx.conn), fx.acceptor))
	fuzzseed.Sync(t, "FuzzHandshakeEnd",
		fuzzseed.Of("valid", end),
		fuzzseed.Of("dialers-proof", wire(End{}.Proto(fx.key, fx.secret(fx.conn), fx.dialer))),
		fuzzseed.Of("short-proof", wire(&messages.HandshakeEnd{Proof: []byte{1, 2, 3}})),
		fuzzseed.Of("cut", fuzzseed.Cut(end, 20)),
	)

	lo, hi := lowHigh()
	formed := wire(BondFormedMessage(PairOf(lo, hi)))
	fuzzseed.Sync(t, "FuzzBondMessage",
		fuzzseed.Of("ping", wire(PingMessage(1<<40))),
		fuzzseed.Of("departure", wire(DepartureMessage(strings.Repeat("bye ", 40)))),
		fuzzseed.Of("bond-formed", formed),
		fuzzseed.Of("bond-with-self", wire(&messages.BondMessage{Kind: &messages.BondMessage_BondFormed{
			BondFormed: &messages.BondFormed{A: lo.Proto(), B: lo.Proto()}}})),
		fuzzseed.Of("entry-update", wire(PeerEntryUpdateMessage(&messages.SignedPeerEntry{Entry: []byte("entry"), Signature: bytes.Repeat([]byte{9}, 64)}))),
		fuzzseed.Of("entry-update-empty", wire(&messages.BondMessage{Kind: &messages.BondMessage_PeerEntryUpdate{}})),
		fuzzseed.Of("raft", wire(RaftMessage(append([]byte{1}, bytes.Repeat([]byte{0x42}, 100)...)))),
		fuzzseed.Of("progress", wire(ProgressMessage(Progress{Genesis: genesisN(3), Replica: 7, Applied: 42, Term: 2, KnowsLeader: true}))),
		fuzzseed.Of("progress-leader", wire(ProgressMessage(Progress{Genesis: genesisN(3), Replica: 7, Applied: 42, Term: 2, Leader: true, KnowsLeader: true,
			Committee: &Committee{ConfigChangeID: 9, Voters: []uint64{7, 8, 9}, NonVoting: []uint64{10}, Settled: true}, Parent: genesisN(2)}))),
		fuzzseed.Of("progress-bad-genesis", wire(&messages.BondMessage{Kind: &messages.BondMessage_Progress{Progress: &messages.Progress{Genesis: []byte{1, 2, 3}}}})),
		fuzzseed.Of("progress-huge-committee", wire(&messages.BondMessage{Kind: &messages.BondMessage_Progress{Progress: &messages.Progress{
			Committee: &messages.Committee{Voters: make([]uint64, MaxCommitteeReplicas+1)}}}})),
		fuzzseed.Of("unknown-kind", []byte{0xfa, 0x01, 0x02, 0x08, 0x01}),
		fuzzseed.Of("cut", fuzzseed.Cut(formed, 5)),
	)

	g := genesisN(0xab)
	fuzzseed.Sync(t, "FuzzGenesisFromBytes",
		fuzzseed.Of("genesis", g.Bytes()),
		fuzzseed.Of("short", g.Bytes()[:GenesisSize-1]),
		fuzzseed.Of("long", append(g.Bytes(), 0)),
		fuzzseed.Of("zero", make([]byte, GenesisSize)),
	)
	fuzzseed.Sync(t, "FuzzParseGenesis",
		fuzzseed.Of("genesis", g.String()),
		fuzzseed.Of("upper-case", strings.ToUpper(g.String())),
		fuzzseed.Of("not-hex", strings.Repeat("zz", GenesisSize)),
		fuzzseed.Of("odd-length", g.String()[1:]),
		fuzzseed.Of("multibyte", strings.Repeat("é", GenesisSize)),
	)
}
