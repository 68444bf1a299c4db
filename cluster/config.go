package cluster

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/logroute"
	"github.com/mosaikgo/mosaik/transport"
)

// ErrInvalidConfig is wrapped by every Config.Validate error.
var ErrInvalidConfig = errors.New("cluster: invalid config")

// Config describes one node. The zero value of each field is its default;
// Network is the only field that must be set.
type Config struct {
	// Network names the network to join; nodes with different names never
	// see each other. A 64-character hex string is taken as the network id
	// itself, any other string is hashed (see id.Of).
	Network string

	// Key is the node's identity. Default: a fresh random key, which gives
	// the node a new PeerID on every start; long-lived nodes set it.
	Key id.SecretKey

	// ListenAddr is the UDP address of the QUIC endpoint. Default
	// "127.0.0.1:0" (loopback, any port): safe for tests and demos; a node
	// meant to be reached from other machines names its interface.
	ListenAddr string

	// AdvertiseAddr is the transport address put in the node's peer entry
	// for others to dial. Default: the endpoint's own address, which is
	// right unless ListenAddr binds a wildcard ("0.0.0.0:7000") or the node
	// sits behind a NAT.
	AdvertiseAddr string

	// GossipAddr is memberlist's bind address (UDP and TCP on one port).
	// Default "127.0.0.1:0", for the same reason as ListenAddr.
	GossipAddr string

	// GossipSecret, when set, is the network's secret (16, 24 or 32
	// bytes): gossip is encrypted with it (AES), and catalog syncs over
	// the transport demand proof of it from both ends before either reads
	// a catalog. Nodes without the same secret can neither gossip nor sync
	// with this one. Default none: the network is open to anyone who can
	// reach its ports and knows its name (docs/operations.md, "Exposure to
	// outsiders").
	GossipSecret []byte

	// Bootstrap lists gossip addresses of nodes to join ("host:port").
	// The node keeps retrying them while it knows no other member, so
	// seeds may start later. Default: none (the node waits to be joined).
	Bootstrap []string

	// Tags are attached to the node's first peer entry.
	Tags []id.Tag
	// Tickets are carried in the node's first peer entry (see
	// Node.AddTicket for later changes and docs/tickets.md).
	Tickets []discovery.Ticket

	// Discovery tunes gossip and the catalog. Default
	// discovery.DefaultConfig(); discovery.FastConfig() for tests.
	Discovery discovery.Config

	// DataDir holds the Raft logs, snapshots and replica records of the
	// node's groups, so that a node started again with the same Key and
	// DataDir restarts its replicas from their durable logs. Default:
	// <user cache dir>/mosaik/<network short id>/<peer short id>
	// (os.UserCacheDir: ~/.cache on Linux, ~/Library/Caches on macOS,
	// %LocalAppData% on Windows), so runs with the same network and Key
	// reuse it and nothing is written to the working directory; where the
	// system has no cache directory ($HOME and $XDG_CACHE_HOME unset),
	// the same path under os.TempDir(), with a warning on Logger.
	// Node.DataDir reports the directory in use. InMemory keeps everything
	// in memory instead: nothing survives a restart, and a restarted node
	// rejoins its groups as a new member (tests, demos).
	DataDir string

	// GossipLog, when set, receives memberlist's log lines (probes,
	// suspicions, refutations), prefixed with the node's short peer id.
	// Default: discarded. Useful when failure detection misbehaves.
	GossipLog io.Writer

	// Endpoint, when set, replaces the QUIC endpoint (ListenAddr is then
	// ignored). The test kit passes an in-memory endpoint. The node owns
	// it from Start on and closes it on Close. Key must be the endpoint's
	// key.
	Endpoint transport.Endpoint

	// GossipTransport, when set, replaces memberlist's UDP/TCP transport
	// (GossipAddr is then ignored). The test kit passes an in-memory one.
	// The node owns it from Start on.
	GossipTransport memberlist.NodeAwareTransport

	// MetricsAddr, when set, is the TCP address ("host:port"; port 0 picks
	// one, see Node.MetricsAddr) of an HTTP listener serving the node's
	// Prometheus metrics at /metrics (docs/metrics.md). Default: no
	// listener; the metrics are still kept, and Node.Metrics returns their
	// registry for mounting on the application's own server.
	MetricsAddr string

	// Logger receives the node's log records: mosaik's own events (seed
	// unreachable, leader elected or lost, shard re-formed, rival loss,
	// bond refused, data directory problems) and the lines of the
	// libraries under it (memberlist, dragonboat, protoactor-go), each
	// with lib=... and at a level mapped from the library's own
	// (docs/configuration.md, "Logging"). Every record carries
	// node=<short peer id>. Default: slog.Default() at Warn and above,
	// looked up at each record, so a program that sets its default logger
	// later is followed, and warnings (a seed that cannot be reached) are
	// seen while routine lines are not. The node never changes the
	// standard log package's output or slog's default logger; pass
	// slog.New(slog.DiscardHandler) for silence.
	Logger *slog.Logger

	// SeedTimeout is how long the node tries to join through each
	// Bootstrap seed before it declares the seed unreachable: a warning
	// on Logger, Node.Seeds() says SeedUnreachable, the
	// mosaik_discovery_seeds_unreachable gauge counts it. Attempts go on
	// (every 15 s), so a seed that comes up later is still joined. An
	// attempt in flight (a TCP dial to a silent host, bounded by
	// Discovery.StreamTimeout) finishes first. Default 5 s.
	SeedTimeout time.Duration

	// RequireSeed makes Start wait until a Bootstrap seed is reached and
	// fail, with an error matching ErrSeedUnreachable, when none is within
	// SeedTimeout, instead of running alone. Requires Bootstrap. Default
	// false: a node whose seeds are down starts alone and is found later.
	RequireSeed bool
}

