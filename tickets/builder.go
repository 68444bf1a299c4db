package tickets

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
)

// SigningKey is a key JWTBuilder signs tickets with: the private half of
// a validator's Key.
type SigningKey struct {
	method jwt.SigningMethod
	key    any
}

// HS256Signer, HS384Signer and HS512Signer sign with an HMAC secret.
func HS256Signer(secret []byte) SigningKey { return SigningKey{jwt.SigningMethodHS256, secret} }
func HS384Signer(secret []byte) SigningKey { return SigningKey{jwt.SigningMethodHS384, secret} }
func HS512Signer(secret []byte) SigningKey { return SigningKey{jwt.SigningMethodHS512, secret} }

// ES256Signer, ES384Signer and ES512Signer sign with an ECDSA key on
// P-256, P-384 and P-521.
func ES256Signer(k *ecdsa.PrivateKey) SigningKey { return SigningKey{jwt.SigningMethodES256, k} }
func ES384Signer(k *ecdsa.PrivateKey) SigningKey { return SigningKey{jwt.SigningMethodES384, k} }
func ES512Signer(k *ecdsa.PrivateKey) SigningKey { return SigningKey{jwt.SigningMethodES512, k} }

// EdDSASigner signs with an ed25519 key.
func EdDSASigner(k ed25519.PrivateKey) SigningKey { return SigningKey{jwt.SigningMethodEdDSA, k} }

// JWTBuilder makes a JWT ticket for one peer. Zero fields are left out of
// the token, except Subject (the peer's id in lower-case hex) and IssuedAt
// (now).
type JWTBuilder struct {
	Issuer   string
	Subject  string
	Audience []string
	// Expires sets "exp". Leave it zero only for validators that allow
	// non-expiring tickets.
	Expires   time.Time
	NotBefore time.Time
	IssuedAt  time.Time
	// ID sets "jti".
	ID string
	// Claims are further claims; they must not name the registered ones.
	Claims map[string]any
}

// ErrReservedClaim is returned by Build for a claim in Claims that a
// field of JWTBuilder sets.
var ErrReservedClaim = errors.New("tickets: a registered claim in Claims")

// Build signs the ticket for peer with key.
func (b JWTBuilder) Build(key SigningKey, peer id.PeerID) (discovery.Ticket, error) {
	if key.method == nil {
		return discovery.Ticket{}, errors.New("tickets: no signing key")
	}
	claims := jwt.MapClaims{}
	for name := range b.Claims {
		switch name {
		case "iss", "sub", "aud", "exp", "nbf", "iat", "jti":
			return discovery.Ticket{}, fmt.Errorf("%w: %q", ErrReservedClaim, name)
		}
	}
	maps.Copy(claims, b.Claims)
	sub := b.Subject
	if sub == "" {
		sub = peer.String()
	}
	claims["sub"] = sub
	iat := b.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	claims["iat"] = jwt.NewNumericDate(iat)
	if b.Issuer != "" {
		claims["iss"] = b.Issuer
	}
	if len(b.Audience) > 0 {
		claims["aud"] = jwt.ClaimStrings(b.Audience)
	}
	if !b.Expires.IsZero() {
		claims["exp"] = jwt.NewNumericDate(b.Expires)
	}
	if !b.NotBefore.IsZero() {
		claims["nbf"] = jwt.NewNumericDate(b.NotBefore)
	}
	if b.ID != "" {
		claims["jti"] = b.ID
	}
	token, err := jwt.NewWithClaims(key.method, claims).SignedString(key.key)
	if err != nil {
		return discovery.Ticket{}, fmt.Errorf("tickets: sign: %w", err)
	}
	return discovery.Ticket{Class: JWTClass, Data: []byte(token)}, nil
}

// GroupKeyFromValidator derives a group key from a validator's signature,
// so that peers configured with the same validator meet in one group
// without sharing a secret: the key is then public to whoever knows the
// configuration, and the tickets are what keeps others out. Use it with
// the same validator in the group's required tickets.
func GroupKeyFromValidator(v discovery.TicketValidator) groups.Key {
	sig := v.Signature()
	k, err := groups.KeyFromBytes(id.Hash(append([]byte("mosaik/tickets/group-key/v1\x00"), sig[:]...)).Bytes())
	if err != nil {
		panic(err) // cannot happen: a digest is a valid key
	}
	return k
}
