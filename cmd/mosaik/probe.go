package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
)

// probeFlags are the flags of ping and status. Both start a short-lived
// node of the target's network, exchange state with the target once and
// print what they learned.
type probeFlags struct {
	networkFlags
	gossip  string
	timeout time.Duration
	json    bool
}

func (f *probeFlags) register(fs *flag.FlagSet) {
	f.networkFlags.register(fs)
	fs.StringVar(&f.gossip, "gossip", "127.0.0.1:0", "gossip `address` of the probing node; the target must be able to reach it (name an interface for a remote target)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "give up on the target after this long")
	fs.BoolVar(&f.json, "json", false, "print the answer as one JSON object")
}

// probeResult is what one exchange with a target brought back.
type probeResult struct {
	target  discovery.Entry
	catalog []discovery.Entry     // every entry but the probe's own, by peer id
	rtt     time.Duration         // of the full state exchange
	groups  []cluster.GroupStatus // the target's view of its groups, when asked
}

// probeLeaveTimeout bounds the probe's farewell: it has nothing to hand
// over, so its close need not wait long for acknowledgements.
const probeLeaveTimeout = 300 * time.Millisecond

// probe starts an ephemeral node of f's network, forces a full state
// exchange with the node whose gossip address is addr, waits until the
// target's own entry is in the catalog and returns the catalog; with
// withGroups it also asks the target for its view of its groups.
func probe(ctx context.Context, f probeFlags, addr string, withGroups bool) (probeResult, error) {
	target, err := resolveGossipAddr(addr)
	if err != nil {
		return probeResult{}, err
	}
	disc := f.profile.discovery()
	disc.LeaveTimeout = probeLeaveTimeout
	node, err := cluster.Start(ctx, cluster.Config{
		Network:    f.network,
		GossipAddr: f.gossip,
		Discovery:  disc,
		DataDir:    cluster.InMemory,
	})
	if err != nil {
		return probeResult{}, err
	}
	defer func() {
		closing, cancel := context.WithTimeout(context.Background(), closeWait)
		defer cancel()
		_ = node.Close(closing) // a failed farewell changes nothing in the answer
	}()
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	began := time.Now()
	if err := node.SyncWith(ctx, target); err != nil {
		return probeResult{}, fmt.Errorf("%w (is %s a gossip address of network %q?)", oneLine{err}, addr, f.network)
	}
	rtt := time.Since(began)
	snap, err := settledCatalog(ctx, node, target)
	if err != nil {
		return probeResult{}, fmt.Errorf("no entry for %s in what it sent: %w", target, err)
	}
	res := probeResult{catalog: snap.Peers(), rtt: rtt}
	res.target, _ = findGossip(res.catalog, target)
	if withGroups {
		if res.groups, err = node.PeerGroupStatus(ctx, res.target.Peer); err != nil {
			return probeResult{}, oneLine{err}
		}
	}
	return res, nil
}

// How long the probe lets the catalog settle after the target's entry
// arrived.
const (
	settleQuiet = 200 * time.Millisecond // no change for this long: settled
	settleMax   = 2 * time.Second        // a busy network never goes quiet
)

// settledCatalog waits for the target's entry, then for the catalog to
// settle. The exchange hands the target's whole catalog to the probe's
// discovery actor, which merges it entry by entry (the target's own first)
// and publishes a snapshot after each; there is no signal for the last.
func settledCatalog(ctx context.Context, node *cluster.Node, target string) (*discovery.Snapshot, error) {
	err := node.WaitCatalog(ctx, func(s *discovery.Snapshot) bool {
		_, ok := findGossip(s.Peers(), target)
		return ok
	})
	if err != nil {
		return nil, err
	}
	limit := time.NewTimer(settleMax)
	defer limit.Stop()
	for {
		snap := node.Catalog()
		quiet := time.NewTimer(settleQuiet)
		select {
		case <-snap.Changed():
			quiet.Stop()
		case <-quiet.C:
			return snap, nil
		case <-limit.C:
			return snap, nil
		case <-ctx.Done():
			return snap, nil // the target's entry is in: show what there is
		}
	}
}

// findGossip returns the entry whose gossip address is addr.
func findGossip(entries []discovery.Entry, addr string) (discovery.Entry, bool) {
	i := slices.IndexFunc(entries, func(e discovery.Entry) bool { return e.GossipAddr == addr })
	if i < 0 {
		return discovery.Entry{}, false
	}
	return entries[i], true
}

// probeArg parses ping's and status's flags and probes the gossip
// address their one argument names.
func probeArg(ctx context.Context, fs *flag.FlagSet, args []string, withGroups bool) (probeFlags, probeResult, error) {
	var f probeFlags
	f.register(fs)
	if err := parseFlags(fs, args, 1); err != nil {
		return f, probeResult{}, err
	}
	if err := positiveDuration("timeout", f.timeout); err != nil {
		return f, probeResult{}, badUsage(fs, err)
	}
	res, err := probe(ctx, f, fs.Arg(0), withGroups)
	return f, res, err
}

func runPing(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	f, res, err := probeArg(ctx, fs, args, false)
	if err != nil {
		return err
	}
	if f.json {
		return writeJSON(e.stdout, pingJSON{Addr: fs.Arg(0), RTT: jsonDuration(res.rtt), Entry: entryOf(res.target)})
	}
	fmt.Fprintf(e.stdout, "%s answered in %s (full state exchange)\n", fs.Arg(0), res.rtt.Round(10*time.Microsecond))
	writeEntry(e.stdout, res.target)
	return nil
}

func runStatus(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	f, res, err := probeArg(ctx, fs, args, true)
	if err != nil {
		return err
	}
	if f.json {
		return writeJSON(e.stdout, statusOf(fs.Arg(0), f.network, res))
	}
	fmt.Fprintf(e.stdout, "%s is peer %s; network %q; exchange took %s\n\n",
		fs.Arg(0), res.target.Peer.Short(), f.network, res.rtt.Round(10*time.Microsecond))
	writeMemberships(e.stdout, res.target.Peer, res.groups)
	fmt.Fprintln(e.stdout)
	writeCatalog(e.stdout, res.catalog)
	fmt.Fprintln(e.stdout)
	writeGroups(e.stdout, groupsOf(res.catalog))
	fmt.Fprintln(e.stdout)
	writeStreams(e.stdout, res.target, res.catalog)
	return nil
}

// writeMemberships prints the target's own view of each group it joined:
// the consensus figures only a member knows.
func writeMemberships(w io.Writer, peer id.PeerID, sts []cluster.GroupStatus) {
	fmt.Fprintf(w, "groups %s is in: %d\n", peer.Short(), len(sts))
	if len(sts) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tPHASE\tSHARD\tROLE\tLEADER\tTERM\tVOTERS\tAPPLIED\tBONDS\tSTATE")
	for _, s := range sts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", s.Group.Short(), s.Phase, shardOf(s),
			roleOf(s), shortOrDash(s.Leader), s.Term, s.Voters, s.Applied, s.Bonds, stateOf(s))
	}
	tw.Flush()
}

