package metrics_test

import (
	"context"
	"net"
	"testing"

	"github.com/mosaikgo/mosaik/metrics"
)

func TestServeExposesTheRegistryUntilClosed(t *testing.T) {
	n := metrics.New()
	n.SetGroupsActive(2)
	s, err := metrics.Serve("127.0.0.1:0", n.Registry())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f, err := scrape(ctx, s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	e := newExpect(f)
	e.eq(2, "mosaik_groups_active")
	e.eq(0, "mosaik_discovery_catalog_size")
	if err := e.err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := scrape(ctx, s.Addr()); err == nil {
		t.Fatal("scrape after Close succeeded")
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestServeCloseWithEndedContextStillStops(t *testing.T) {
	s, err := metrics.Serve("127.0.0.1:0", metrics.New().Registry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestServeRefusesUnusableAddresses(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, addr := range []string{"127.0.0.1:notaport", busy.Addr().String()} {
		if s, err := metrics.Serve(addr, metrics.New().Registry()); err == nil {
			s.Close(context.Background())
			t.Errorf("Serve(%q) succeeded", addr)
		}
	}
}
