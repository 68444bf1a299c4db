package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/feed"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/actors"
	"github.com/mosaikgo/mosaik/internal/logroute"
	"github.com/mosaikgo/mosaik/metrics"
	"github.com/mosaikgo/mosaik/transport"
	"github.com/mosaikgo/mosaik/transport/quicnet"
)

// ErrClosed is returned by a node's methods after Close.
var ErrClosed = errors.New("cluster: node closed")

// Node is one running mosaik node.
type Node struct {
	cfg      Config
	network  id.NetworkID
	endpoint transport.Endpoint
	system   *actors.System
	disc     *actors.Discovery
	groups   *actors.Groups
	ml       *memberlist.Memberlist
	gossip   string // advertised memberlist address
	metrics  *metrics.Node
	scrape   *metrics.Server // the MetricsAddr listener; nil without one
	log      *slog.Logger    // Config.Logger with node=<short peer id>
	seeds    *seedTracker    // Config.Bootstrap's statuses
	unroute  func()          // stops forwarding dragonboat's lines to log

	// mu orders starting background work against Close: once closing is
	// set, nothing new is added to wg, so Close's Wait is final.
	mu struct {
		sync.Mutex
		closing bool
	}
	wg        sync.WaitGroup // background joins and SyncWith calls
	closeOnce sync.Once
	closeErr  error
	closed    chan struct{}
}