// roleOf names a member's part in its shard's committee.
func roleOf(s cluster.GroupStatus) string {
	switch {
	case s.Observer:
		return "observer"
	case s.Voter:
		return "voter"
	case s.Replica != 0:
		return "non-voter"
	}
	return "-"
}

func shardOf(s cluster.GroupStatus) string {
	if s.Genesis.IsZero() {
		return "-"
	}
	return fmt.Sprintf("%s/%d", s.Genesis.Short(), s.Replica)
}

func stateOf(s cluster.GroupStatus) string {
	if s.Online {
		return "online"
	}
	return "offline: " + s.Reason
}

// writeEntry prints one peer entry, a field a line.
func writeEntry(w io.Writer, e discovery.Entry) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "peer\t%s\n", e.Peer)
	fmt.Fprintf(tw, "network\t%s\n", e.Network)
	fmt.Fprintf(tw, "version\t%d (signed %s)\n", e.Version, versionTime(e.Version))
	fmt.Fprintf(tw, "addrs\t%s\n", orNone(e.Addrs))
	fmt.Fprintf(tw, "gossip\t%s\n", e.GossipAddr)
	fmt.Fprintf(tw, "tags\t%s\n", orNone(shorts(e.Tags)))
	if len(e.Groups) == 0 {
		fmt.Fprintf(tw, "groups\tnone\n")
	}
	for _, g := range e.Groups {
		fmt.Fprintf(tw, "group\t%s %s\n", g, shardText(e.Shards[g]))
	}
	if len(e.Streams) > 0 {
		fmt.Fprintf(tw, "streams\t%s\n", strings.Join(shorts(e.Streams), ", "))
	}
	if e.Departing {
		fmt.Fprintf(tw, "departing\tyes\n")
	}
	tw.Flush()
}

