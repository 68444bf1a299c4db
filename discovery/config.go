package discovery

import (
	"cmp"
	"errors"
	"fmt"
	"time"
)

// Config tunes discovery. The zero value of a field means its default from
// [DefaultConfig]; [FastConfig] is the profile for tests and small LANs.
type Config struct {
	// PurgeAfter is how long an entry relayed by others may stay without
	// its peer being confirmed alive, and how long a departed peer's entry
	// is kept for a quick return. Default 300 s, the reference's value: long
	// enough to ride out a partition, short enough to forget old nodes.
	PurgeAfter time.Duration

	// MaxClockDrift is how far ahead of the local clock an entry's version
	// (its owner's clock in ms) may be. Default 5 min; larger drift means a
	// misconfigured clock, and such an entry would shadow later ones.
	MaxClockDrift time.Duration

	// MaxEntrySize bounds one signed entry in bytes. Default 64 KiB: tags,
	// groups and tickets of a busy node fit, a flood does not.
	MaxEntrySize int

	// TickInterval is how often purges run and missing entries are
	// fetched again. Default 1 s.
	TickInterval time.Duration

	// FetchTimeout bounds one direct fetch of an entry from its owner.
	// Default 2 s, the reference's forward timeout.
	FetchTimeout time.Duration

	// ReconnectInterval is how often a node tries to rejoin departed peers
	// (and its bootstrap seeds while alone). memberlist does not probe
	// nodes it declared dead, so this is what heals a partition. Default
	// 10 s.
	ReconnectInterval time.Duration

	// ProbeInterval is memberlist's failure-detection probe period. Default
	// 1 s (memberlist's LAN value).
	ProbeInterval time.Duration

	// ProbeTimeout is how long a probe waits for an ack before asking
	// others to probe indirectly. Default 500 ms (LAN).
	ProbeTimeout time.Duration

	// SuspicionMult scales how long a suspected node has to refute before
	// it is declared dead (in probe intervals, times log10 of the cluster
	// size). Default 4 (LAN).
	SuspicionMult int

	// GossipInterval is how often queued broadcasts are gossiped. Default
	// 200 ms (LAN).
	GossipInterval time.Duration

	// GossipNodes is how many random nodes each gossip round reaches.
	// Default 3 (LAN).
	GossipNodes int

	// PushPullInterval is how often a node exchanges full state with a
	// random peer: the anti-entropy that carries whole catalogs. Default
	// 30 s (LAN).
	PushPullInterval time.Duration

	// StreamTimeout bounds memberlist's TCP exchanges (joins, push-pull).
	// Default 10 s (LAN).
	StreamTimeout time.Duration

	// LeaveTimeout bounds each step of a graceful close: the farewell sent
	// to peers, and memberlist's leave broadcast (so Close may take twice
	// this). It also bounds the wait for a changed head to be gossiped.
	// Default 2 s.
	LeaveTimeout time.Duration

	// MaxPeers bounds the peers the catalog keeps records of (listed,
	// unconfirmed, or departed and kept for a quick return), the node
	// itself not counted. At the bound a newcomer takes the place of the
	// longest-departed peer, a peer confirmed alive by failure detection
	// that of the longest unconfirmed one, and anyone else is refused
	// (counted in mosaik_discovery_catalog_refused_total). Default 4096:
	// ten times the largest networks mosaik is tuned for, while a catalog
	// filled by an outsider stays within a few tens of MiB.
	MaxPeers int

	// MaxCatalogBytes bounds the signed bytes of the entries the catalog
	// holds, the node's own not counted, with the same rules as MaxPeers.
	// Default 32 MiB: 4096 entries of 8 KiB, far above real entries (a few
	// hundred bytes), and below what 4096 maximal entries (MaxEntrySize)
	// would take.
	MaxCatalogBytes int

	// MaxNewPerSync bounds the peers new to the catalog that one catalog
	// state (a memberlist push-pull, a sync, or a sync's answer) may add;
	// its entries for peers already listed are all taken. One source thus
	// cannot fill the catalog in one exchange. Default 1024: a joiner of a
	// larger network learns the rest over the next exchanges.
	MaxNewPerSync int

	// MaxQueuedInputs bounds the gossip and sync payloads (broadcasts,
	// push-pull states, synced catalogs) waiting for the discovery actor.
	// Beyond it, or beyond MaxQueuedBytes, new payloads are dropped and
	// counted (mosaik_discovery_inputs_shed_total) rather than queued;
	// gossip repeats what matters. Membership events (joins, leaves) are
	// never dropped. Default 4096.
	MaxQueuedInputs int

	// MaxQueuedBytes bounds the bytes of those waiting payloads. One
	// payload larger than the bound is still taken when nothing else
	// waits. Default 16 MiB.
	MaxQueuedBytes int
}

// DefaultConfig is the LAN profile: memberlist's LAN timings and the
// reference's purge and fetch times.
func DefaultConfig() Config {
	return Config{
		PurgeAfter:        300 * time.Second,
		MaxClockDrift:     5 * time.Minute,
		MaxEntrySize:      64 << 10,
		TickInterval:      time.Second,
		FetchTimeout:      2 * time.Second,
		ReconnectInterval: 10 * time.Second,
		ProbeInterval:     time.Second,
		ProbeTimeout:      500 * time.Millisecond,
		SuspicionMult:     4,
		GossipInterval:    200 * time.Millisecond,
		GossipNodes:       3,
		PushPullInterval:  30 * time.Second,
		StreamTimeout:     10 * time.Second,
		LeaveTimeout:      2 * time.Second,
		MaxPeers:          4096,
		MaxCatalogBytes:   32 << 20,
		MaxNewPerSync:     1024,
		MaxQueuedInputs:   4096,
		MaxQueuedBytes:    16 << 20,
	}
}

