package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/testkit"
)

func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }

func TestRunExchangesPings(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, 50); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !regexp.MustCompile(`50 pings: p50 \S+ +p99 \S+ +max \S+`).Match(out.Bytes()) {
		t.Fatalf("no summary line in:\n%s", out.String())
	}
	if err := run(ctx, &out, 0); err == nil {
		t.Fatal("zero pings accepted")
	}
}
