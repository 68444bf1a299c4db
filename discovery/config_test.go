package discovery

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigPresetsValidate(t *testing.T) {
	for name, c := range map[string]Config{"zero": {}, "default": DefaultConfig(), "fast": FastConfig()} {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if (Config{}).WithDefaults() != DefaultConfig() {
		t.Fatal("the zero config is not the default profile")
	}
}

func TestConfigValidateNamesTheField(t *testing.T) {
	tests := []struct {
		field string
		c     Config
	}{
		{"PurgeAfter", Config{PurgeAfter: -1}},
		{"MaxEntrySize", Config{MaxEntrySize: 10}},
		{"ProbeTimeout", Config{ProbeInterval: time.Second, ProbeTimeout: 2 * time.Second}},
		{"SuspicionMult", Config{SuspicionMult: -1}},
		{"MaxPeers", Config{MaxPeers: -1}},
		{"MaxCatalogBytes", Config{MaxCatalogBytes: 1 << 10}},
		{"MaxNewPerSync", Config{MaxNewPerSync: -1}},
		{"MaxQueuedInputs", Config{MaxQueuedInputs: -1}},
		{"MaxQueuedBytes", Config{MaxQueuedBytes: -1}},
	}
	for _, tc := range tests {
		err := tc.c.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: Validate() = %v", tc.field, err)
		}
	}
}