// Start brings a node up: transport endpoint, actor system, discovery
// actor, memberlist; then it starts joining Bootstrap in the background
// (see Seeds). Nothing in it waits on the network, so ctx is only checked
// before work begins, unless Config.RequireSeed is set: then Start waits
// until a seed is reached, and fails with an error matching
// ErrSeedUnreachable when none is within SeedTimeout. On error everything
// started so far is closed again.
func Start(ctx context.Context, cfg Config) (_ *Node, err error) {
	if cfg.Endpoint != nil && cfg.Key.IsZero() {
		return nil, fmt.Errorf("%w: Key is required with Endpoint (it must be the endpoint's key)", ErrInvalidConfig)
	}
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dataDirFallback := false
	if cfg.DataDir == "" {
		cache, cacheErr := os.UserCacheDir()
		cfg.DataDir, dataDirFallback = defaultDataDir(cache, cacheErr, os.TempDir(), id.Of(cfg.Network), cfg.Key.PeerID())
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, network: id.Of(cfg.Network), closed: make(chan struct{}), metrics: metrics.NewNetwork(id.Of(cfg.Network).Short()), seeds: newSeedTracker(cfg.Bootstrap)}
	n.log = cfg.Logger.With("node", cfg.Key.PeerID().Short())
	var cleanup []func()
	defer func() {
		if err != nil {
			for i := len(cleanup) - 1; i >= 0; i-- {
				cleanup[i]()
			}
		}
	}()
	if router, err := logroute.Dragonboat(); err != nil {
		n.log.Warn("dragonboat's log lines stay where another logger factory sends them", "err", err)
		n.unroute = func() {}
	} else {
		n.unroute = router.Add(n.log)
	}
	cleanup = append(cleanup, n.unroute)
	if dataDirFallback {
		n.log.Warn("no user cache directory ($HOME and $XDG_CACHE_HOME unset); the Raft data goes to the temporary directory", "dir", cfg.DataDir)
	}

	if cfg.MetricsAddr != "" {
		if n.scrape, err = metrics.Serve(cfg.MetricsAddr, n.metrics.Registry()); err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
		cleanup = append(cleanup, func() { n.scrape.Close(context.Background()) })
	}

	n.endpoint = cfg.Endpoint
	if n.endpoint == nil {
		ep, err := quicnet.Listen(quicnet.Config{Key: cfg.Key, ListenAddr: cfg.ListenAddr})
		if err != nil {
			return nil, fmt.Errorf("cluster: transport: %w", err)
		}
		n.endpoint = ep
	}
	if ep, ok := n.endpoint.(*quicnet.Endpoint); ok {
		st := ep.Stats()
		n.metrics.ReadTransportBounds(metrics.TransportBounds{
			RefusedTotal: st.RefusedTotal.Load, RefusedPerIP: st.RefusedPerIP.Load,
			FirstTimeouts: st.TimedOut.Load, FirstOversize: st.Oversized.Load,
		})
	}
	n.endpoint = n.metrics.CountTraffic(n.endpoint)
	cleanup = append(cleanup, func() { n.endpoint.Close() })

	gt := cfg.GossipTransport
	if gt == nil {
		nt, err := listenGossip(cfg.GossipAddr, n.gossipLogger())
		if err != nil {
			return nil, err
		}
		gt = nt
	}
	ip, port, err := gt.FinalAdvertiseAddr("", 0)
	if err != nil {
		gt.Shutdown()
		return nil, fmt.Errorf("cluster: gossip address: %w", err)
	}
	n.gossip = net.JoinHostPort(ip.String(), strconv.Itoa(port))

	n.system, err = actors.NewSystem(actors.SystemConfig{
		Name:   cfg.Key.PeerID().Short(),
		Logger: slog.New(logroute.Demote(n.log.With("lib", "protoactor").Handler())),
	})
	if err != nil {
		gt.Shutdown()
		return nil, err
	}
	cleanup = append(cleanup, func() { n.system.Close(context.Background()) })

	n.disc, err = actors.StartDiscovery(n.system, actors.DiscoveryParams{
		Key:      cfg.Key,
		Network:  n.network,
		Config:   cfg.Discovery,
		Endpoint: n.endpoint,
		Local: discovery.Entry{
			Addrs:      []string{cmp.Or(cfg.AdvertiseAddr, n.endpoint.Addr())},
			GossipAddr: n.gossip,
			Tags:       cfg.Tags,
			Tickets:    cfg.Tickets,
		},
		Bootstrap:     cfg.Bootstrap,
		Metrics:       n.metrics,
		NetworkSecret: cfg.GossipSecret,
	})
	if err != nil {
		gt.Shutdown()
		return nil, err
	}
	cleanup = append(cleanup, n.disc.Close)
	ds := n.disc.Stats()
	n.metrics.ReadRejected(ds.Rejected.Load)
	n.metrics.ReadCatalogSyncs(ds.Syncs.Load)
	n.metrics.ReadDiscoveryBounds(metrics.DiscoveryBounds{
		CatalogRefused: ds.CatalogRefused.Load, SyncCapped: ds.SyncCapped.Load, InputsShed: ds.Shed.Load,
		SyncsRefused: ds.SyncRefused.Load, SyncsBusy: ds.SyncBusy.Load,
	})

	n.groups, err = actors.StartGroups(n.system, actors.GroupsParams{
		Network:   n.network,
		Key:       cfg.Key,
		Endpoint:  n.endpoint,
		Discovery: n.disc,
		DataDir:   dataDir(cfg.DataDir),
		Metrics:   n.metrics,
		Logger:    n.log,
	})
	if err != nil {
		gt.Shutdown()
		return nil, err
	}
	cleanup = append(cleanup, n.groups.Close)
	n.disc.SetStatusSource(n.groups.Status)

	mc := memberlistConfig(cfg, n.network, ip.String(), port)
	mc.Logger = n.gossipLogger()
	mc.Transport = gt
	mc.Delegate = n.disc.Delegate()
	mc.Events = n.disc.EventDelegate()
	n.ml, err = memberlist.Create(mc)
	if err != nil {
		gt.Shutdown()
		return nil, fmt.Errorf("cluster: gossip: %w", err)
	}
	n.disc.Attach(n.ml)
	ml := n.ml
	n.metrics.ReadGossipNeighbors(func() int { return max(ml.NumMembers()-1, 0) })
	// Each seed is tried now, so that a node whose seeds are up converges
	// without waiting for a reconnect tick, and until it answers, so that
	// a wrong seed is reported (Seeds, a warning) rather than silent. The
	// discovery actor also rejoins Bootstrap while the node is alone.
	for i := range cfg.Bootstrap {
		n.spawn(func() { n.probeSeed(i) })
	}
	if cfg.RequireSeed {
		if err := n.WaitSeeds(ctx); err != nil {
			closing, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Discovery.LeaveTimeout)
			defer cancel()
			_ = n.Close(closing)
			cleanup = nil // Close has stopped everything
			return nil, err
		}
	}
	return n, nil
}

