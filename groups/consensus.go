package groups

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/mosaikgo/mosaik/id"
)

// ConsensusConfig holds a group's timings. It is part of the group id
// ([ID]): members whose effective timings differ would misjudge each
// other's liveness, so they never bond. The zero value of a field means
// its default from [DefaultConsensus]; [FastConsensus] is the profile for
// tests and LANs.
type ConsensusConfig struct {
	// HeartbeatInterval is the period of a bond's heartbeat tick, and the
	// period of the Raft leader's heartbeats. Default 500 ms, the
	// reference's value.
	HeartbeatInterval time.Duration

	// HeartbeatJitter is subtracted, scaled by a random factor in [0, 1),
	// from each heartbeat period ([NextHeartbeat]), so the bonds of a
	// node do not all tick at once. Default 150 ms. It must be shorter
	// than HeartbeatInterval so the period stays positive. (Zero means
	// the default; there is no way to turn jitter off, on purpose.)
	HeartbeatJitter time.Duration

	// MaxMissedHeartbeats is how many consecutive heartbeat ticks may pass
	// without hearing anything from the peer before the bond is closed
	// with 30_408. Default 10, which with the default interval gives a
	// peer about 5 s of silence: long enough for a GC pause or a slow
	// link, short enough that a dead voter is replaced promptly. It must
	// be at least 2: both ends tick on their own jittered schedules, so a
	// single period of one side can fall between two pings of the other.
	MaxMissedHeartbeats int

	// ElectionTimeout is how long a follower waits without hearing from a
	// leader before it stands for election. Default 2 s, the reference's
	// value. It must exceed twice HeartbeatInterval, so that a follower
	// tolerates one lost heartbeat (dragonboat enforces the same ratio).
	ElectionTimeout time.Duration

	// ElectionJitter is the most that is added at random to each election
	// timeout, so that candidates rarely split the vote. Default 500 ms.
	ElectionJitter time.Duration

	// BootstrapDelay is how long a member that knows no genesis waits for
	// bonds (and their geneses) before the lowest such member starts a new
	// shard. Default 3 s: several gossip rounds, so members started
	// together find each other instead of bootstrapping rivals.
	BootstrapDelay time.Duration

	// ForwardTimeout bounds how long a follower waits for the leader to
	// accept a command it forwarded. Default 2 s: one election timeout,
	// so a forward outlives a leader change that is quick. Bonds use the
	// same bound for a dial and handshake, for the pause before
	// re-dialling a peer after a failed attempt, and for how long a
	// leaving member waits for its Departure to be read (the group waits
	// twice this for all its bonds).
	ForwardTimeout time.Duration

	// QueryTimeout bounds a strong (linearizable) query. Default 2 s, as
	// ForwardTimeout and for the same reason.
	QueryTimeout time.Duration
}

// DefaultConsensus is the reference's profile, for deployments over real
// networks.
func DefaultConsensus() ConsensusConfig {
	return ConsensusConfig{
		HeartbeatInterval:   500 * time.Millisecond,
		HeartbeatJitter:     150 * time.Millisecond,
		MaxMissedHeartbeats: 10,
		ElectionTimeout:     2 * time.Second,
		ElectionJitter:      500 * time.Millisecond,
		BootstrapDelay:      3 * time.Second,
		ForwardTimeout:      2 * time.Second,
		QueryTimeout:        2 * time.Second,
	}
}

// FastConsensus is for tests and LANs: five times faster heartbeats with
// the default's ratios (jitter 30 % of the interval, election four
// heartbeats), so a leader is found in well under a second. A silent bond
// still takes 10 ticks (1 s) to be declared dead, matching discovery's
// fast profile: a loaded 2-core machine running tests under the race
// detector stalls for hundreds of milliseconds, and tighter limits break
// healthy bonds. The bootstrap delay covers several fast gossip rounds;
// forward and query timeouts outlast one election with its jitter.
func FastConsensus() ConsensusConfig {
	return ConsensusConfig{
		HeartbeatInterval:   100 * time.Millisecond,
		HeartbeatJitter:     30 * time.Millisecond,
		MaxMissedHeartbeats: 10,
		ElectionTimeout:     400 * time.Millisecond,
		ElectionJitter:      200 * time.Millisecond,
		BootstrapDelay:      500 * time.Millisecond,
		ForwardTimeout:      time.Second,
		QueryTimeout:        time.Second,
	}
}

