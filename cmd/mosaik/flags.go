package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
)

// defaultNetwork is the network every subcommand joins unless told
// otherwise, so that a beacon, a joiner and a ping started without flags
// find each other.
const defaultNetwork = "mosaik"

// secretEnv names the environment variable beacon and join read the node's
// secret from when -secret is not given. A flag is visible in ps output;
// the environment is not.
const secretEnv = "MOSAIK_SECRET"

// listFlag is a flag that may be repeated or given comma-separated values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// profile chooses gossip timings: the LAN defaults, or the fast profile
// (quicker failure detection and convergence, more packets).
type profile string

const (
	profileLAN  profile = "lan"
	profileFast profile = "fast"
)

func (p *profile) String() string { return string(*p) }

func (p *profile) Set(v string) error {
	switch profile(v) {
	case profileLAN, profileFast:
		*p = profile(v)
		return nil
	}
	return fmt.Errorf("unknown profile %q (want %q or %q)", v, profileLAN, profileFast)
}

// discovery returns the timings the profile names.
func (p profile) discovery() discovery.Config {
	if p == profileFast {
		return discovery.FastConfig()
	}
	return discovery.DefaultConfig()
}

// networkFlags are the flags of every subcommand that starts a node: which
// network, and which gossip timings.
type networkFlags struct {
	network string
	profile profile
}

func (f *networkFlags) register(fs *flag.FlagSet) {
	f.profile = profileLAN
	fs.StringVar(&f.network, "network", defaultNetwork, "network `name` (nodes of different networks never see each other)")
	fs.Var(&f.profile, "profile", "gossip `timings`: lan (memberlist's LAN values) or fast (small quiet LANs, tests)")
}

// nodeFlags are the flags of a long-running node: identity, addresses,
// seeds and tags.
type nodeFlags struct {
	networkFlags
	secret  string
	listen  string
	gossip  string
	seeds   listFlag
	tags    listFlag
	metrics string
	ticketFlags
	logFlags
	requireSeed bool
	seedTimeout time.Duration
}

func (f *nodeFlags) register(fs *flag.FlagSet) {
	f.networkFlags.register(fs)
	fs.StringVar(&f.secret, "secret", "", "node identity `secret` (64 hex digits are the key seed, anything else is hashed); default $"+secretEnv+", else a fresh key on every start")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:0", "UDP `address` of the QUIC endpoint")
	fs.StringVar(&f.gossip, "gossip", "127.0.0.1:0", "UDP and TCP `address` of gossip; others pass it as their seed")
	fs.Var(&f.seeds, "seed", "gossip `address` of a node to join (repeatable, or comma-separated)")
	fs.Var(&f.tags, "tag", "`tag` to advertise in the peer entry (repeatable, or comma-separated)")
	fs.StringVar(&f.metrics, "metrics", "", "TCP `address` to serve the node's Prometheus metrics on, at /metrics (default: none)")
	f.ticketFlags.register(fs)
	f.logFlags.register(fs)
	fs.BoolVar(&f.requireSeed, "require-seed", false, "exit with an error when no -seed is reached within -seed-timeout, instead of running alone")
	fs.DurationVar(&f.seedTimeout, "seed-timeout", cluster.DefaultSeedTimeout, "how long to try each -seed before warning that it is unreachable")
}

// config builds the node's config. stable reports whether the identity
// came from a secret (so it survives restarts).
func (f *nodeFlags) config(getenv func(string) string) (cfg cluster.Config, stable bool, err error) {
	secret := f.secret
	if secret == "" {
		secret = getenv(secretEnv)
	}
	cfg = cluster.Config{
		Network:     f.network,
		ListenAddr:  f.listen,
		GossipAddr:  f.gossip,
		Bootstrap:   f.seeds,
		Discovery:   f.profile.discovery(),
		DataDir:     cluster.InMemory,
		MetricsAddr: f.metrics,
		RequireSeed: f.requireSeed,
		SeedTimeout: f.seedTimeout,
	}
	if secret != "" {
		cfg.Key = id.SecretKeyFromSeed(secret)
	}
	for _, t := range f.tags {
		cfg.Tags = append(cfg.Tags, id.Of(t))
	}
	if cfg.Tickets, err = f.ticketFlags.read(); err != nil {
		return cluster.Config{}, false, err
	}
	if err := cfg.Validate(); err != nil {
		return cluster.Config{}, false, err
	}
	return cfg, secret != "", nil
}

// positiveDuration checks a duration flag.
func positiveDuration(name string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("-%s must be positive, got %v", name, d)
	}
	return nil
}

// errNoTarget is returned when a gossip address does not parse.
var errNoTarget = errors.New("not a host:port gossip address")

// resolveGossipAddr turns a user-given host:port into the ip:port form
// peer entries carry, so the target can be found in a catalog.
func resolveGossipAddr(addr string) (string, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", fmt.Errorf("%q: %w: %w", addr, errNoTarget, err)
	}
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("resolve %q: %w", addr, err)
	}
	return tcp.String(), nil
}