// DefaultSeedTimeout is Config.SeedTimeout when it is zero.
const DefaultSeedTimeout = 5 * time.Second

// InMemory as Config.DataDir keeps group state in memory only.
const InMemory = ":memory:"

// defaultDataDir is Config.DataDir's default for a network and peer,
// under the user's cache directory (cacheDir, or cacheErr when there is
// none), else under tmp; fallback reports the latter.
func defaultDataDir(cacheDir string, cacheErr error, tmp string, network id.NetworkID, peer id.PeerID) (dir string, fallback bool) {
	base := cacheDir
	if cacheErr != nil || base == "" {
		base, fallback = tmp, true
	}
	return filepath.Join(base, "mosaik", network.Short(), peer.Short()), fallback
}

func (c Config) withDefaults() Config {
	if c.Key.IsZero() {
		c.Key = id.NewSecretKey()
	}
	c.ListenAddr = cmp.Or(c.ListenAddr, "127.0.0.1:0")
	c.GossipAddr = cmp.Or(c.GossipAddr, "127.0.0.1:0")
	c.Discovery = c.Discovery.WithDefaults()
	c.SeedTimeout = cmp.Or(c.SeedTimeout, DefaultSeedTimeout)
	if c.Logger == nil {
		c.Logger = slog.New(logroute.AtLeast(slog.LevelWarn, func() slog.Handler { return slog.Default().Handler() }))
	}
	return c
}

// Validate reports the first field that cannot work.
func (c Config) Validate() error {
	bad := func(field, why string) error { return fmt.Errorf("%w: %s %s", ErrInvalidConfig, field, why) }
	if c.Network == "" {
		return bad("Network", "is empty; nodes find each other by network name")
	}
	switch len(c.GossipSecret) {
	case 0, 16, 24, 32:
	default:
		return bad("GossipSecret", fmt.Sprintf("is %d bytes; AES needs 16, 24 or 32", len(c.GossipSecret)))
	}
	for _, addr := range []struct{ field, v string }{{"ListenAddr", c.ListenAddr}, {"GossipAddr", c.GossipAddr}, {"MetricsAddr", c.MetricsAddr}} {
		if addr.v == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr.v); err != nil {
			return bad(addr.field, fmt.Sprintf("%q is not host:port: %v", addr.v, err))
		}
	}
	for i, seed := range c.Bootstrap {
		if _, _, err := net.SplitHostPort(seed); err != nil {
			return bad(fmt.Sprintf("Bootstrap[%d]", i), fmt.Sprintf("%q is not host:port: %v", seed, err))
		}
	}
	if c.SeedTimeout < 0 {
		return bad("SeedTimeout", fmt.Sprintf("is %v; it must be positive (0 is the default)", c.SeedTimeout))
	}
	if c.RequireSeed && len(c.Bootstrap) == 0 {
		return bad("RequireSeed", "is set without Bootstrap seeds")
	}
	if c.Endpoint != nil && !c.Key.IsZero() && c.Endpoint.PeerID() != c.Key.PeerID() {
		return bad("Key", "differs from the identity of Endpoint; peers would refuse the node")
	}
	if err := c.Discovery.Validate(); err != nil {
		return fmt.Errorf("%w: Discovery: %w", ErrInvalidConfig, err)
	}
	return nil
}
