package id

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/internal/fuzzseed"
	"github.com/mosaikgo/mosaik/messages"
)

// FuzzParseID feeds arbitrary text as a peer id (memberlist node names,
// Raft addresses) and as a digest (ids in configuration and records):
// what parses prints back as itself, lower-cased, through String and
// MarshalText alike; everything else is ErrBadPeerID or ErrBadDigest.
func FuzzParseID(f *testing.F) {
	f.Add(SecretKeyFromSeed("fuzz").PeerID().String())
	f.Add(strings.ToUpper(Of("x").String()))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, perr := ParsePeerID(s)
		var pt PeerID
		if terr := pt.UnmarshalText([]byte(s)); (terr == nil) != (perr == nil) || (terr == nil && pt != p) {
			t.Fatalf("UnmarshalText %v, ParsePeerID %v", terr, perr)
		}
		switch {
		case perr != nil && !errors.Is(perr, ErrBadPeerID):
			t.Fatalf("peer id: undocumented error %v", perr)
		case perr == nil && p.String() != strings.ToLower(s):
			t.Fatalf("peer id %q prints as %q", s, p)
		}
		d, derr := ParseDigest(s)
		var dt Digest
		if terr := dt.UnmarshalText([]byte(s)); (terr == nil) != (derr == nil) || (terr == nil && dt != d) {
			t.Fatalf("UnmarshalText %v, ParseDigest %v", terr, derr)
		}
		switch {
		case derr != nil && !errors.Is(derr, ErrBadDigest):
			t.Fatalf("digest: undocumented error %v", derr)
		case derr == nil && d.String() != strings.ToLower(s):
			t.Fatalf("digest %q prints as %q", s, d)
		}
		if (perr == nil) != (derr == nil) {
			t.Fatalf("peer ids and digests disagree on %q: %v, %v", s, perr, derr)
		}
	})
}

// FuzzIDFromProto decodes arbitrary bytes as the PeerId and Digest wire
// messages and reads ids from them: an id is accepted exactly when the
// value has 32 bytes, with a documented error otherwise, and an accepted
// id's wire form carries the same value.
func FuzzIDFromProto(f *testing.F) {
	b, err := proto.Marshal(Of("x").Proto())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		var pm messages.PeerId
		if proto.Unmarshal(in, &pm) == nil {
			p, err := PeerIDFromProto(&pm)
			if (err == nil) != (len(pm.GetValue()) == PeerIDSize) || (err != nil && !errors.Is(err, ErrBadPeerID)) {
				t.Fatalf("%d-byte peer id: %v", len(pm.GetValue()), err)
			}
			if err == nil && string(p.Proto().GetValue()) != string(pm.GetValue()) {
				t.Fatal("peer id does not round trip")
			}
		}
		var dm messages.Digest
		if proto.Unmarshal(in, &dm) == nil {
			d, err := DigestFromProto(&dm)
			if (err == nil) != (len(dm.GetValue()) == DigestSize) || (err != nil && !errors.Is(err, ErrBadDigest)) {
				t.Fatalf("%d-byte digest: %v", len(dm.GetValue()), err)
			}
			if err == nil && string(d.Proto().GetValue()) != string(dm.GetValue()) {
				t.Fatal("digest does not round trip")
			}
		}
		if _, err := PeerIDFromProto(nil); !errors.Is(err, ErrBadPeerID) {
			t.Fatalf("missing peer id: %v", err)
		}
	})
}

// TestFuzzCorpus keeps testdata/fuzz in step with the inputs below; see
// package fuzzseed.
func TestFuzzCorpus(t *testing.T) {
	peer := SecretKeyFromSeed("fuzz").PeerID().String()
	fuzzseed.Sync(t, "FuzzParseID",
		fuzzseed.Of("peer", peer),
		fuzzseed.Of("upper-case", strings.ToUpper(peer)),
		fuzzseed.Of("short", peer[:63]),
		fuzzseed.Of("not-hex", "g"+peer[1:]),
		fuzzseed.Of("multibyte", strings.Repeat("é", 32)),
		fuzzseed.Of("memberlist-name", "node-1"),
	)
	wire := func(m proto.Message) []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := wire(Of("x").Proto())
	fuzzseed.Sync(t, "FuzzIDFromProto",
		fuzzseed.Of("digest", good),
		fuzzseed.Of("short-value", wire(&messages.Digest{Value: make([]byte, 31)})),
		fuzzseed.Of("long-value", wire(&messages.Digest{Value: make([]byte, 33)})),
		fuzzseed.Of("repeated-field", append(wire(&messages.Digest{Value: []byte{1}}), good...)),
		fuzzseed.Of("unknown-field", append(good, 0x10, 0x01)),
		fuzzseed.Of("cut", fuzzseed.Cut(good, 1)),
	)
}
