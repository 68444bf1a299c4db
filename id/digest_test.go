package id

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/messages"
)

func TestOf(t *testing.T) {
	hexID := strings.Repeat("ab", DigestSize)
	tests := []struct {
		name string
		in   string
		want Digest
	}{
		{"name is hashed", "orders", Hash([]byte("orders"))},
		{"empty string is hashed", "", Hash(nil)},
		{"64 hex characters decode", hexID, mustParse(t, hexID)},
		{"upper-case hex decodes", strings.ToUpper(hexID), mustParse(t, hexID)},
		{"63 hex characters are a name", hexID[:63], Hash([]byte(hexID[:63]))},
		{"64 non-hex characters are a name", strings.Repeat("zz", DigestSize), Hash([]byte(strings.Repeat("zz", DigestSize)))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Of(tc.in); got != tc.want {
				t.Fatalf("Of(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func mustParse(t *testing.T, s string) Digest {
	t.Helper()
	d, err := ParseDigest(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestIndependentIDsFromOneNameAreEqual(t *testing.T) {
	// Two "nodes" building the same composite id step by step.
	build := func() Digest {
		return Of("shop").Derive([]byte("consensus")).DeriveDigest(Of("counter-v1"))
	}
	if a, b := build(), build(); a != b {
		t.Fatalf("same intent, different ids: %s vs %s", a, b)
	}
	if Of("shop").Derive([]byte("a")) == Of("shop").Derive([]byte("b")) {
		t.Fatal("different info derived the same id")
	}
	if Of("x").Derive([]byte("y")) == Of("y").Derive([]byte("x")) {
		t.Fatal("Derive is symmetric; it must bind the order")
	}
}

func TestDigestStringRoundTrip(t *testing.T) {
	d := RandomDigest()
	if d == RandomDigest() {
		t.Fatal("two random digests are equal")
	}
	s := d.String()
	if len(s) != 64 || strings.ToLower(s) != s {
		t.Fatalf("String() = %q, want 64 lower-case hex characters", s)
	}
	if Of(s) != d {
		t.Fatal("Of(d.String()) != d")
	}
	if d.Short() != s[:10] {
		t.Fatalf("Short() = %q", d.Short())
	}
	b, err := json.Marshal(map[string]Digest{"id": d})
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]Digest
	if err := json.Unmarshal(b, &back); err != nil || back["id"] != d {
		t.Fatalf("JSON round trip: %v, %v", back, err)
	}
	var bad Digest
	if err := bad.UnmarshalText([]byte("not hex")); !errors.Is(err, ErrBadDigest) {
		t.Fatalf("UnmarshalText(garbage) = %v, want ErrBadDigest", err)
	}
}

func TestDigestOrdering(t *testing.T) {
	var lo, hi Digest
	hi[0] = 1
	if !lo.Less(hi) || hi.Less(lo) || lo.Compare(lo) != 0 {
		t.Fatal("ordering is not by bytes")
	}
	if !lo.IsZero() || hi.IsZero() {
		t.Fatal("IsZero")
	}
}

func TestDigestProtoRoundTrip(t *testing.T) {
	d := Of("group")
	wire, err := proto.Marshal(d.Proto())
	if err != nil {
		t.Fatal(err)
	}
	var m messages.Digest
	if err := proto.Unmarshal(wire, &m); err != nil {
		t.Fatal(err)
	}
	got, err := DigestFromProto(&m)
	if err != nil || got != d {
		t.Fatalf("round trip = %s, %v; want %s", got, err, d)
	}
	for name, m := range map[string]*messages.Digest{
		"nil":   nil,
		"empty": {},
		"short": {Value: make([]byte, 31)},
		"long":  {Value: make([]byte, 33)},
	} {
		if _, err := DigestFromProto(m); !errors.Is(err, ErrBadDigest) {
			t.Errorf("%s: err = %v, want ErrBadDigest", name, err)
		}
	}
}

func TestParseDigestErrors(t *testing.T) {
	for _, s := range []string{"", "abc", strings.Repeat("g", 64), strings.Repeat("a", 65)} {
		if _, err := ParseDigest(s); !errors.Is(err, ErrBadDigest) {
			t.Errorf("ParseDigest(%q) = %v, want ErrBadDigest", s, err)
		}
	}
}
