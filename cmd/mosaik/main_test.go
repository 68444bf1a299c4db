package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/testkit"
)

func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }

// testEnv is a non-terminal environment whose output the test reads.
func testEnv(vars map[string]string) (*env, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &env{stdout: &out, stderr: &errOut, getenv: func(k string) string { return vars[k] }}, &out, &errOut
}

func TestDispatch(t *testing.T) {
	tests := []struct {
		args    []string
		code    int
		stdout  string // substrings expected on each stream
		stderr  string
		noStart bool
	}{
		{args: nil, code: exitUsage, stderr: "usage: mosaik <command>"},
		{args: []string{"help"}, code: exitOK, stdout: "beacon"},
		{args: []string{"-h"}, code: exitOK, stdout: "status"},
		{args: []string{"help", "ping"}, code: exitOK, stderr: "usage: mosaik ping [flags] ADDR"},
		{args: []string{"nope"}, code: exitUsage, stderr: `unknown command "nope"`},
		{args: []string{"demo", "-h"}, code: exitOK, stderr: "-kill-after"},
		{args: []string{"demo", "-bogus"}, code: exitUsage, stderr: "flag provided but not defined: -bogus"},
		{args: []string{"demo", "-n", "0"}, code: exitUsage, stderr: "-n must be at least 1"},
		{args: []string{"demo", "-kill-after", "5s", "-duration", "5s"}, code: exitUsage, stderr: "must exceed -kill-after"},
		{args: []string{"demo", "extra"}, code: exitUsage, stderr: "want 0 argument(s)"},
		{args: []string{"beacon", "-profile", "wan"}, code: exitUsage, stderr: `unknown profile "wan"`},
		{args: []string{"beacon", "-gossip", "nowhere"}, code: exitUsage, stderr: "GossipAddr"},
		{args: []string{"join"}, code: exitUsage, stderr: "join needs -seed"},
		{args: []string{"join", "-seed", "127.0.0.1:1", "-rate", "-1"}, code: exitUsage, stderr: "-rate must not be negative"},
		{args: []string{"ping"}, code: exitUsage, stderr: "want 1 argument(s), got 0"},
		{args: []string{"ping", "a:1", "b:2"}, code: exitUsage, stderr: "want 1 argument(s), got 2"},
		{args: []string{"ping", "-timeout", "0s", "a:1"}, code: exitUsage, stderr: "-timeout must be positive"},
		{args: []string{"ping", "no-port"}, code: exitError, stderr: "not a host:port gossip address"},
		{args: []string{"status", "no-port"}, code: exitError, stderr: "not a host:port gossip address"},
	}
	for _, tt := range tests {
		e, out, errOut := testEnv(nil)
		code := dispatch(context.Background(), e, tt.args)
		if code != tt.code || !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errOut.String(), tt.stderr) {
			t.Errorf("mosaik %q: exit %d, want %d\nstdout: %s\nstderr: %s", tt.args, code, tt.code, out, errOut)
		}
	}
}

func TestPingNobody(t *testing.T) {
	// Nothing listens on port 1: the probe node starts, fails to reach
	// the target, and closes again.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e, _, errOut := testEnv(nil)
	if code := dispatch(ctx, e, []string{"ping", "-timeout", "5s", "127.0.0.1:1"}); code != exitError {
		t.Fatalf("exit %d, want %d; stderr: %s", code, exitError, errOut)
	}
	msg := errOut.String()
	if !strings.Contains(msg, "127.0.0.1:1") || !strings.Contains(msg, `network "mosaik"`) || strings.Count(msg, "\n") != 1 {
		t.Fatalf("want one line naming the target and network, got %q", msg)
	}
}

func TestNodeFlagsSecret(t *testing.T) {
	fromEnv := map[string]string{secretEnv: "env secret"}
	tests := []struct {
		name   string
		secret string
		vars   map[string]string
		want   string // the secret the key must come from; empty for a fresh key
	}{
		{"flag", "flag secret", fromEnv, "flag secret"},
		{"environment", "", fromEnv, "env secret"},
		{"none", "", nil, ""},
	}
	for _, tt := range tests {
		f := nodeFlags{networkFlags: networkFlags{network: "n", profile: profileLAN}, secret: tt.secret,
			listen: "127.0.0.1:0", gossip: "127.0.0.1:0", tags: listFlag{"web"}}
		cfg, stable, err := f.config(func(k string) string { return tt.vars[k] })
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if stable != (tt.want != "") {
			t.Errorf("%s: stable = %v", tt.name, stable)
		}
		if tt.want != "" && cfg.Key.PeerID() != id.SecretKeyFromSeed(tt.want).PeerID() {
			t.Errorf("%s: key is not the one %q derives", tt.name, tt.want)
		}
		if tt.want == "" && !cfg.Key.IsZero() {
			t.Errorf("%s: a key without a secret", tt.name)
		}
		if len(cfg.Tags) != 1 || cfg.DataDir == "" {
			t.Errorf("%s: tags %v, data dir %q", tt.name, cfg.Tags, cfg.DataDir)
		}
	}
}

func TestListFlag(t *testing.T) {
	var l listFlag
	for _, v := range []string{"a:1", "b:2, c:3", " ", ""} {
		if err := l.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	if got := l.String(); got != "a:1,b:2,c:3" {
		t.Fatalf("list %q", got)
	}
}

func TestDropLines(t *testing.T) {
	var out bytes.Buffer
	d := dropLines{w: &out, noise: harmlessLogLines}
	for _, line := range []string{
		"2025/01/01 00:00:00 background error: vfs: not supported\n",
		"2025/01/01 00:00:00 something that matters\n",
	} {
		if n, err := d.Write([]byte(line)); n != len(line) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if out.String() != "2025/01/01 00:00:00 something that matters\n" {
		t.Fatalf("kept %q", out.String())
	}
}