// FastConfig is for tests and small, quiet LANs: a dead node is declared
// dead in about a second, catalogs converge in a few gossip rounds. It
// costs more packets per second per node. The probe timings leave room for
// a loaded 2-core machine running tests under the race detector; tighter
// ones declare healthy nodes dead.
func FastConfig() Config {
	return Config{
		PurgeAfter:        5 * time.Second,
		MaxClockDrift:     5 * time.Minute,
		MaxEntrySize:      64 << 10,
		TickInterval:      100 * time.Millisecond,
		FetchTimeout:      time.Second,
		ReconnectInterval: 500 * time.Millisecond,
		ProbeInterval:     200 * time.Millisecond,
		ProbeTimeout:      100 * time.Millisecond,
		SuspicionMult:     3,
		GossipInterval:    50 * time.Millisecond,
		GossipNodes:       3,
		PushPullInterval:  time.Second,
		StreamTimeout:     time.Second,
		LeaveTimeout:      500 * time.Millisecond,
		MaxPeers:          4096,
		MaxCatalogBytes:   32 << 20,
		MaxNewPerSync:     1024,
		MaxQueuedInputs:   4096,
		MaxQueuedBytes:    16 << 20,
	}
}

// WithDefaults fills zero fields from DefaultConfig.
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	c.PurgeAfter = cmp.Or(c.PurgeAfter, d.PurgeAfter)
	c.MaxClockDrift = cmp.Or(c.MaxClockDrift, d.MaxClockDrift)
	c.TickInterval = cmp.Or(c.TickInterval, d.TickInterval)
	c.FetchTimeout = cmp.Or(c.FetchTimeout, d.FetchTimeout)
	c.ReconnectInterval = cmp.Or(c.ReconnectInterval, d.ReconnectInterval)
	c.ProbeInterval = cmp.Or(c.ProbeInterval, d.ProbeInterval)
	c.ProbeTimeout = cmp.Or(c.ProbeTimeout, d.ProbeTimeout)
	c.GossipInterval = cmp.Or(c.GossipInterval, d.GossipInterval)
	c.PushPullInterval = cmp.Or(c.PushPullInterval, d.PushPullInterval)
	c.StreamTimeout = cmp.Or(c.StreamTimeout, d.StreamTimeout)
	c.LeaveTimeout = cmp.Or(c.LeaveTimeout, d.LeaveTimeout)
	c.MaxEntrySize = cmp.Or(c.MaxEntrySize, d.MaxEntrySize)
	c.SuspicionMult = cmp.Or(c.SuspicionMult, d.SuspicionMult)
	c.GossipNodes = cmp.Or(c.GossipNodes, d.GossipNodes)
	c.MaxPeers = cmp.Or(c.MaxPeers, d.MaxPeers)
	c.MaxCatalogBytes = cmp.Or(c.MaxCatalogBytes, d.MaxCatalogBytes)
	c.MaxNewPerSync = cmp.Or(c.MaxNewPerSync, d.MaxNewPerSync)
	c.MaxQueuedInputs = cmp.Or(c.MaxQueuedInputs, d.MaxQueuedInputs)
	c.MaxQueuedBytes = cmp.Or(c.MaxQueuedBytes, d.MaxQueuedBytes)
	return c
}

// ErrInvalidConfig is wrapped by every Validate error.
var ErrInvalidConfig = errors.New("discovery: invalid config")

// Validate reports the first field that cannot work, after defaults.
func (c Config) Validate() error {
	c = c.WithDefaults()
	bad := func(field, why string) error { return fmt.Errorf("%w: %s %s", ErrInvalidConfig, field, why) }
	switch {
	case c.PurgeAfter < 0:
		return bad("PurgeAfter", "is negative")
	case c.MaxClockDrift < 0:
		return bad("MaxClockDrift", "is negative")
	case c.MaxEntrySize < 512:
		return bad("MaxEntrySize", "is below 512 bytes; no real entry fits")
	case c.TickInterval < 0 || c.ReconnectInterval < 0 || c.FetchTimeout < 0 || c.StreamTimeout < 0 || c.LeaveTimeout < 0:
		return bad("TickInterval/ReconnectInterval/FetchTimeout/StreamTimeout/LeaveTimeout", "is negative")
	case c.ProbeInterval <= 0 || c.ProbeTimeout <= 0:
		return bad("ProbeInterval/ProbeTimeout", "must be positive")
	case c.ProbeTimeout >= c.ProbeInterval:
		return bad("ProbeTimeout", "must be shorter than ProbeInterval")
	case c.SuspicionMult < 1:
		return bad("SuspicionMult", "must be at least 1")
	case c.GossipInterval <= 0 || c.GossipNodes < 1:
		return bad("GossipInterval/GossipNodes", "must be positive")
	case c.PushPullInterval <= 0:
		return bad("PushPullInterval", "must be positive")
	case c.MaxPeers < 0:
		return bad("MaxPeers", "is negative")
	case c.MaxCatalogBytes < c.MaxEntrySize:
		return bad("MaxCatalogBytes", "is below MaxEntrySize; a largest entry would never fit")
	case c.MaxNewPerSync < 0:
		return bad("MaxNewPerSync", "is negative")
	case c.MaxQueuedInputs < 0:
		return bad("MaxQueuedInputs", "is negative")
	case c.MaxQueuedBytes < 0:
		return bad("MaxQueuedBytes", "is negative")
	}
	return nil
}