// listenGossip binds memberlist's UDP/TCP transport. Port 0 picks a free
// port for TCP and reuses it for UDP, which can collide; retry a few times
// like memberlist itself does.
func listenGossip(addr string, logger *log.Logger) (*memberlist.NetTransport, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("cluster: gossip address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("cluster: gossip port %q: %w", portStr, err)
	}
	// memberlist binds IP addresses only; a host name (a container's, say)
	// is resolved here, to its first IPv4 address if it has one.
	if host != "" && net.ParseIP(host) == nil {
		ips, err := net.LookupIP(host)
		if err == nil && len(ips) == 0 {
			err = errors.New("no address")
		}
		if err != nil {
			return nil, fmt.Errorf("cluster: gossip host %q: %w", host, err)
		}
		host = ips[0].String()
		for _, ip := range ips {
			if ip.To4() != nil {
				host = ip.String()
				break
			}
		}
	}
	attempts := 1
	if port == 0 {
		attempts = 10
	}
	for {
		nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
			BindAddrs: []string{host},
			BindPort:  port,
			Logger:    logger,
		})
		if err == nil {
			return nt, nil
		}
		attempts--
		if attempts == 0 {
			return nil, fmt.Errorf("cluster: gossip listen on %s: %w", addr, err)
		}
	}
}

func quietLogger() *log.Logger { return log.New(io.Discard, "", 0) }

// memberlistConfig maps discovery's tuning onto memberlist. The node name
// is the peer id and the label the network id: memberlist drops packets
// whose label differs, which keeps networks apart even when they share
// seeds.
func memberlistConfig(cfg Config, network id.NetworkID, ip string, port int) *memberlist.Config {
	d := cfg.Discovery
	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.Key.PeerID().String()
	mc.Label = network.String()
	mc.BindAddr, mc.BindPort = ip, port
	mc.AdvertiseAddr, mc.AdvertisePort = ip, port
	mc.SecretKey = cfg.GossipSecret
	mc.ProbeInterval = d.ProbeInterval
	mc.ProbeTimeout = d.ProbeTimeout
	mc.SuspicionMult = d.SuspicionMult
	mc.GossipInterval = d.GossipInterval
	mc.GossipNodes = d.GossipNodes
	mc.PushPullInterval = d.PushPullInterval
	mc.TCPTimeout = d.StreamTimeout
	mc.GossipToTheDeadTime = d.PushPullInterval
	// A node restarted with its key but a new address may take its name
	// back once the old incarnation is declared dead.
	mc.DeadNodeReclaimTime = d.ProbeInterval
	// Gossip here is mostly signed entries and heads (keys, signatures,
	// digests), which LZW barely shrinks, and compressing every packet
	// was the largest single cost of a cold start (docs/performance.md,
	// B4). Compressed packets from other nodes are still read.
	mc.EnableCompression = false
	mc.Logger = quietLogger()
	return mc
}

// gossipLogger is the *log.Logger memberlist writes to: its lines become
// records of the node's logger at their parsed levels, and are copied to
// Config.GossipLog when set.
func (n *Node) gossipLogger() *log.Logger {
	var w io.Writer = logroute.Writer(n.log, nil)
	if n.cfg.GossipLog != nil {
		w = io.MultiWriter(w, stampedWriter{w: n.cfg.GossipLog, prefix: n.cfg.Key.PeerID().Short()})
	}
	return log.New(w, "", 0)
}

// stampedWriter writes each line with a prefix and the time, as
// Config.GossipLog documents.
type stampedWriter struct {
	w      io.Writer
	prefix string
}

func (s stampedWriter) Write(p []byte) (int, error) {
	line := strings.TrimRight(string(p), "\n")
	if _, err := fmt.Fprintf(s.w, "%s %s %s\n", s.prefix, time.Now().Format("15:04:05.000000"), line); err != nil {
		return 0, err
	}
	return len(p), nil
}

