package id

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mosaikgo/mosaik/messages"
)

func TestSecretKeyFromSeedIsStable(t *testing.T) {
	a, b := SecretKeyFromSeed("beacon-1"), SecretKeyFromSeed("beacon-1")
	if a.PeerID() != b.PeerID() {
		t.Fatal("one seed string gave two identities")
	}
	if a.PeerID() == SecretKeyFromSeed("beacon-2").PeerID() {
		t.Fatal("two seed strings gave one identity")
	}
	hexSeed := strings.Repeat("01", 32)
	k, err := SecretKeyFromBytes(Of(hexSeed).Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if SecretKeyFromSeed(hexSeed).PeerID() != k.PeerID() {
		t.Fatal("a hex seed string is not used as the seed itself")
	}
}

func TestSecretKeyRoundTripAndSign(t *testing.T) {
	k := NewSecretKey()
	if k.PeerID() == NewSecretKey().PeerID() {
		t.Fatal("two random keys share a peer id")
	}
	back, err := SecretKeyFromBytes(k.Seed())
	if err != nil || back.PeerID() != k.PeerID() {
		t.Fatalf("seed round trip: %v", err)
	}
	msg := []byte("entry v7")
	sig := k.Sign(msg)
	if !k.PeerID().Verify(msg, sig) {
		t.Fatal("signature does not verify")
	}
	if k.PeerID().Verify([]byte("entry v8"), sig) {
		t.Fatal("signature verifies another message")
	}
	if NewSecretKey().PeerID().Verify(msg, sig) {
		t.Fatal("signature verifies under another key")
	}
	if k.PeerID().Verify(msg, sig[:10]) {
		t.Fatal("short signature verifies")
	}
	if _, err := SecretKeyFromBytes(make([]byte, 31)); err == nil {
		t.Fatal("31-byte seed accepted")
	}
}

func TestSecretKeyIsMaskedWhenPrinted(t *testing.T) {
	k := NewSecretKey()
	seedHex := fmt.Sprintf("%x", k.Seed())
	for _, format := range []string{"%v", "%s", "%+v", "%#v"} {
		out := fmt.Sprintf(format, k)
		if strings.Contains(out, seedHex) || strings.Contains(out, seedHex[:16]) {
			t.Fatalf("%s prints the secret: %s", format, out)
		}
	}
	if (SecretKey{}).String() != "SecretKey(none)" || !(SecretKey{}).IsZero() {
		t.Fatal("zero key")
	}
}

func TestPeerIDDisplayAndParse(t *testing.T) {
	p := NewSecretKey().PeerID()
	s := p.String()
	if len(s) != 64 || strings.ToLower(s) != s || p.Short() != s[:10] {
		t.Fatalf("String() = %q, Short() = %q", s, p.Short())
	}
	back, err := ParsePeerID(s)
	if err != nil || back != p {
		t.Fatalf("ParsePeerID: %v", err)
	}
	if _, err := ParsePeerID(s[:63]); !errors.Is(err, ErrBadPeerID) {
		t.Fatalf("short hex: %v", err)
	}
	if _, err := ParsePeerID(strings.Repeat("x", 64)); !errors.Is(err, ErrBadPeerID) {
		t.Fatalf("non-hex: %v", err)
	}
	got, err := PeerIDFromProto(p.Proto())
	if err != nil || got != p {
		t.Fatalf("proto round trip: %v", err)
	}
	if _, err := PeerIDFromProto(&messages.PeerId{Value: []byte{1, 2}}); !errors.Is(err, ErrBadPeerID) {
		t.Fatalf("short proto: %v", err)
	}
	if _, err := PeerIDFromProto(nil); !errors.Is(err, ErrBadPeerID) {
		t.Fatalf("nil proto: %v", err)
	}
	if !bytesEqual(p.PublicKey(), p[:]) {
		t.Fatal("PublicKey differs from the id bytes")
	}
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }
