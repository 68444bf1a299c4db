package tickets

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
)

// JWTClass is the class of JWT tickets ("mosaik.tickets.jwt.v1"): the
// ticket's data is a compact JWS, as JWTBuilder makes.
var JWTClass = id.Of("mosaik.tickets.jwt.v1")

// Errors of JWT validation. Every refusal matches ErrInvalidTicket.
var (
	ErrInvalidTicket = errors.New("tickets: invalid ticket")
	ErrExpired       = fmt.Errorf("%w: expired", ErrInvalidTicket)
	ErrNoKeys        = errors.New("tickets: a JWT validator needs at least one key")
)

// Key is a key a JWT validator accepts signatures by: HS256, HS384 or
// HS512 with a shared secret, ES256, ES384 or ES512 with an ECDSA public
// key on the matching curve, or EdDSA with an ed25519 public key.
type Key struct {
	alg    string
	verify any
	ident  []byte // what the validator's signature covers
}

// HS256, HS384 and HS512 accept HMAC signatures with secret. The
// validator's signature covers a hash of the secret, never the secret.
func HS256(secret []byte) Key { return hmacKey("HS256", secret) }
func HS384(secret []byte) Key { return hmacKey("HS384", secret) }
func HS512(secret []byte) Key { return hmacKey("HS512", secret) }

func hmacKey(alg string, secret []byte) Key {
	h := id.Hash(append([]byte("mosaik/tickets/hmac-secret/v1\x00"), secret...))
	return Key{alg: alg, verify: bytes.Clone(secret), ident: h[:]}
}

// ES256, ES384 and ES512 accept ECDSA signatures by pub, which must be on
// P-256, P-384 or P-521 respectively (checked by Validate: a key on the
// wrong curve verifies nothing).
func ES256(pub *ecdsa.PublicKey) Key { return ecKey("ES256", pub) }
func ES384(pub *ecdsa.PublicKey) Key { return ecKey("ES384", pub) }
func ES512(pub *ecdsa.PublicKey) Key { return ecKey("ES512", pub) }

func ecKey(alg string, pub *ecdsa.PublicKey) Key {
	var ident []byte
	if pub != nil && pub.Curve != nil {
		if ek, err := pub.ECDH(); err == nil {
			ident = ek.Bytes() // the uncompressed point
		}
	}
	return Key{alg: alg, verify: pub, ident: ident}
}

// EdDSA accepts ed25519 signatures by pub.
func EdDSA(pub ed25519.PublicKey) Key {
	return Key{alg: "EdDSA", verify: pub, ident: bytes.Clone(pub)}
}

// JWT validates JWT tickets. The zero value refuses everything (it has no
// keys). Its fields are its rules; equal rules give equal signatures on
// every node, so members configured alike form the same group.
type JWT struct {
	// Keys are the keys a ticket may be signed by. Required.
	Keys []Key
	// Issuers, if set, are the accepted "iss" claims.
	Issuers []string
	// Audiences, if set: the ticket's "aud" must name one of them.
	Audiences []string
	// Subject, if set, is the "sub" every ticket must carry. Empty means
	// the peer's own id in lower-case hex: a ticket is then its holder's
	// alone, and a copy carried by another peer is refused.
	Subject string
	// Claims are further claims the ticket must carry, each equal (as
	// JSON values) to the JSON text given.
	Claims map[string]json.RawMessage
	// AllowNonExpiring accepts tickets without "exp". By default "exp" is
	// required: a credential that never lapses cannot be revoked by time.
	AllowNonExpiring bool
	// MaxLifetime, if set, refuses tickets whose "exp" is more than this
	// after their "iat" (both then required).
	MaxLifetime time.Duration
	// MaxAge, if set, refuses tickets issued ("iat", then required) more
	// than this ago; such a ticket lapses at iat + MaxAge at the latest.
	MaxAge time.Duration
	// Now is the validator's clock; nil means time.Now. It is not part of
	// the signature.
	Now func() time.Time
}

var _ discovery.TicketValidator = JWT{}

// Class is JWTClass.
func (v JWT) Class() id.Digest { return JWTClass }

// Signature names the validator's rules: the class, the keys (their
// algorithms and public parts, hashes of secrets), the issuers and
// audiences (as sets), the subject, the required claims (as JSON values),
// the flags and the durations.
func (v JWT) Signature() id.Digest {
	var b []byte
	field := func(p []byte) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	field([]byte("mosaik/tickets/jwt-validator/v1"))
	field(JWTClass[:])
	keys := make([][]byte, 0, len(v.Keys))
	for _, k := range v.Keys {
		keys = append(keys, append([]byte(k.alg+"\x00"), k.ident...))
	}
	slices.SortFunc(keys, bytes.Compare)
	keys = slices.CompactFunc(keys, bytes.Equal)
	for _, k := range keys {
		field(k)
	}
	field([]byte("issuers"))
	for _, s := range sortedSet(v.Issuers) {
		field([]byte(s))
	}
	field([]byte("audiences"))
	for _, s := range sortedSet(v.Audiences) {
		field([]byte(s))
	}
	field([]byte("subject"))
	field([]byte(v.Subject))
	field([]byte("claims"))
	for _, name := range slices.Sorted(maps.Keys(v.Claims)) {
		field([]byte(name))
		field(canonicalJSON(v.Claims[name]))
	}
	var flags [17]byte
	if v.AllowNonExpiring {
		flags[0] = 1
	}
	binary.BigEndian.PutUint64(flags[1:], uint64(v.MaxLifetime))
	binary.BigEndian.PutUint64(flags[9:], uint64(v.MaxAge))
	field(flags[:])
	return id.Hash(b)
}

func sortedSet(s []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(s)))
}

// canonicalJSON re-encodes a JSON value with sorted object keys, so that
// equal values compare equal whatever their spacing or key order; text
// that is not JSON is kept as it is (and then matches nothing).
func canonicalJSON(raw []byte) []byte {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return raw
	}
	out, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return out
}

func (v JWT) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// Validate checks a JWT ticket carried by entry: a signature by one of
// the keys, "exp" after now (no leeway: a ticket whose exp has come is
// expired) unless AllowNonExpiring, "nbf" and "iat" not in the future,
// the issuer, audience, subject and claims the rules ask for, and the
// lifetime and age bounds. It returns when the ticket lapses: its "exp",
// or iat + MaxAge if earlier, or Never.
func (v JWT) Validate(data []byte, entry discovery.Entry) (discovery.Expiration, error) {
	if len(v.Keys) == 0 {
		return discovery.Expiration{}, ErrNoKeys
	}
	algs := make([]string, 0, len(v.Keys))
	for _, k := range v.Keys {
		algs = append(algs, k.alg)
	}
	parser := jwt.NewParser(jwt.WithValidMethods(algs), jwt.WithJSONNumber(), jwt.WithoutClaimsValidation())
	claims := jwt.MapClaims{}
	if _, err := parser.ParseWithClaims(string(data), claims, v.keyFor); err != nil {
		return discovery.Expiration{}, fmt.Errorf("%w: %w", ErrInvalidTicket, err)
	}
	return v.check(claims, entry)
}

// keyFor gives the parser every key of the token's algorithm.
func (v JWT) keyFor(t *jwt.Token) (any, error) {
	var set jwt.VerificationKeySet
	for _, k := range v.Keys {
		if k.alg != t.Method.Alg() || !k.usable() {
			continue
		}
		set.Keys = append(set.Keys, k.verify)
	}
	if len(set.Keys) == 0 {
		return nil, fmt.Errorf("no %s key", t.Method.Alg())
	}
	return set, nil
}

// usable reports whether the key can verify its algorithm at all (an EC
// key on the algorithm's curve, a non-empty secret).
func (k Key) usable() bool {
	switch key := k.verify.(type) {
	case []byte:
		return len(key) > 0
	case ed25519.PublicKey:
		return len(key) == ed25519.PublicKeySize
	case *ecdsa.PublicKey:
		if key == nil || key.Curve == nil {
			return false
		}
		want := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[k.alg]
		return want != nil && key.Curve.Params().Name == want.Params().Name
	}
	return false
}

// check applies the rules to a verified token's claims.
func (v JWT) check(c jwt.MapClaims, entry discovery.Entry) (discovery.Expiration, error) {
	bad := func(format string, args ...any) (discovery.Expiration, error) {
		return discovery.Expiration{}, fmt.Errorf("%w: "+format, append([]any{ErrInvalidTicket}, args...)...)
	}
	now := v.now()
	exp, err := c.GetExpirationTime()
	if err != nil {
		return bad("exp: %v", err)
	}
	nbf, err := c.GetNotBefore()
	if err != nil {
		return bad("nbf: %v", err)
	}
	iat, err := c.GetIssuedAt()
	if err != nil {
		return bad("iat: %v", err)
	}
	switch {
	case exp == nil && !v.AllowNonExpiring:
		return bad("no exp")
	case exp != nil && !exp.After(now):
		return discovery.Expiration{}, fmt.Errorf("%w at %s", ErrExpired, exp.UTC().Format(time.RFC3339))
	case nbf != nil && now.Before(nbf.Time):
		return bad("not valid before %s", nbf.UTC().Format(time.RFC3339))
	case iat != nil && now.Before(iat.Time):
		return bad("issued in the future (%s)", iat.UTC().Format(time.RFC3339))
	case (v.MaxLifetime > 0 || v.MaxAge > 0) && iat == nil:
		return bad("no iat")
	case v.MaxLifetime > 0 && (exp == nil || exp.Sub(iat.Time) > v.MaxLifetime):
		return bad("lifetime beyond %v", v.MaxLifetime)
	case v.MaxAge > 0 && now.Sub(iat.Time) > v.MaxAge:
		return discovery.Expiration{}, fmt.Errorf("%w: issued more than %v ago", ErrExpired, v.MaxAge)
	}
	if len(v.Issuers) > 0 {
		iss, err := c.GetIssuer()
		if err != nil || !slices.Contains(v.Issuers, iss) {
			return bad("issuer %q not accepted", iss)
		}
	}
	if len(v.Audiences) > 0 {
		aud, err := c.GetAudience()
		if err != nil || !slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(v.Audiences, a) }) {
			return bad("audience %q not accepted", aud)
		}
	}
	want := v.Subject
	if want == "" {
		want = entry.Peer.String()
	}
	if sub, err := c.GetSubject(); err != nil || sub != want {
		return bad("subject %q, want %q", sub, want)
	}
	for _, name := range slices.Sorted(maps.Keys(v.Claims)) {
		got, ok := c[name]
		if !ok {
			return bad("no claim %q", name)
		}
		b, err := json.Marshal(got)
		if err != nil || !bytes.Equal(canonicalJSON(b), canonicalJSON(v.Claims[name])) {
			return bad("claim %q is %s", name, b)
		}
	}
	until := discovery.Never()
	if exp != nil {
		until = discovery.At(exp.Time)
	}
	if v.MaxAge > 0 {
		if lapse := discovery.At(iat.Add(v.MaxAge)); lapse.Before(until) {
			until = lapse
		}
	}
	return until, nil
}
