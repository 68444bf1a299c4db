package discovery

import (
	"slices"

	"github.com/mosaikgo/mosaik/id"
)

// MaxAnnounce bounds the peers a node tells directly of a new group
// membership ([AnnounceTo]); the rest learn from gossip.
const MaxAnnounce = 16

// AnnounceTo picks the peers to hand a node's new entry to directly when
// the entry starts advertising groups the previous one did not: the
// members of those groups in the catalog, which would otherwise wait for
// gossip to carry the head and then fetch the entry before they could
// bond. Departing peers and peers without a transport address are
// skipped, and at most limit are returned, in peer order, so that the
// choice is the same on every run.
func AnnounceTo(prev, next Entry, peers []Entry, limit int) []Entry {
	var added []id.GroupID
	for _, g := range next.Groups {
		if !prev.InGroup(g) {
			added = append(added, g)
		}
	}
	if len(added) == 0 || next.Departing {
		return nil
	}
	var out []Entry
	for _, p := range peers {
		if p.Peer == next.Peer || p.Departing || len(p.Addrs) == 0 {
			continue
		}
		if slices.ContainsFunc(added, p.InGroup) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b Entry) int { return a.Peer.Compare(b.Peer) })
	return out[:min(len(out), limit)]
}
