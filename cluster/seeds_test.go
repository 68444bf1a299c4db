package cluster_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/testkit"
	"github.com/mosaikgo/mosaik/transport/memnet"
)

// TestSeedUnreachableIsLoud: a seed nothing answers at is declared
// unreachable after SeedTimeout, with a warning, a status, a metric; a
// good seed is reached.
func TestSeedUnreachableIsLoud(t *testing.T) {
	rec := testkit.NewLogRecorder()
	c := testkit.NewCluster(t, 2, testkit.Options{
		Logger: rec.Logger(),
		Configure: func(i int, cfg *cluster.Config) {
			if i == 1 {
				cfg.Bootstrap = append(cfg.Bootstrap, "10.9.9.9:7946") // nobody there on memnet
				cfg.SeedTimeout = 200 * time.Millisecond
			}
		},
	})
	ctx := testkit.Context(t)
	n := c.Node(1)
	if err := n.WaitSeeds(ctx); err != nil {
		t.Fatalf("WaitSeeds with one good seed: %v", err)
	}
	if err := testkit.WaitFor(ctx, func() bool {
		s := n.Seeds()
		return len(s) == 2 && s[0].State == cluster.SeedReached && s[1].State == cluster.SeedUnreachable
	}); err != nil {
		t.Fatalf("seeds %+v: %v", n.Seeds(), err)
	}
	bad := n.Seeds()[1]
	if !errors.Is(bad.Err, cluster.ErrSeedUnreachable) || strings.Contains(bad.Err.Error(), "\n") {
		t.Fatalf("seed error %q: want one line matching ErrSeedUnreachable", bad.Err)
	}
	if len(rec.Find(slog.LevelWarn, "seed unreachable", "seed", "10.9.9.9:7946")) == 0 {
		t.Fatal("no warning for the unreachable seed")
	}
	if got := gaugeValue(t, n, "mosaik_discovery_seeds_unreachable"); got != 1 {
		t.Fatalf("mosaik_discovery_seeds_unreachable = %v, want 1", got)
	}
}

// TestRequireSeedFailsStart: with RequireSeed and no seed reachable,
// Start fails with a one-line error matching ErrSeedUnreachable.
func TestRequireSeedFailsStart(t *testing.T) {
	ctx := testkit.Context(t)
	mem := memnet.New(memnet.Config{Seed: 1})
	defer mem.Close()
	key := id.NewSecretKey()
	ep, err := mem.Listen(key, memnet.EndpointConfig{})
	if err != nil {
		t.Fatal(err)
	}
	gt, err := mem.Gossip(key.PeerID())
	if err != nil {
		t.Fatal(err)
	}
	_, err = cluster.Start(ctx, cluster.Config{
		Network: "seeds", Key: key, Endpoint: ep, GossipTransport: gt,
		Bootstrap:   []string{"10.9.9.9:7946"},
		SeedTimeout: 200 * time.Millisecond,
		RequireSeed: true,
		DataDir:     cluster.InMemory,
		Discovery:   discovery.FastConfig(),
		Logger:      slog.New(slog.DiscardHandler),
	})
	if !errors.Is(err, cluster.ErrSeedUnreachable) {
		t.Fatalf("Start: %v, want ErrSeedUnreachable", err)
	}
	if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "10.9.9.9:7946") {
		t.Fatalf("error %q: want one line naming the seed", err)
	}
}

// TestRequireSeedOnLoopback: a real socket nothing listens on is refused
// at once, and the error says what to check.
func TestRequireSeedOnLoopback(t *testing.T) {
	ctx := testkit.Context(t)
	_, err := cluster.Start(ctx, cluster.Config{
		Network:     "seeds",
		Bootstrap:   []string{"127.0.0.1:1"},
		SeedTimeout: 300 * time.Millisecond,
		RequireSeed: true,
		DataDir:     cluster.InMemory,
		Discovery:   discovery.FastConfig(),
		Logger:      slog.New(slog.DiscardHandler),
	})
	if !errors.Is(err, cluster.ErrSeedUnreachable) {
		t.Fatalf("Start: %v, want ErrSeedUnreachable", err)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "gossip address") {
		t.Fatalf("error %q: want one line with a hint", msg)
	}
}

// TestWrongNetworkSeed: a seed of another network, or with another
// gossip secret, is not joined, and the failure hints at both.
func TestWrongNetworkSeed(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	secret := []byte("0123456789abcdef")
	for _, tc := range []struct {
		name                   string
		seedNet, nodeNet       string
		seedSecret, nodeSecret []byte
		hint                   string
	}{
		{"network", "other", "mine", nil, nil, "another network"},
		{"secret", "same", "same", secret, nil, "another gossip secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testkit.Context(t)
			seed, err := cluster.Start(ctx, cluster.Config{Network: tc.seedNet, GossipSecret: tc.seedSecret,
				DataDir: cluster.InMemory, Discovery: discovery.FastConfig(), Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			defer seed.Close(context.Background())
			_, err = cluster.Start(ctx, cluster.Config{
				Network:      tc.nodeNet,
				GossipSecret: tc.nodeSecret,
				Bootstrap:    []string{seed.GossipAddr()},
				SeedTimeout:  300 * time.Millisecond,
				RequireSeed:  true,
				DataDir:      cluster.InMemory,
				Discovery:    discovery.FastConfig(),
				Logger:       quiet,
			})
			if !errors.Is(err, cluster.ErrSeedUnreachable) {
				t.Fatalf("Start: %v, want ErrSeedUnreachable", err)
			}
			t.Log(err)
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, tc.hint) {
				t.Fatalf("error %q: want one line hinting at %q", msg, tc.hint)
			}
		})
	}
}

// gaugeValue reads one unlabelled gauge from the node's registry.
func gaugeValue(t *testing.T, n *cluster.Node, name string) float64 {
	t.Helper()
	mfs, err := n.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}