// dataDir maps the config's data directory to the actors' convention
// (empty means in memory).
func dataDir(d string) string {
	if d == InMemory {
		return ""
	}
	return d
}

// spawn runs fn on a goroutine that Close waits for. It reports false,
// running nothing, once Close has begun.
func (n *Node) spawn(fn func()) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mu.closing {
		return false
	}
	n.wg.Go(fn)
	return true
}

// PeerID is the node's identity.
func (n *Node) PeerID() id.PeerID { return n.cfg.Key.PeerID() }

// NetworkID is the id of the network the node belongs to.
func (n *Node) NetworkID() id.NetworkID { return n.network }

// Addr is the transport address peers dial.
func (n *Node) Addr() string { return n.endpoint.Addr() }

// GossipAddr is the memberlist address other nodes pass as a seed.
func (n *Node) GossipAddr() string { return n.gossip }

// DataDir is the directory that holds the node's group data
// (Config.DataDir, or its default resolved), or InMemory.
func (n *Node) DataDir() string { return n.cfg.DataDir }

// Endpoint is the node's transport endpoint.
func (n *Node) Endpoint() transport.Endpoint { return n.endpoint }

// Metrics is the registry of the node's Prometheus metrics
// (docs/metrics.md), for mounting on the application's own HTTP server
// (promhttp.HandlerFor) or registering more collectors. Each node has its
// own registry; none is the global default one.
func (n *Node) Metrics() *prometheus.Registry { return n.metrics.Registry() }

// MetricsAddr is the address the metrics listener bound (Config.MetricsAddr
// with its port resolved), or "" without one.
func (n *Node) MetricsAddr() string {
	if n.scrape == nil {
		return ""
	}
	return n.scrape.Addr()
}

// Actors is the node's actor system, under which applications may spawn
// their own actors.
func (n *Node) Actors() *actors.System { return n.system }

// Catalog returns the current catalog snapshot. It never blocks.
func (n *Node) Catalog() *discovery.Snapshot { return n.disc.Catalog() }

// Subscribe returns catalog events (PeerDiscovered, PeerUpdated,
// PeerDeparted) from now on. Close the subscription when done.
func (n *Node) Subscribe() *feed.Subscription[discovery.Event] { return n.disc.Subscribe() }

// DiscoveryStats returns the discovery counters.
func (n *Node) DiscoveryStats() *actors.DiscoveryStats { return n.disc.Stats() }

// AddTags adds tags to the local entry, re-signs it and spreads it.
func (n *Node) AddTags(ctx context.Context, tags ...id.Tag) error {
	return n.UpdateLocal(ctx, func(e *discovery.Entry) {
		for _, t := range tags {
			if !e.HasTag(t) {
				e.Tags = append(e.Tags, t)
			}
		}
	})
}

// RemoveTags removes tags from the local entry, re-signs it and spreads it.
func (n *Node) RemoveTags(ctx context.Context, tags ...id.Tag) error {
	return n.UpdateLocal(ctx, func(e *discovery.Entry) {
		e.Tags = removeAll(e.Tags, tags)
	})
}

// UpdateLocal changes the local entry through change, which runs inside the
// discovery actor and must not block. Groups and streams use it to
// advertise themselves.
func (n *Node) UpdateLocal(ctx context.Context, change func(*discovery.Entry)) error {
	if n.isClosed() {
		return ErrClosed
	}
	return n.disc.UpdateLocal(ctx, change)
}

func removeAll(from, drop []id.Digest) []id.Digest {
	out := from[:0:0]
	for _, d := range from {
		keep := true
		for _, x := range drop {
			if d == x {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, d)
		}
	}
	return out
}

