package groups

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/transport"
)

// FuzzHandshakeStart feeds arbitrary bytes as a dialer's first frame:
// nothing may panic, every refusal carries one of the documented codes,
// and nothing without the right proof is accepted.
func FuzzHandshakeStart(f *testing.F) {
	fx := newHandshakeFixture()
	seeds := []*messages.HandshakeStart{
		fx.start(),
		Start{Network: fx.network, Group: fx.group}.Proto(fx.key, fx.secret(fx.other), fx.dialer),  // replay
		Start{Network: fx.network, Group: fx.group}.Proto(fx.key, fx.secret(fx.conn), fx.acceptor), // acceptor's proof
		Start{Network: fx.otherNet, Group: fx.group}.Proto(fx.key, fx.secret(fx.conn), fx.dialer),
		Start{Network: fx.network, Group: fx.unknown}.Proto(fx.key, fx.secret(fx.conn), fx.dialer),
		{},
	}
	for _, s := range seeds {
		b, err := proto.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x02, 0x0a, 0x00})
	f.Add([]byte{0x22, 0x03, 0x0a, 0x01, 0x00})

	documented := []transport.CloseCode{
		transport.CodeDifferentNetwork,
		transport.CodeBadHandshake,
		transport.CodeNotAllowed,
		transport.CodeGroupNotFound,
		transport.CodeInvalidProof,
	}
	fx.authorized = []id.PeerID{fx.dialer}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := DecodeHandshakeStart(in)
		if err != nil {
			if codeOf(t, err) != transport.CodeBadHandshake {
				t.Fatalf("decode failure with %v", err)
			}
			return
		}
		start, err := VerifyStart(m, fx.network, fx.lookup, fx.conn, fx.dialer)
		if err != nil {
			if code := codeOf(t, err); !slices.Contains(documented, code) {
				t.Fatalf("undocumented code %d: %v", code, err)
			}
			return
		}
		if start.Network != fx.network || start.Group != fx.group {
			t.Fatalf("accepted %+v", start)
		}
		if !VerifyProof(fx.key, fx.secret(fx.conn), fx.dialer, m.GetProof()) {
			t.Fatal("accepted a proof that does not verify")
		}
		if len(start.Genesis) > MaxGenesisSize || len(start.KnownBonds) != len(m.GetKnownBonds()) {
			t.Fatalf("accepted %d bytes of genesis, %d of %d bonds", len(start.Genesis), len(start.KnownBonds), len(m.GetKnownBonds()))
		}
	})
}

// FuzzHandshakeEnd feeds arbitrary bytes as an acceptor's answer: every
// refusal carries 30_400 or 30_405, and nothing without the acceptor's
// proof is accepted.
func FuzzHandshakeEnd(f *testing.F) {
	fx := newHandshakeFixture()
	good, _ := proto.Marshal(End{KnownBonds: []id.PeerID{fx.dialer}}.Proto(fx.key, fx.secret(fx.conn), fx.acceptor))
	f.Add(good)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := DecodeHandshakeEnd(in)
		if err != nil {
			if codeOf(t, err) != transport.CodeBadHandshake {
				t.Fatalf("decode failure with %v", err)
			}
			return
		}
		if _, err := VerifyEnd(m, fx.key, fx.secret(fx.conn), fx.acceptor); err != nil {
			if code := codeOf(t, err); code != transport.CodeBadHandshake && code != transport.CodeInvalidProof {
				t.Fatalf("undocumented code %d: %v", code, err)
			}
			return
		}
		if !VerifyProof(fx.key, fx.secret(fx.conn), fx.acceptor, m.GetProof()) {
			t.Fatal("accepted a proof that does not verify")
		}
	})
}

// FuzzBondMessage feeds arbitrary bytes as a bond frame through the
// decoder and every helper an actor uses on the result.
func FuzzBondMessage(f *testing.F) {
	lo, hi := lowHigh()
	for _, m := range []*messages.BondMessage{
		PingMessage(1),
		PongMessage(1 << 60),
		DepartureMessage("bye"),
		PeerEntryUpdateMessage(&messages.SignedPeerEntry{Entry: []byte("e"), Signature: []byte("s")}),
		BondFormedMessage(PairOf(lo, hi)),
		RaftMessage([]byte("batch")),
		{},
	} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x2a, 0x02, 0x0a, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := DecodeBondMessage(in)
		if err != nil {
			if !errors.Is(err, ErrBadBondMessage) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		switch k := m.GetKind().(type) {
		case *messages.BondMessage_BondFormed:
			p, err := BondFormedPair(k.BondFormed)
			if err != nil || p.A == p.B || p.B.Less(p.A) {
				t.Fatalf("accepted bond formed %v: %v", p, err)
			}
		case *messages.BondMessage_PeerEntryUpdate:
			if k.PeerEntryUpdate.GetEntry() == nil {
				t.Fatal("accepted an entry update without an entry")
			}
		case *messages.BondMessage_Departure:
			if _, err := proto.Marshal(DepartureMessage(k.Departure.GetReason())); err != nil {
				t.Fatalf("reason does not re-encode: %v", err)
			}
		case *messages.BondMessage_Progress:
			p, err := ProgressFromProto(k.Progress)
			if err != nil {
				t.Fatalf("accepted a progress that does not read: %v", err)
			}
			again, err := ProgressFromProto(ProgressMessage(p).GetProgress())
			if err != nil || again.Genesis != p.Genesis || again.Applied != p.Applied || again.KnowsLeader != p.KnowsLeader ||
				(p.Committee == nil) != (again.Committee == nil) {
				t.Fatalf("progress %+v came back as %+v (%v)", p, again, err)
			}
		}
		if CheckBondMessage(m) != nil {
			t.Fatal("a decoded message fails its own check")
		}
	})
}

// FuzzParseGenesis feeds arbitrary text as the genesis a replica record
// stores on disk: anything accepted prints back as itself, lower-cased,
// and every refusal is an ErrBadGenesis.
func FuzzParseGenesis(f *testing.F) {
	f.Add(genesisN(7).String())
	f.Add(strings.ToUpper(genesisN(7).String()))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseGenesis(s)
		if err != nil {
			if !errors.Is(err, ErrBadGenesis) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		if g.String() != strings.ToLower(s) {
			t.Fatalf("%q read back as %q", s, g.String())
		}
		if again, err := GenesisFromBytes(g.Bytes()); err != nil || again != g {
			t.Fatalf("wire form of %s reads back as %s, %v", g, again, err)
		}
	})
}
