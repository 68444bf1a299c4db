package groups

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
)

func TestPairOf(t *testing.T) {
	lo, hi := lowHigh()
	if PairOf(lo, hi) != PairOf(hi, lo) || PairOf(hi, lo).A != lo {
		t.Fatalf("PairOf is not ordered: %v", PairOf(hi, lo))
	}
	p := PairOf(hi, lo)
	if !p.Has(lo) || !p.Has(hi) || p.Has(id.SecretKeyFromSeed("z").PeerID()) {
		t.Fatal("Has is wrong")
	}
}

func TestBondMessagesRoundTrip(t *testing.T) {
	lo, hi := lowHigh()
	tests := []struct {
		name  string
		msg   *messages.BondMessage
		check func(*messages.BondMessage) bool
	}{
		{"ping", PingMessage(7), func(m *messages.BondMessage) bool { return m.GetPing().GetSeq() == 7 }},
		{"pong", PongMessage(8), func(m *messages.BondMessage) bool { return m.GetPong().GetSeq() == 8 }},
		{"departure", DepartureMessage("closing"), func(m *messages.BondMessage) bool { return m.GetDeparture().GetReason() == "closing" }},
		{"entry update", PeerEntryUpdateMessage(&messages.SignedPeerEntry{Entry: []byte{1}, Signature: []byte{2}}), func(m *messages.BondMessage) bool {
			return string(m.GetPeerEntryUpdate().GetEntry().GetEntry()) == "\x01"
		}},
		{"bond formed", BondFormedMessage(PairOf(hi, lo)), func(m *messages.BondMessage) bool {
			p, err := BondFormedPair(m.GetBondFormed())
			return err == nil && p == PairOf(lo, hi)
		}},
		{"raft", RaftMessage([]byte("batch")), func(m *messages.BondMessage) bool { return string(m.GetRaft().GetData()) == "batch" }},
	}
	for _, tc := range tests {
		b, err := proto.Marshal(tc.msg)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		m, err := DecodeBondMessage(b)
		if err != nil || !tc.check(m) {
			t.Errorf("%s: decoded %v, %v", tc.name, m, err)
		}
	}
}

func TestCheckBondMessage(t *testing.T) {
	lo, _ := lowHigh()
	tests := []struct {
		name string
		msg  *messages.BondMessage
		ok   bool
	}{
		{"nil", nil, false},
		{"no kind counts as a heartbeat", &messages.BondMessage{}, true},
		{"entry update without an entry", &messages.BondMessage{Kind: &messages.BondMessage_PeerEntryUpdate{PeerEntryUpdate: &messages.PeerEntryUpdate{}}}, false},
		{"bond formed with itself", BondFormedMessage(Pair{A: lo, B: lo}), false},
		{"bond formed missing b", &messages.BondMessage{Kind: &messages.BondMessage_BondFormed{BondFormed: &messages.BondFormed{A: lo.Proto()}}}, false},
		{"bond formed with a short id", &messages.BondMessage{Kind: &messages.BondMessage_BondFormed{BondFormed: &messages.BondFormed{A: lo.Proto(), B: &messages.PeerId{Value: []byte{1}}}}}, false},
		{"empty raft frame", RaftMessage(nil), true},
		{"empty ping", &messages.BondMessage{Kind: &messages.BondMessage_Ping{}}, true},
	}
	for _, tc := range tests {
		err := CheckBondMessage(tc.msg)
		if (err == nil) != tc.ok {
			t.Errorf("%s: CheckBondMessage = %v", tc.name, err)
		}
		if err != nil && !errors.Is(err, ErrBadBondMessage) {
			t.Errorf("%s: %v does not wrap ErrBadBondMessage", tc.name, err)
		}
	}
}

func TestDecodeBondMessage(t *testing.T) {
	// A kind from a newer version: field 99, a length-delimited message.
	newer := protowire.AppendTag(nil, 99, protowire.BytesType)
	newer = protowire.AppendBytes(newer, []byte{0x08, 0x01})
	tests := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"empty frame", nil, true},
		{"a kind this version does not know", newer, true},
		{"garbage", []byte{0xff, 0xff}, false},
		{"truncated ping", []byte{0x0a, 0x05, 0x08}, false},
	}
	for _, tc := range tests {
		_, err := DecodeBondMessage(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("%s: DecodeBondMessage = %v", tc.name, err)
		}
		if err != nil && !errors.Is(err, ErrBadBondMessage) {
			t.Errorf("%s: %v does not wrap ErrBadBondMessage", tc.name, err)
		}
	}
}

func TestDepartureMessageAlwaysEncodes(t *testing.T) {
	tests := []struct {
		name   string
		reason string
	}{
		{"plain", "leaving"},
		{"invalid UTF-8", "bad \xff\xfe bytes"},
		{"long", strings.Repeat("x", 10*MaxDepartureReason)},
		{"long, cut inside a rune", strings.Repeat("x", MaxDepartureReason-1) + "é and more"},
	}
	for _, tc := range tests {
		m := DepartureMessage(tc.reason)
		r := m.GetDeparture().GetReason()
		if !utf8.ValidString(r) || len(r) > MaxDepartureReason {
			t.Errorf("%s: reason %q", tc.name, r)
		}
		if _, err := proto.Marshal(m); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
