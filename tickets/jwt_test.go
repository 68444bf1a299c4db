package tickets

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/fuzzseed"
)

// Fixed keys, so that the tests and their fuzz seeds are the same on every
// run.
const p256PEM = `-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIIE03kKNNPxC5ekabdCdU6mV5Z58aIhpBprhVR/d+benoAoGCCqGSM49
AwEHoUQDQgAET3Hh58h9UfkGc767wVhxTB2QV2ulOND9rWeCZJR3xPGvs8cTx/Gf
4vHCMuxgAXuKL6WsZQfVZ3pmOzp/jtRoyA==
-----END EC PRIVATE KEY-----`

func p256Key(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	block, _ := pem.Decode([]byte(p256PEM))
	k, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func edKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed([]byte("mosaik tickets test ed25519 key!"))
}

var (
	secret = []byte("a shared secret of the tickets' issuer")
	t0     = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	holder = id.SecretKeyFromSeed("ticket holder").PeerID()
	other  = id.SecretKeyFromSeed("someone else").PeerID()
)

func clock(t time.Time) func() time.Time { return func() time.Time { return t } }

func entryOf(p id.PeerID, ts ...discovery.Ticket) discovery.Entry {
	return discovery.Entry{Peer: p, Tickets: ts}
}

func build(t testing.TB, b JWTBuilder, key SigningKey, peer id.PeerID) discovery.Ticket {
	t.Helper()
	if b.IssuedAt.IsZero() {
		b.IssuedAt = t0
	}
	tk, err := b.Build(key, peer)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestJWTValidation(t *testing.T) {
	hs := JWT{Keys: []Key{HS256(secret)}, Now: clock(t0.Add(time.Minute))}
	valid := build(t, JWTBuilder{Expires: t0.Add(time.Hour)}, HS256Signer(secret), holder)
	for _, tc := range []struct {
		name   string
		v      JWT
		ticket discovery.Ticket
		peer   id.PeerID
		want   error // nil: valid until exp
	}{
		{"valid", hs, valid, holder, nil},
		{"expired", JWT{Keys: hs.Keys, Now: clock(t0.Add(2 * time.Hour))}, valid, holder, ErrExpired},
		{"exp is now: expired, no leeway", JWT{Keys: hs.Keys, Now: clock(t0.Add(time.Hour))}, valid, holder, ErrExpired},
		{"carried by another peer", hs, valid, other, ErrInvalidTicket},
		{"wrong secret", JWT{Keys: []Key{HS256([]byte("not it"))}, Now: hs.Now}, valid, holder, ErrInvalidTicket},
		{"another algorithm than the keys'", JWT{Keys: []Key{HS512(secret)}, Now: hs.Now}, valid, holder, ErrInvalidTicket},
		{"no exp", hs, build(t, JWTBuilder{}, HS256Signer(secret), holder), holder, ErrInvalidTicket},
		{"no exp, allowed", JWT{Keys: hs.Keys, Now: hs.Now, AllowNonExpiring: true}, build(t, JWTBuilder{}, HS256Signer(secret), holder), holder, nil},
		{"not yet valid", hs, build(t, JWTBuilder{Expires: t0.Add(time.Hour), NotBefore: t0.Add(10 * time.Minute)}, HS256Signer(secret), holder), holder, ErrInvalidTicket},
		{"issued in the future", hs, build(t, JWTBuilder{Expires: t0.Add(time.Hour), IssuedAt: t0.Add(10 * time.Minute)}, HS256Signer(secret), holder), holder, ErrInvalidTicket},
		{"issuer accepted", JWT{Keys: hs.Keys, Now: hs.Now, Issuers: []string{"ops", "ci"}}, build(t, JWTBuilder{Issuer: "ci", Expires: t0.Add(time.Hour)}, HS256Signer(secret), holder), holder, nil},
		{"issuer refused", JWT{Keys: hs.Keys, Now: hs.Now, Issuers: []string{"ops"}}, build(t, JWTBuilder{Issuer: "ci", Expires: t0.Add(time.Hour)}, HS256Signer(secret), holder), holder, ErrInvalidTicket},
		{"audience accepted", JWT{Keys: hs.Keys, Now: hs.Now, Audiences: []string{"shop"}}, build(t, JWTBuilder{Audience: []string{"bank", "shop"}, Expires: t0.Add(time.Hour)}, HS256Signer(secret), holder), holder, nil},
		{"audience refused", JWT{Keys: hs.Keys, Now: hs.Now, Audiences: []string{"shop"}}, build(t, JWTBuilder{Audience: []string{"bank"}, Expires: t0.Add(time.Hour)}, HS256Signer(secret), holder), holder, ErrInvalidTicket},
		{"a shared subject", JWT{Keys: hs.Keys, Now: hs.Now, Subject: "workers"}, build(t, JWTBuilder{Subject: "workers", Expires: t0.Add(time.Hour)}, HS256Signer(secret), holder), other, nil},
		{"claim matches", JWT{Keys: hs.Keys, Now: hs.Now, Claims: map[string]json.RawMessage{"role": json.RawMessage(`{"tier": 2, "name": "w"}`)}},
			build(t, JWTBuilder{Expires: t0.Add(time.Hour), Claims: map[string]any{"role": map[string]any{"name": "w", "tier": 2}}}, HS256Signer(secret), holder), holder, nil},
		{"claim differs", JWT{Keys: hs.Keys, Now: hs.Now, Claims: map[string]json.RawMessage{"role": json.RawMessage(`"admin"`)}},
			build(t, JWTBuilder{Expires: t0.Add(time.Hour), Claims: map[string]any{"role": "user"}}, HS256Signer(secret), holder), holder, ErrInvalidTicket},
		{"claim missing", JWT{Keys: hs.Keys, Now: hs.Now, Claims: map[string]json.RawMessage{"role": json.RawMessage(`"user"`)}}, valid, holder, ErrInvalidTicket},
		{"lifetime too long", JWT{Keys: hs.Keys, Now: hs.Now, MaxLifetime: 30 * time.Minute}, valid, holder, ErrInvalidTicket},
		{"too old", JWT{Keys: hs.Keys, Now: clock(t0.Add(20 * time.Minute)), MaxAge: 10 * time.Minute}, valid, holder, ErrExpired},
		{"tampered payload", hs, tamper(valid), holder, ErrInvalidTicket},
		{"unsigned (alg none)", hs, discovery.Ticket{Class: JWTClass, Data: []byte(unsigned(valid))}, holder, ErrInvalidTicket},
		{"garbage", hs, discovery.Ticket{Class: JWTClass, Data: []byte("not.a.token")}, holder, ErrInvalidTicket},
	} {
		_, err := tc.v.Validate(tc.ticket.Data, entryOf(tc.peer, tc.ticket))
		switch {
		case tc.want == nil && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if exp, err := hs.Validate(valid.Data, entryOf(holder, valid)); err != nil || !exp.Equal(discovery.At(t0.Add(time.Hour))) {
		t.Fatalf("valid ticket lapses at %v (%v), want its exp", exp, err)
	}
	aged := JWT{Keys: hs.Keys, Now: hs.Now, MaxAge: 10 * time.Minute}
	if exp, err := aged.Validate(valid.Data, entryOf(holder, valid)); err != nil || !exp.Equal(discovery.At(t0.Add(10*time.Minute))) {
		t.Fatalf("with MaxAge the ticket lapses at %v (%v), want iat + MaxAge", exp, err)
	}
	if _, err := (JWT{}).Validate(valid.Data, entryOf(holder)); !errors.Is(err, ErrNoKeys) {
		t.Fatalf("a validator without keys: %v", err)
	}
}

// tamper changes the token's payload (its subject) and keeps the
// signature.
func tamper(t discovery.Ticket) discovery.Ticket {
	parts := strings.Split(string(t.Data), ".")
	parts[1] = strings.ToUpper(parts[1][:4]) + parts[1][4:]
	return discovery.Ticket{Class: t.Class, Data: []byte(strings.Join(parts, "."))}
}

// unsigned rewrites the token with "alg": "none" and no signature.
func unsigned(t discovery.Ticket) string {
	parts := strings.Split(string(t.Data), ".")
	return "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + "."
}

// TestAsymmetricRoundTrips: ES256 and EdDSA tickets made with fixed keys
// pass a validator of the public key, and no other.
func TestAsymmetricRoundTrips(t *testing.T) {
	ec, ed := p256Key(t), edKey()
	now := clock(t0.Add(time.Minute))
	for _, tc := range []struct {
		name   string
		signer SigningKey
		key    Key
		wrong  Key
	}{
		{"ES256", ES256Signer(ec), ES256(&ec.PublicKey), EdDSA(ed.Public().(ed25519.PublicKey))},
		{"EdDSA", EdDSASigner(ed), EdDSA(ed.Public().(ed25519.PublicKey)), ES256(&ec.PublicKey)},
	} {
		tk := build(t, JWTBuilder{Expires: t0.Add(time.Hour)}, tc.signer, holder)
		if _, err := (JWT{Keys: []Key{tc.key}, Now: now}).Validate(tk.Data, entryOf(holder, tk)); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if _, err := (JWT{Keys: []Key{tc.wrong}, Now: now}).Validate(tk.Data, entryOf(holder, tk)); !errors.Is(err, ErrInvalidTicket) {
			t.Errorf("%s under the other key: %v", tc.name, err)
		}
		if _, err := (JWT{Keys: []Key{tc.wrong, tc.key}, Now: now}).Validate(tk.Data, entryOf(holder, tk)); err != nil {
			t.Errorf("%s among several keys: %v", tc.name, err)
		}
	}
	// An ES256 key on the wrong curve verifies nothing.
	if (Key{alg: "ES384", verify: &ec.PublicKey}).usable() {
		t.Error("a P-256 key passes as an ES384 key")
	}
}

// TestSignatures: the signature names the rules, and only the rules.
func TestSignatures(t *testing.T) {
	ed := edKey().Public().(ed25519.PublicKey)
	base := JWT{Keys: []Key{HS256(secret), EdDSA(ed)}, Issuers: []string{"a", "b"}, Claims: map[string]json.RawMessage{"r": json.RawMessage(`{"x":1,"y":2}`)}}
	same := []JWT{
		{Keys: []Key{EdDSA(ed), HS256(secret)}, Issuers: []string{"b", "a", "a"}, Claims: map[string]json.RawMessage{"r": json.RawMessage(`{ "y": 2, "x": 1 }`)}},
		{Keys: base.Keys, Issuers: base.Issuers, Claims: base.Claims, Now: clock(t0)},
	}
	for i, v := range same {
		if v.Signature() != base.Signature() {
			t.Errorf("equal rules %d sign differently", i)
		}
	}
	differ := []JWT{
		{Keys: []Key{HS256([]byte("other secret")), EdDSA(ed)}, Issuers: base.Issuers, Claims: base.Claims},
		{Keys: []Key{HS384(secret), EdDSA(ed)}, Issuers: base.Issuers, Claims: base.Claims},
		{Keys: base.Keys, Issuers: []string{"a"}, Claims: base.Claims},
		{Keys: base.Keys, Issuers: base.Issuers, Audiences: []string{"a"}, Claims: base.Claims},
		{Keys: base.Keys, Issuers: base.Issuers, Claims: map[string]json.RawMessage{"r": json.RawMessage(`{"x":1}`)}},
		{Keys: base.Keys, Issuers: base.Issuers, Claims: base.Claims, Subject: "s"},
		{Keys: base.Keys, Issuers: base.Issuers, Claims: base.Claims, AllowNonExpiring: true},
		{Keys: base.Keys, Issuers: base.Issuers, Claims: base.Claims, MaxLifetime: time.Hour},
		{Keys: base.Keys, Issuers: base.Issuers, Claims: base.Claims, MaxAge: time.Hour},
	}
	seen := map[id.Digest]int{base.Signature(): -1}
	for i, v := range differ {
		if j, ok := seen[v.Signature()]; ok {
			t.Errorf("rules %d sign like %d", i, j)
		}
		seen[v.Signature()] = i
	}
	if GroupKeyFromValidator(base).Equal(GroupKeyFromValidator(differ[0])) || !GroupKeyFromValidator(base).Equal(GroupKeyFromValidator(same[0])) {
		t.Error("GroupKeyFromValidator does not follow the signature")
	}
}

// TestEntryTickets: an entry's tickets against validators: the longest
// expiry of a validator's passing tickets, the earliest across validators,
// none configured admits, one missing refuses.
func TestEntryTickets(t *testing.T) {
	hs := JWT{Keys: []Key{HS256(secret)}, Now: clock(t0.Add(time.Minute))}
	ed := edKey()
	eds := JWT{Keys: []Key{EdDSA(ed.Public().(ed25519.PublicKey))}, Now: hs.Now}
	short := build(t, JWTBuilder{Expires: t0.Add(time.Hour)}, HS256Signer(secret), holder)
	long := build(t, JWTBuilder{Expires: t0.Add(3 * time.Hour)}, HS256Signer(secret), holder)
	edT := build(t, JWTBuilder{Expires: t0.Add(2 * time.Hour)}, EdDSASigner(ed), holder)
	e := entryOf(holder, short, long, edT, discovery.Ticket{Class: id.Of("other class"), Data: []byte("x")})
	if exp, err := e.ValidateTicket(hs); err != nil || !exp.Equal(discovery.At(t0.Add(3*time.Hour))) {
		t.Fatalf("ValidateTicket = %v, %v; want the longer ticket's expiry", exp, err)
	}
	if exp, err := e.ValidateTickets([]discovery.TicketValidator{hs, eds}); err != nil || !exp.Equal(discovery.At(t0.Add(2*time.Hour))) {
		t.Fatalf("ValidateTickets = %v, %v; want the earliest across validators", exp, err)
	}
	if exp, err := e.ValidateTickets(nil); err != nil || !exp.IsNever() {
		t.Fatalf("no validators: %v, %v", exp, err)
	}
	if _, err := entryOf(holder, short).ValidateTickets([]discovery.TicketValidator{hs, eds}); !errors.Is(err, discovery.ErrNoValidTicket) {
		t.Fatalf("a missing ticket: %v", err)
	}
	if !e.HasValidTicket(eds) || entryOf(holder).HasValidTicket(hs) {
		t.Fatal("HasValidTicket")
	}
}

// FuzzJWTValidate feeds arbitrary ticket data to the validator: it never
// panics, and refuses with ErrInvalidTicket.
func FuzzJWTValidate(f *testing.F) {
	for _, s := range jwtSeeds(f) {
		f.Add(s)
	}
	// ECDSA signatures are randomised, so this seed is not in the
	// committed corpus.
	f.Add(build(f, JWTBuilder{Expires: t0.Add(time.Hour)}, ES256Signer(p256Key(f)), holder).Data)
	v := JWT{Keys: []Key{HS256(secret), EdDSA(edKey().Public().(ed25519.PublicKey)), ES256(&p256Key(f).PublicKey)}, Now: clock(t0.Add(time.Minute))}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := v.Validate(data, entryOf(holder)); err != nil && !errors.Is(err, ErrInvalidTicket) {
			t.Fatalf("undocumented error %v", err)
		}
	})
}

func jwtSeeds(t testing.TB) [][]byte {
	valid := build(t, JWTBuilder{Expires: t0.Add(time.Hour), Issuer: "i", Audience: []string{"a"}}, HS256Signer(secret), holder)
	return [][]byte{
		valid.Data,
		build(t, JWTBuilder{Expires: t0.Add(time.Hour)}, EdDSASigner(edKey()), holder).Data,
		tamper(valid).Data,
		[]byte(unsigned(valid)),
		[]byte("e30.e30."),
		{},
	}
}

// TestFuzzCorpus keeps testdata/fuzz in step with jwtSeeds; see package
// fuzzseed.
func TestFuzzCorpus(t *testing.T) {
	names := []string{"hs256", "eddsa", "tampered", "alg-none", "empty-claims", "empty"}
	var seeds []fuzzseed.Seed
	for i, s := range jwtSeeds(t) {
		seeds = append(seeds, fuzzseed.Of(names[i], s))
	}
	fuzzseed.Sync(t, "FuzzJWTValidate", seeds...)
}
