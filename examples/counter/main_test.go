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

func TestRunAgreesOnTheTotal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, 3, 10); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if got := strings.Count(out.String(), "total 55"); got != 3 {
		t.Fatalf("%d nodes report total 55, want 3:\n%s", got, out.String())
	}
	if err := run(ctx, &out, 0, 1); err == nil {
		t.Fatal("zero nodes accepted")
	}
}
