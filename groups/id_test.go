package groups

import (
	"testing"

	"github.com/mosaikgo/mosaik/id"
)

func TestIDFollowsTheDerivation(t *testing.T) {
	key := KeyFromSecret("group key")
	machine, v1, v2 := id.Of("counter/v1"), id.Of("jwt"), id.Of("tdx")
	want := id.Hash(key.Secret()).
		DeriveDigest(DefaultConsensus().Digest()).
		DeriveDigest(machine).
		DeriveDigest(v1).
		DeriveDigest(v2)
	if got := ID(key, ConsensusConfig{}, machine, v1, v2); got != want {
		t.Fatalf("ID = %s, want %s", got, want)
	}
}

func TestIDSeparatesGroups(t *testing.T) {
	key := KeyFromSecret("group key")
	machine := id.Of("counter/v1")
	v1, v2 := id.Of("jwt"), id.Of("tdx")
	base := ID(key, ConsensusConfig{}, machine)

	slower := DefaultConsensus()
	slower.ElectionTimeout += 1
	tests := []struct {
		name string
		got  id.GroupID
		same bool
	}{
		{"same inputs, built independently", ID(KeyFromSecret("group key"), DefaultConsensus(), id.Of("counter/v1")), true},
		{"explicit defaults equal zero config", ID(key, ConsensusConfig{HeartbeatInterval: DefaultConsensus().HeartbeatInterval}, machine), true},
		{"no validators equals an empty list", ID(key, ConsensusConfig{}, machine, []id.Digest{}...), true},
		{"other key", ID(KeyFromSecret("other key"), ConsensusConfig{}, machine), false},
		{"other timings", ID(key, FastConsensus(), machine), false},
		{"one nanosecond of election timeout", ID(key, slower, machine), false},
		{"other machine", ID(key, ConsensusConfig{}, id.Of("counter/v2")), false},
		{"a validator", ID(key, ConsensusConfig{}, machine, v1), false},
	}
	for _, tc := range tests {
		if (tc.got == base) != tc.same {
			t.Errorf("%s: same id = %v, want %v", tc.name, tc.got == base, tc.same)
		}
	}

	ids := map[id.GroupID]string{}
	for name, g := range map[string]id.GroupID{
		"none":   base,
		"v1":     ID(key, ConsensusConfig{}, machine, v1),
		"v2":     ID(key, ConsensusConfig{}, machine, v2),
		"v1,v2":  ID(key, ConsensusConfig{}, machine, v1, v2),
		"v2,v1":  ID(key, ConsensusConfig{}, machine, v2, v1),
		"v1,v1":  ID(key, ConsensusConfig{}, machine, v1, v1),
		"key=m":  ID(KeyFromSecret(machine.String()), ConsensusConfig{}, machine),
		"mach=0": ID(key, ConsensusConfig{}, id.Digest{}),
	} {
		if other, dup := ids[g]; dup {
			t.Errorf("validators %s and %s give one id", name, other)
		}
		ids[g] = name
	}
	if ID(key, ConsensusConfig{}, machine, v1, v2) != ID(KeyFromSecret("group key"), DefaultConsensus(), id.Of("counter/v1"), id.Of("jwt"), id.Of("tdx")) {
		t.Error("identical inputs with validators give different ids")
	}
}

func TestIDDoesNotRevealTheKey(t *testing.T) {
	key := KeyFromSecret("group key")
	g := ID(key, ConsensusConfig{}, id.Of("m"))
	if g == id.Hash(key.Secret()) || g == id.Digest(*key.raw()) {
		t.Fatal("the id is the key or its digest")
	}
}