// writeCatalog prints a table of entries, one a line.
func writeCatalog(w io.Writer, entries []discovery.Entry) {
	fmt.Fprintf(w, "catalog: %d entries\n", len(entries))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PEER\tVERSION\tADDRS\tGOSSIP\tTAGS\tGROUPS")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", e.Peer.Short(), e.Version, orNone(e.Addrs),
			e.GossipAddr, orNone(shorts(e.Tags)), orNone(shorts(e.Groups)))
	}
	tw.Flush()
}

// groupMember is one peer's place in a group, as its entry says.
type groupMember struct {
	peer  id.PeerID
	shard discovery.ShardAd
}

// groupInfo is a group and the members the catalog lists for it.
type groupInfo struct {
	id      id.GroupID
	members []groupMember // by peer id
}

// groupsOf gathers the groups the entries advertise, ordered by group id.
func groupsOf(entries []discovery.Entry) []groupInfo {
	byID := map[id.GroupID][]groupMember{}
	for _, e := range entries {
		for _, g := range e.Groups {
			byID[g] = append(byID[g], groupMember{peer: e.Peer, shard: e.Shards[g]})
		}
	}
	out := make([]groupInfo, 0, len(byID))
	for _, g := range slices.SortedFunc(maps.Keys(byID), id.Digest.Compare) {
		members := byID[g]
		slices.SortFunc(members, func(a, b groupMember) int { return a.peer.Compare(b.peer) })
		out = append(out, groupInfo{id: g, members: members})
	}
	return out
}

// writeGroups prints each group with its members.
func writeGroups(w io.Writer, groups []groupInfo) {
	fmt.Fprintf(w, "groups: %d\n", len(groups))
	for _, g := range groups {
		fmt.Fprintf(w, "%s  %d member(s)\n", g.id, len(g.members))
		for _, m := range g.members {
			fmt.Fprintf(w, "  %s  %s\n", m.peer.Short(), shardText(m.shard))
		}
	}
}

// shardText describes a member's place in its group's consensus.
func shardText(ad discovery.ShardAd) string {
	if len(ad.Genesis) == 0 && ad.Replica == 0 {
		return "(no shard yet)"
	}
	s := fmt.Sprintf("replica %d", ad.Replica)
	if len(ad.Genesis) > 0 {
		g := hex.EncodeToString(ad.Genesis)
		s += " of shard " + g[:min(len(g), 10)]
	}
	if ad.Observer {
		s += ", observer"
	}
	return s
}

// versionTime reads an entry version as the signer's clock (see
// discovery.NextVersion); small versions are plain counters.
func versionTime(v uint64) string {
	if v < uint64(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()) {
		return "at an unknown time"
	}
	return time.UnixMilli(int64(v)).UTC().Format(time.RFC3339Nano)
}

// oneLine shows an error on one line: memberlist's span several.
type oneLine struct{ err error }

func (o oneLine) Error() string { return strings.Join(strings.Fields(o.err.Error()), " ") }
func (o oneLine) Unwrap() error { return o.err }

func shorts(ds []id.Digest) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Short()
	}
	return out
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}
