package groups

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mosaikgo/mosaik/id"
)

func TestNewKeyIsRandom(t *testing.T) {
	a, b := NewKey(), NewKey()
	if a.IsZero() || b.IsZero() || a.Equal(b) {
		t.Fatalf("NewKey gave %v and %v", a, b)
	}
}

func TestKeyFromSecret(t *testing.T) {
	raw := bytes.Repeat([]byte{0xab}, KeySize)
	tests := []struct {
		name string
		in   string
		want []byte
	}{
		{"hex is the raw key", hex.EncodeToString(raw), raw},
		{"upper-case hex too", strings.ToUpper(hex.EncodeToString(raw)), raw},
		{"a passphrase is hashed", "correct horse", id.Hash([]byte("correct horse")).Bytes()},
		{"63 hex characters are a passphrase", hex.EncodeToString(raw)[:63], id.Hash([]byte(hex.EncodeToString(raw)[:63])).Bytes()},
		{"empty is hashed too", "", id.Hash(nil).Bytes()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := KeyFromSecret(tc.in)
			if !bytes.Equal(k.Secret(), tc.want) {
				t.Fatalf("secret %x, want %x", k.Secret(), tc.want)
			}
			if !KeyFromSecret(tc.in).Equal(k) {
				t.Fatal("not deterministic")
			}
		})
	}
}

func TestKeyFromBytes(t *testing.T) {
	for _, n := range []int{0, 1, KeySize - 1, KeySize + 1} {
		if _, err := KeyFromBytes(make([]byte, n)); !errors.Is(err, ErrBadKey) {
			t.Errorf("%d bytes: err = %v, want ErrBadKey", n, err)
		}
	}
	k := NewKey()
	back, err := KeyFromBytes(k.Secret())
	if err != nil || !back.Equal(k) {
		t.Fatalf("KeyFromBytes(Secret()) = %v, %v", back, err)
	}
	if !KeyFromSecret(hex.EncodeToString(k.Secret())).Equal(k) {
		t.Fatal("the hex of Secret does not name the same key")
	}
	s := k.Secret()
	s[0] ^= 1
	if bytes.Equal(s, k.Secret()) {
		t.Fatal("Secret returned the key's own storage")
	}
}

func TestKeyNeverPrinted(t *testing.T) {
	k := KeyFromSecret("printing must not leak this")
	forbidden := []string{
		hex.EncodeToString(k.Secret()),
		hex.EncodeToString(k.Secret())[:10],
		k.digest().String()[:10], // the root of ids and proofs
		fmt.Sprint(k.Secret()),   // the [1 2 3] form
		string(k.Secret()),
	}
	type holder struct {
		Key  Key
		Name string
	}
	type hidden struct {
		key Key // unexported: fmt cannot call its methods
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%p", "%T %v"} {
		for _, arg := range []any{k, &k, holder{Key: k, Name: "n"}, hidden{key: k}, &hidden{key: k}, []Key{k}, map[string]Key{"k": k}} {
			out := fmt.Sprintf(format, arg)
			for _, f := range forbidden {
				if strings.Contains(out, f) {
					t.Errorf("Sprintf(%q, %T) = %q leaks %q", format, arg, out, f)
				}
			}
		}
	}
	if got := fmt.Sprint(k); !strings.Contains(got, k.Fingerprint()) {
		t.Errorf("Sprint(key) = %q lacks the fingerprint", got)
	}
}

func TestKeyFingerprint(t *testing.T) {
	a, b := KeyFromSecret("a"), KeyFromSecret("b")
	if (Key{}).Fingerprint() != "none" {
		t.Errorf("zero key fingerprint = %q", (Key{}).Fingerprint())
	}
	if a.Fingerprint() == b.Fingerprint() {
		t.Error("two keys share a fingerprint")
	}
	if a.Fingerprint() != KeyFromSecret("a").Fingerprint() {
		t.Error("fingerprint is not stable")
	}
	// It shares no prefix with anything that goes on the wire.
	g := ID(a, ConsensusConfig{}, id.Of("m"))
	for _, s := range []string{a.digest().String(), g.String(), hex.EncodeToString(a.Secret())} {
		if strings.HasPrefix(s, a.Fingerprint()) {
			t.Errorf("fingerprint %s is a prefix of %s", a.Fingerprint(), s)
		}
	}
}

func TestKeyEqualAndZero(t *testing.T) {
	a := KeyFromSecret("a")
	zeroBytes, err := KeyFromBytes(make([]byte, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		x, y  Key
		equal bool
	}{
		{"same key, separate values", a, KeyFromSecret("a"), true},
		{"copies", a, func() Key { c := a; return c }(), true},
		{"different keys", a, KeyFromSecret("b"), false},
		{"key and zero", a, Key{}, false},
		{"zero and zero bytes", Key{}, zeroBytes, true},
	}
	for _, tc := range tests {
		if tc.x.Equal(tc.y) != tc.equal || tc.y.Equal(tc.x) != tc.equal {
			t.Errorf("%s: Equal = %v, want %v", tc.name, tc.x.Equal(tc.y), tc.equal)
		}
	}
	if !zeroBytes.IsZero() || !(Key{}).IsZero() || a.IsZero() {
		t.Error("IsZero is wrong")
	}
	if (Key{}).Secret() != nil {
		t.Error("the zero key has a secret")
	}
	if zeroBytes.Fingerprint() != "none" {
		t.Errorf("an all-zero key prints as %v", zeroBytes)
	}
}