// SyncWith forces a full two-way exchange (memberlist push-pull) with the
// node at gossipAddr: both sides end up with each other's catalogs and
// membership. It returns once the other node's catalog is merged into
// this one's (Catalog reflects it right after), or the exchange fails, or
// ctx ends. The other side merges this node's entries as memberlist has
// it, right after it replies.
func (n *Node) SyncWith(ctx context.Context, gossipAddr string) error {
	if n.isClosed() {
		return ErrClosed
	}
	done := make(chan error, 1)
	if !n.spawn(func() {
		_, err := n.ml.Join([]string{gossipAddr})
		done <- err
	}) {
		return ErrClosed
	}
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("cluster: sync with %s: %w", gossipAddr, err)
		}
		// memberlist hands the remote state to the discovery actor before
		// Join returns; wait until the actor has merged it.
		if err := n.disc.Settle(ctx); err != nil {
			return fmt.Errorf("cluster: sync with %s: %w", gossipAddr, err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-n.closed:
		return ErrClosed
	}
}

// SyncWithPeer exchanges full catalogs with one known peer directly over
// the transport (/mosaik/discovery/sync/2), without gossip: for a peer
// reachable by link but outside this node's gossip range. Both sides
// merge before they go on: the peer merges this node's entries before it
// replies, and SyncWithPeer returns once the reply is merged here. Entries
// learned this way stay listed while the peer is confirmed alive by
// gossip, or for at most PurgeAfter.
func (n *Node) SyncWithPeer(ctx context.Context, peer id.PeerID, addr string) error {
	if n.isClosed() {
		return ErrClosed
	}
	return n.disc.SyncWith(ctx, peer, addr)
}

func (n *Node) isClosed() bool {
	select {
	case <-n.closed:
		return true
	default:
		return false
	}
}

// Close leaves the network gracefully and stops the node. It waits for
// everything the node started, or until ctx ends. It is idempotent.
func (n *Node) Close(ctx context.Context) error {
	n.closeOnce.Do(func() {
		n.mu.Lock()
		n.mu.closing = true
		n.mu.Unlock()
		close(n.closed)
		var errs []error
		// Leave groups first, so that bonded peers get a Departure rather
		// than waiting for missed heartbeats.
		// A leave still waiting for a silent peer when LeaveTimeout runs
		// out is cut short by stopping the actors below; that is the
		// bound working, not a failure to report.
		groupsCtx, cancel := context.WithTimeout(ctx, n.cfg.Discovery.LeaveTimeout)
		_ = n.groups.LeaveAll(groupsCtx)
		cancel()
		// Then say farewell, while the transport still works, so peers
		// drop this node at once and know it left rather than died.
		leaveCtx, cancel := context.WithTimeout(ctx, n.cfg.Discovery.LeaveTimeout)
		if err := n.disc.Depart(leaveCtx); err != nil {
			errs = append(errs, fmt.Errorf("cluster: depart: %w", err))
		}
		cancel()
		n.disc.Detach()
		// Leave's only error is a timeout saying no peer confirmed the
		// leave broadcast (say, all are closing too); the farewell above
		// and failure detection cover that, so it is not the caller's
		// problem.
		_ = n.ml.Leave(n.cfg.Discovery.LeaveTimeout)
		if err := n.ml.Shutdown(); err != nil {
			errs = append(errs, fmt.Errorf("cluster: gossip shutdown: %w", err))
		}
		n.wg.Wait() // joins end once memberlist is shut down
		n.disc.Close()
		if err := n.system.Close(ctx); err != nil {
			errs = append(errs, err)
		}
		n.groups.Close() // after the group actors stopped their replicas
		if n.scrape != nil {
			if err := n.scrape.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("cluster: %w", err))
			}
		}
		if err := n.endpoint.Close(); err != nil {
			errs = append(errs, fmt.Errorf("cluster: transport: %w", err))
		}
		n.unroute()
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

// WaitCatalog waits until cond holds for the catalog, checking on every
// change, or until ctx ends.
func (n *Node) WaitCatalog(ctx context.Context, cond func(*discovery.Snapshot) bool) error {
	for {
		snap := n.Catalog()
		if cond(snap) {
			return nil
		}
		select {
		case <-snap.Changed():
		case <-ctx.Done():
			return fmt.Errorf("cluster: waiting for catalog (have %d entries): %w", snap.Len(), ctx.Err())
		case <-n.closed:
			return ErrClosed
		}
	}
}
