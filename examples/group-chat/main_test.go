package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/testkit"
)

func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }

func TestThreeMembersChat(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, 3, "lobby"); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"alice joined lobby: members alice, 0 earlier message(s)",
		"bob joined lobby: members alice,bob, 1 earlier message(s)",
		"carol joined lobby: members alice,bob,carol, 2 earlier message(s)",
		"after bob left, alice sees members alice,carol",
		"after bob left, carol sees members alice,carol",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	history := "alice: hello from alice | bob: hello from bob | carol: hello from carol"
	if c := strings.Count(got, "sees: "+history); c != 3 {
		t.Errorf("%d members see the whole history, want 3", c)
	}
	if t.Failed() {
		t.Log(got)
	}
	if err := run(ctx, &out, 1, "lobby"); err == nil {
		t.Fatal("one member accepted")
	}
}
