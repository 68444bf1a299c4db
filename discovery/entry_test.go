package discovery

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
)

var (
	testNet = id.Of("test-network")
	t0      = time.UnixMilli(1_800_000_000_000)
)

func rules() Rules {
	return Rules{Network: testNet, MaxClockDrift: time.Minute, MaxEntrySize: 4096}
}

// signedEntry signs an entry for key at version with the given tags.
func signedEntry(t testing.TB, key id.SecretKey, version uint64, tags ...string) Signed {
	t.Helper()
	e := Entry{Network: testNet, Peer: key.PeerID(), Version: version, Addrs: []string{"mem:1"}}
	for _, tag := range tags {
		e.Tags = append(e.Tags, id.Of(tag))
	}
	s, err := Sign(e, key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerify(t *testing.T) {
	key := id.NewSecretKey()
	good := signedEntry(t, key, uint64(t0.UnixMilli()), "web")

	otherNet, err := Sign(Entry{Network: id.Of("elsewhere"), Peer: key.PeerID(), Version: 1}, key)
	if err != nil {
		t.Fatal(err)
	}
	future := signedEntry(t, key, uint64(t0.Add(2*time.Minute).UnixMilli()))
	bigEntry := Entry{Network: testNet, Peer: key.PeerID(), Version: 1, Tickets: paddingTickets(5000)}
	bigSigned, err := Sign(bigEntry, key)
	if err != nil {
		t.Fatal(err)
	}
	forged := good.Proto()
	forged.Signature = append([]byte(nil), forged.Signature...)
	forged.Signature[0] ^= 1
	// An entry signed by one key but naming another peer.
	impostor := id.NewSecretKey()
	stolen := signedEntry(t, impostor, 1).Proto()
	var pm messages.PeerEntry
	if err := proto.Unmarshal(stolen.Entry, &pm); err != nil {
		t.Fatal(err)
	}
	pm.PeerId = key.PeerID().Proto()
	stolen.Entry, _ = proto.Marshal(&pm)

	tests := []struct {
		name string
		in   *messages.SignedPeerEntry
		want error
	}{
		{"valid", good.Proto(), nil},
		{"another network", otherNet.Proto(), ErrWrongNetwork},
		{"version beyond clock drift", future.Proto(), ErrFutureVersion},
		{"oversized", bigSigned.Proto(), ErrEntryTooLarge},
		{"flipped signature bit", forged, ErrBadSignature},
		{"signed by someone else", stolen, ErrBadSignature},
		{"garbage bytes", &messages.SignedPeerEntry{Entry: []byte{0xff, 0x01}}, ErrMalformed},
		{"missing peer id", &messages.SignedPeerEntry{Entry: mustMarshal(t, &messages.PeerEntry{NetworkId: testNet.Proto()})}, ErrMalformed},
		{"nil message", nil, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Verify(tc.in, rules(), t0)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err == nil && (got.Digest() != good.Digest() || got.Entry().Tags[0] != id.Of("web")) {
				t.Fatal("verified entry differs from the signed one")
			}
		})
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSignRefusesAnotherKey(t *testing.T) {
	if _, err := Sign(Entry{Peer: id.NewSecretKey().PeerID()}, id.NewSecretKey()); err == nil {
		t.Fatal("signed another peer's entry")
	}
}

func TestHeadRoundTripAndFitsMeta(t *testing.T) {
	key := id.NewSecretKey()
	s := signedEntry(t, key, ^uint64(0))
	b, err := EncodeHead(HeadOf(s), key)
	if err != nil {
		t.Fatal(err)
	}
	// memberlist refuses node meta over 512 bytes.
	if len(b) > 512 {
		t.Fatalf("head is %d bytes; memberlist meta is capped at 512", len(b))
	}
	h, err := DecodeHead(b)
	if err != nil || h != HeadOf(s) {
		t.Fatalf("DecodeHead = %+v, %v", h, err)
	}
	b[len(b)-1] ^= 1
	if _, err := DecodeHead(b); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("tampered head: %v", err)
	}
	if _, err := DecodeHead([]byte{0xff}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("garbage head: %v", err)
	}
}

func TestNextVersion(t *testing.T) {
	now := t0
	if v := NextVersion(0, now); v != uint64(now.UnixMilli()) {
		t.Fatalf("first version %d, want the clock", v)
	}
	ahead := uint64(now.UnixMilli()) + 10
	if v := NextVersion(ahead, now); v != ahead+1 {
		t.Fatalf("after a version ahead of the clock: %d, want %d", v, ahead+1)
	}
}

func TestNewerIsATotalOrder(t *testing.T) {
	key := id.NewSecretKey()
	a, b := signedEntry(t, key, 5, "a"), signedEntry(t, key, 5, "b")
	if a.Newer(b) == b.Newer(a) {
		t.Fatal("equal versions: exactly one of two different entries must win")
	}
	if a.Newer(a) {
		t.Fatal("an entry is newer than itself")
	}
	if !signedEntry(t, key, 6).Newer(a) || a.Newer(signedEntry(t, key, 6)) {
		t.Fatal("higher version does not win")
	}
}

// paddingTickets is n bytes of tickets that no validator reads, in
// tickets of at most MaxTicketSize: a way to make an entry large.
func paddingTickets(n int) []Ticket {
	var out []Ticket
	for n > 0 {
		size := min(n, MaxTicketSize)
		out = append(out, Ticket{Class: id.Of("test/padding"), Data: make([]byte, size)})
		n -= size
	}
	return out
}
