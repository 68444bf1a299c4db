package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/tickets"
)

// TestTicketCommands makes an issuer key and a ticket with the CLI, and
// checks the ticket passes a validator of the printed public key, for its
// subject only; a node started with -ticket carries it.
func TestTicketCommands(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "issuer.pem")
	e, out, errOut := testEnv(nil)
	if code := dispatch(context.Background(), e, []string{"ticket", "key", "-out", keyFile}); code != exitOK {
		t.Fatalf("ticket key: exit %d: %s", code, errOut)
	}
	hexPub, ok := strings.CutPrefix(strings.TrimSpace(out.String()), "public key (ed25519): ")
	pub, err := hex.DecodeString(hexPub)
	if !ok || err != nil || len(pub) != ed25519.PublicKeySize {
		t.Fatalf("ticket key printed %q", out.String())
	}
	holder := id.SecretKeyFromSeed("cli ticket holder").PeerID()
	e, out, errOut = testEnv(nil)
	if code := dispatch(context.Background(), e, []string{"ticket", "jwt", "-key-file", keyFile, "-subject", holder.String(), "-issuer", "ops", "-expires", "1h", "-claim", `role="matcher"`}); code != exitOK {
		t.Fatalf("ticket jwt: exit %d: %s", code, errOut)
	}
	token := strings.TrimSpace(out.String())
	v := tickets.JWT{Keys: []tickets.Key{tickets.EdDSA(pub)}, Issuers: []string{"ops"}, Claims: map[string]json.RawMessage{"role": json.RawMessage(`"matcher"`)}}
	if _, err := v.Validate([]byte(token), discovery.Entry{Peer: holder}); err != nil {
		t.Fatalf("the CLI's ticket does not validate: %v", err)
	}
	if _, err := v.Validate([]byte(token), discovery.Entry{Peer: id.SecretKeyFromSeed("someone else").PeerID()}); err == nil {
		t.Fatal("the ticket validates for another peer")
	}

	// A node carries the ticket from the file -ticket names.
	file := filepath.Join(dir, "ticket.jwt")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var f nodeFlags
	fs := flag.NewFlagSet("join", flag.ContinueOnError)
	f.register(fs)
	if err := fs.Parse([]string{"-ticket", file}); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := f.config(func(string) string { return "" })
	if err != nil || len(cfg.Tickets) != 1 || string(cfg.Tickets[0].Data) != token || cfg.Tickets[0].Class != tickets.JWTClass {
		t.Fatalf("-ticket gives %+v, %v", cfg.Tickets, err)
	}

	for _, bad := range [][]string{
		{"ticket"},
		{"ticket", "jwt", "-key-file", keyFile},
		{"ticket", "jwt", "-alg", "HS256", "-subject", holder.String()},
		{"ticket", "jwt", "-alg", "ES256", "-key-file", keyFile, "-subject", holder.String()},
		{"ticket", "jwt", "-key-file", keyFile, "-subject", holder.String(), "-claim", "role"},
		{"ticket", "key"},
	} {
		e, _, _ := testEnv(nil)
		if code := dispatch(context.Background(), e, bad); code != exitUsage {
			t.Errorf("mosaik %q: exit %d, want %d", bad, code, exitUsage)
		}
	}
}
