package settle

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
)

// CommitteeSize is the number of voters a group of n members settles on:
// the largest odd number up to n, and at most groups.DefaultMaxVoters.
func CommitteeSize(n int) int {
	return max(1, min(groups.DefaultMaxVoters, n-1+n%2))
}

// Settled reports whether the members' views (views[i] is the view of
// member selves[i]) show one shard and one leader that every member knows,
// that is one of them, and that every member is online with; it returns
// the leader. A member is online only once it has joined the committee
// (or the committee is complete without it), so a settled group has its
// full committee. Until then, members may still run rival shards formed
// before they saw each other, and a write acknowledged by a shard that
// later loses to its rival is discarded.
func Settled(selves []id.PeerID, views []cluster.Consensus) (id.PeerID, bool) {
	if len(views) == 0 || len(views) != len(selves) {
		return id.PeerID{}, false
	}
	leader, genesis := views[0].Leader, views[0].Genesis
	for _, c := range views {
		if !c.Online() || c.Leader != leader || c.Genesis != genesis {
			return id.PeerID{}, false
		}
	}
	return leader, slices.Contains(selves, leader)
}

// Await waits until the members' views are settled. No single
// event says so (it takes every member's view), so it looks again every
// pollInterval.
func Await(ctx context.Context, cores []*cluster.Group) (id.PeerID, error) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	selves := make([]id.PeerID, len(cores))
	views := make([]cluster.Consensus, len(cores))
	for {
		for i, g := range cores {
			selves[i], views[i] = g.Bonds().Self, g.Consensus()
		}
		if leader, ok := Settled(selves, views); ok {
			return leader, nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return id.PeerID{}, fmt.Errorf("waiting for one shard with %d voters (%s): %w",
				CommitteeSize(len(cores)), describeViews(selves, views), ctx.Err())
		}
	}
}

// describeViews summarizes the members' views for an error: who, which
// shard, which leader, how many voters the leader counts.
func describeViews(selves []id.PeerID, views []cluster.Consensus) string {
	parts := make([]string, len(views))
	for i, c := range views {
		leader := "none"
		if !c.Leader.IsZero() {
			leader = c.Leader.Short()
		}
		parts[i] = fmt.Sprintf("%s: shard %s, leader %s, running %v", selves[i].Short(), c.Genesis.Short(), leader, c.Running)
		parts[i] += fmt.Sprintf(", %d voters, joined %v", c.Voters, c.Joined)
	}
	return strings.Join(parts, "; ")
}

// pollInterval is how often Await looks at the members' views.
const pollInterval = 20 * time.Millisecond