// WithDefaults fills zero fields from DefaultConsensus.
func (c ConsensusConfig) WithDefaults() ConsensusConfig {
	d := DefaultConsensus()
	c.HeartbeatInterval = cmp.Or(c.HeartbeatInterval, d.HeartbeatInterval)
	c.HeartbeatJitter = cmp.Or(c.HeartbeatJitter, d.HeartbeatJitter)
	c.ElectionTimeout = cmp.Or(c.ElectionTimeout, d.ElectionTimeout)
	c.ElectionJitter = cmp.Or(c.ElectionJitter, d.ElectionJitter)
	c.BootstrapDelay = cmp.Or(c.BootstrapDelay, d.BootstrapDelay)
	c.ForwardTimeout = cmp.Or(c.ForwardTimeout, d.ForwardTimeout)
	c.QueryTimeout = cmp.Or(c.QueryTimeout, d.QueryTimeout)
	c.MaxMissedHeartbeats = cmp.Or(c.MaxMissedHeartbeats, d.MaxMissedHeartbeats)
	return c
}

// ErrInvalidConfig is wrapped by every Validate error.
var ErrInvalidConfig = errors.New("groups: invalid consensus config")

// Validate reports the first field that cannot work, after defaults.
func (c ConsensusConfig) Validate() error {
	c = c.WithDefaults()
	bad := func(field, why string) error { return fmt.Errorf("%w: %s %s", ErrInvalidConfig, field, why) }
	switch {
	case c.HeartbeatInterval < 0:
		return bad("HeartbeatInterval", "is negative")
	case c.HeartbeatJitter < 0:
		return bad("HeartbeatJitter", "is negative")
	case c.HeartbeatJitter >= c.HeartbeatInterval:
		return bad("HeartbeatJitter", "must be shorter than HeartbeatInterval")
	case c.MaxMissedHeartbeats < 2:
		return bad("MaxMissedHeartbeats", "must be at least 2")
	case c.ElectionTimeout <= 2*c.HeartbeatInterval:
		return bad("ElectionTimeout", "must exceed twice HeartbeatInterval")
	case c.ElectionJitter < 0:
		return bad("ElectionJitter", "is negative")
	case c.BootstrapDelay < 0:
		return bad("BootstrapDelay", "is negative")
	case c.ForwardTimeout < 0:
		return bad("ForwardTimeout", "is negative")
	case c.QueryTimeout < 0:
		return bad("QueryTimeout", "is negative")
	}
	return nil
}

// consensusDomain versions the encoding Digest hashes: a change of fields
// or layout must change every group id rather than collide with old ones.
var consensusDomain = []byte("mosaik/groups/consensus/v1\x00")

// Digest names the effective timings: two configs that are equal after
// [ConsensusConfig.WithDefaults] have equal digests, whatever fields were
// left zero. It hashes a fixed-width big-endian encoding (nanoseconds as
// int64, the count as int64) in field order, so it is the same on every
// platform and independent of protobuf's encoding choices.
func (c ConsensusConfig) Digest() id.Digest {
	c = c.WithDefaults()
	fields := []int64{
		int64(c.HeartbeatInterval),
		int64(c.HeartbeatJitter),
		int64(c.MaxMissedHeartbeats),
		int64(c.ElectionTimeout),
		int64(c.ElectionJitter),
		int64(c.BootstrapDelay),
		int64(c.ForwardTimeout),
		int64(c.QueryTimeout),
	}
	buf := make([]byte, 0, len(consensusDomain)+8*len(fields))
	buf = append(buf, consensusDomain...)
	for _, f := range fields {
		buf = binary.BigEndian.AppendUint64(buf, uint64(f))
	}
	return id.Hash(buf)
}
