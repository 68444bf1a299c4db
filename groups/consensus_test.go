package groups

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConsensusPresetsValidate(t *testing.T) {
	for name, c := range map[string]ConsensusConfig{"zero": {}, "default": DefaultConsensus(), "fast": FastConsensus()} {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if (ConsensusConfig{}).WithDefaults() != DefaultConsensus() {
		t.Fatal("the zero config is not the default profile")
	}
	if FastConsensus().WithDefaults() != FastConsensus() {
		t.Fatal("the fast profile leaves a field to the defaults")
	}
}

func TestConsensusDefaultsAreTheReference(t *testing.T) {
	want := ConsensusConfig{
		HeartbeatInterval:   500 * time.Millisecond,
		HeartbeatJitter:     150 * time.Millisecond,
		MaxMissedHeartbeats: 10,
		ElectionTimeout:     2 * time.Second,
		ElectionJitter:      500 * time.Millisecond,
		BootstrapDelay:      3 * time.Second,
		ForwardTimeout:      2 * time.Second,
		QueryTimeout:        2 * time.Second,
	}
	if DefaultConsensus() != want {
		t.Fatalf("DefaultConsensus() = %+v, want %+v", DefaultConsensus(), want)
	}
}

func TestConsensusValidateNamesTheField(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		field string
		c     ConsensusConfig
	}{
		{"HeartbeatInterval", ConsensusConfig{HeartbeatInterval: -1}},
		{"HeartbeatJitter", ConsensusConfig{HeartbeatJitter: -1}},
		{"HeartbeatJitter", ConsensusConfig{HeartbeatInterval: 100 * ms, HeartbeatJitter: 100 * ms, ElectionTimeout: time.Second}},
		{"HeartbeatJitter", ConsensusConfig{HeartbeatInterval: 100 * ms, ElectionTimeout: time.Second}}, // default jitter 150 ms > 100 ms
		{"MaxMissedHeartbeats", ConsensusConfig{MaxMissedHeartbeats: -1}},
		{"MaxMissedHeartbeats", ConsensusConfig{MaxMissedHeartbeats: 1}},
		{"ElectionTimeout", ConsensusConfig{ElectionTimeout: -1}},
		{"ElectionTimeout", ConsensusConfig{ElectionTimeout: time.Second}}, // exactly 2 heartbeats
		{"ElectionTimeout", ConsensusConfig{HeartbeatInterval: 2 * time.Second}},
		{"ElectionJitter", ConsensusConfig{ElectionJitter: -1}},
		{"BootstrapDelay", ConsensusConfig{BootstrapDelay: -1}},
		{"ForwardTimeout", ConsensusConfig{ForwardTimeout: -1}},
		{"QueryTimeout", ConsensusConfig{QueryTimeout: -1}},
	}
	for _, tc := range tests {
		err := tc.c.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: Validate(%+v) = %v", tc.field, tc.c, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "groups: ") {
			t.Errorf("%s: error %q lacks the package prefix", tc.field, err)
		}
	}
	if err := (ConsensusConfig{ElectionTimeout: time.Second + 1}).Validate(); err != nil {
		t.Errorf("just over two heartbeats: %v", err)
	}
}

func TestConsensusDigestOfEffectiveValues(t *testing.T) {
	d := DefaultConsensus()
	partial := ConsensusConfig{HeartbeatInterval: d.HeartbeatInterval, QueryTimeout: d.QueryTimeout}
	if (ConsensusConfig{}).Digest() != d.Digest() || partial.Digest() != d.Digest() {
		t.Fatal("configs with equal effective values have different digests")
	}
	if FastConsensus().Digest() == d.Digest() {
		t.Fatal("fast and default profiles share a digest")
	}
	if FastConsensus().Digest() != FastConsensus().Digest() {
		t.Fatal("digest is not deterministic")
	}
}

func TestConsensusDigestCoversEveryField(t *testing.T) {
	changes := map[string]func(*ConsensusConfig){
		"HeartbeatInterval":   func(c *ConsensusConfig) { c.HeartbeatInterval++ },
		"HeartbeatJitter":     func(c *ConsensusConfig) { c.HeartbeatJitter++ },
		"MaxMissedHeartbeats": func(c *ConsensusConfig) { c.MaxMissedHeartbeats++ },
		"ElectionTimeout":     func(c *ConsensusConfig) { c.ElectionTimeout++ },
		"ElectionJitter":      func(c *ConsensusConfig) { c.ElectionJitter++ },
		"BootstrapDelay":      func(c *ConsensusConfig) { c.BootstrapDelay++ },
		"ForwardTimeout":      func(c *ConsensusConfig) { c.ForwardTimeout++ },
		"QueryTimeout":        func(c *ConsensusConfig) { c.QueryTimeout++ },
	}
	seen := map[string]string{DefaultConsensus().Digest().String(): "default"}
	for field, change := range changes {
		c := DefaultConsensus()
		change(&c)
		d := c.Digest().String()
		if other, dup := seen[d]; dup {
			t.Errorf("changing %s gives the digest of %s", field, other)
		}
		seen[d] = field
	}
}

// The digest is part of every group id: changing its encoding splits
// every deployed group. This pins it; change the golden value only
// together with consensusDomain's version.
func TestConsensusDigestIsStable(t *testing.T) {
	const golden = "02e5e8fda6a6ac74d152644df2de21a92779861dab94e7ec151db25ef06d6d28"
	if got := DefaultConsensus().Digest().String(); got != golden {
		t.Fatalf("DefaultConsensus().Digest() = %s, want %s", got, golden)
	}
}
