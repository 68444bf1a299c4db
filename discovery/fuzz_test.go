package discovery

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
)

// FuzzVerify feeds arbitrary bytes as a signed entry from the network:
// nothing may panic, refusals are the documented errors, and anything
// accepted must re-verify identically.
func FuzzVerify(f *testing.F) {
	key := id.SecretKeyFromSeed("fuzz")
	good, err := Sign(Entry{Network: testNet, Peer: key.PeerID(), Version: 1, Addrs: []string{"127.0.0.1:1"}, Tags: []id.Tag{id.Of("t")}}, key)
	if err != nil {
		f.Fatal(err)
	}
	wire, _ := proto.Marshal(good.Proto())
	f.Add(wire)
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x02, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		var m messages.SignedPeerEntry
		if proto.Unmarshal(in, &m) != nil {
			return
		}
		s, err := Verify(&m, rules(), t0)
		if err != nil {
			if !documented(err) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		again, err := Verify(s.Proto(), rules(), t0)
		if err != nil || again.Digest() != s.Digest() {
			t.Fatalf("accepted entry does not re-verify: %v", err)
		}
	})
}

// documented reports whether err is one of the rejections Verify
// documents.
func documented(err error) bool {
	for _, e := range []error{ErrMalformed, ErrBadSignature, ErrWrongNetwork, ErrFutureVersion, ErrEntryTooLarge} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// FuzzDecodeHead feeds arbitrary memberlist meta: refusals are
// ErrMalformed or ErrBadSignature, and an accepted head names a peer.
func FuzzDecodeHead(f *testing.F) {
	key := id.SecretKeyFromSeed("fuzz")
	b, err := EncodeHead(Head{Peer: key.PeerID(), Version: 3, Entry: id.Of("x")}, key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		h, err := DecodeHead(in)
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrBadSignature) {
			t.Fatalf("undocumented error %v", err)
		}
		if err == nil && h.Peer.IsZero() {
			t.Fatal("accepted a head without a peer")
		}
	})
}

// FuzzMergeState merges arbitrary push-pull state into a catalog: invalid
// entries are dropped, valid ones merged, and the catalog stays consistent.
func FuzzMergeState(f *testing.F) {
	key := id.SecretKeyFromSeed("fuzz-peer")
	s, err := Sign(Entry{Network: testNet, Peer: key.PeerID(), Version: 2}, key)
	if err != nil {
		f.Fatal(err)
	}
	st, _ := proto.Marshal(&messages.CatalogState{NetworkId: testNet.Proto(), Entries: []*messages.SignedPeerEntry{s.Proto(), {Entry: []byte{1}}}})
	f.Add(st)
	f.Add([]byte{0x12, 0x00})
	self := id.SecretKeyFromSeed("fuzz-self")
	local, err := Sign(Entry{Network: testNet, Peer: self.PeerID(), Version: 1}, self)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var m messages.CatalogState
		if proto.Unmarshal(in, &m) != nil {
			return
		}
		c := NewCatalog(local, 0)
		accepted := 0
		for _, e := range m.GetEntries() {
			v, err := Verify(e, rules(), t0)
			if err != nil {
				continue
			}
			accepted++
			c.Offer(v, t0)
		}
		snap := c.Snapshot()
		if snap.Len() < 1 || snap.Len() > accepted+1 {
			t.Fatalf("catalog holds %d entries from %d accepted", snap.Len(), accepted)
		}
	})
}
