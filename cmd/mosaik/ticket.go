package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/tickets"
)

// runTicket issues tickets (docs/tickets.md):
//
//	mosaik ticket key -out issuer.pem           an ed25519 issuer key; prints the public key
//	mosaik ticket jwt -key-file issuer.pem -subject PEER -expires 1h
//	mosaik ticket jwt -alg HS256 -secret S -subject PEER -expires 1h
//
// The token goes to stdout; a node carries it with -ticket FILE.
func runTicket(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if len(args) == 0 || (args[0] != "key" && args[0] != "jwt") {
		return badUsage(fs, errors.New("want a kind of ticket work: key or jwt"))
	}
	kind, args := args[0], args[1:]
	if kind == "key" {
		out := fs.String("out", "", "`file` to write the issuer's ed25519 private key to (PEM, mode 0600); required")
		if err := parseFlags(fs, args, 0); err != nil {
			return err
		}
		if *out == "" {
			return badUsage(fs, errors.New("-out is required"))
		}
		return writeIssuerKey(e, *out)
	}
	alg := fs.String("alg", "EdDSA", "signing `algorithm`: EdDSA, ES256, ES384, ES512 (with -key-file), or HS256, HS384, HS512 (with -secret)")
	keyFile := fs.String("key-file", "", "`file` of the issuer's private key (PEM: PKCS #8, or SEC 1 for ECDSA)")
	secret := fs.String("secret", "", "the HMAC `secret` of HS256/384/512")
	subject := fs.String("subject", "", "the holder's `peer id` (64 hex digits); required")
	issuer := fs.String("issuer", "", "the \"iss\" `claim`")
	var audience listFlag
	fs.Var(&audience, "audience", "an \"aud\" `value` (repeatable)")
	expires := fs.Duration("expires", 24*time.Hour, "how long the ticket holds (\"exp\")")
	var claims listFlag
	fs.Var(&claims, "claim", "a further `name=json` claim (repeatable)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	peer, err := id.ParsePeerID(*subject)
	if err != nil {
		return badUsage(fs, fmt.Errorf("-subject: %w", err))
	}
	if err := positiveDuration("expires", *expires); err != nil {
		return badUsage(fs, err)
	}
	signer, err := signingKey(*alg, *keyFile, *secret)
	if err != nil {
		return badUsage(fs, err)
	}
	b := tickets.JWTBuilder{Issuer: *issuer, Audience: audience, Expires: time.Now().Add(*expires)}
	for _, c := range claims {
		name, value, ok := strings.Cut(c, "=")
		var v any
		if !ok || json.Unmarshal([]byte(value), &v) != nil {
			return badUsage(fs, fmt.Errorf("-claim %q is not name=json", c))
		}
		if b.Claims == nil {
			b.Claims = map[string]any{}
		}
		b.Claims[name] = v
	}
	t, err := b.Build(signer, peer)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, string(t.Data))
	return nil
}

// writeIssuerKey makes an ed25519 issuer key, writes its private half to
// path and prints its public half.
func writeIssuerKey(e *env, path string) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := errors.Join(pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}), f.Close()); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "public key (ed25519): %s\n", hex.EncodeToString(pub))
	return nil
}

// signingKey reads the issuer's key for alg.
func signingKey(alg, keyFile, secret string) (tickets.SigningKey, error) {
	switch alg {
	case "HS256", "HS384", "HS512":
		if secret == "" {
			return tickets.SigningKey{}, fmt.Errorf("-alg %s needs -secret", alg)
		}
		return map[string]func([]byte) tickets.SigningKey{
			"HS256": tickets.HS256Signer, "HS384": tickets.HS384Signer, "HS512": tickets.HS512Signer,
		}[alg]([]byte(secret)), nil
	case "EdDSA", "ES256", "ES384", "ES512":
	default:
		return tickets.SigningKey{}, fmt.Errorf("unknown -alg %q", alg)
	}
	if keyFile == "" {
		return tickets.SigningKey{}, fmt.Errorf("-alg %s needs -key-file", alg)
	}
	key, err := readPrivateKey(keyFile)
	if err != nil {
		return tickets.SigningKey{}, err
	}
	switch k := key.(type) {
	case ed25519.PrivateKey:
		if alg == "EdDSA" {
			return tickets.EdDSASigner(k), nil
		}
	case *ecdsa.PrivateKey:
		switch {
		case alg == "ES256" && k.Curve.Params().BitSize == 256:
			return tickets.ES256Signer(k), nil
		case alg == "ES384" && k.Curve.Params().BitSize == 384:
			return tickets.ES384Signer(k), nil
		case alg == "ES512" && k.Curve.Params().BitSize == 521:
			return tickets.ES512Signer(k), nil
		}
	}
	return tickets.SigningKey{}, fmt.Errorf("%s holds a %T, not a key for %s", keyFile, key, alg)
}

// readPrivateKey reads a PEM private key: PKCS #8, or SEC 1 for ECDSA.
func readPrivateKey(path string) (any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("%s: not a PKCS #8 or SEC 1 private key", path)
}

// ticketFlags is a node's -ticket flag: files holding JWT tickets it puts
// in its entry once started.
type ticketFlags struct{ files listFlag }

func (f *ticketFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.files, "ticket", "`file` holding a JWT ticket (as `mosaik ticket jwt` prints it) to carry in the node's entry (repeatable)")
}

// read loads the tickets, before the node starts, so a bad file is a
// usage error.
func (f *ticketFlags) read() ([]discovery.Ticket, error) {
	var out []discovery.Ticket
	for _, path := range f.files {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		out = append(out, discovery.Ticket{Class: tickets.JWTClass, Data: []byte(strings.TrimSpace(string(b)))})
	}
	return out, nil
}
