package main

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"slices"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
)

// The JSON forms of ping's and status's answers (-json): one object per
// run, ids in full lower-case hex, durations in seconds. Field names are
// part of the command's interface: scripts read them.

type pingJSON struct {
	Addr  string       `json:"addr"`
	RTT   jsonDuration `json:"rtt_seconds"`
	Entry entryJSON    `json:"entry"`
}

type statusJSON struct {
	Addr    string             `json:"addr"`
	Network string             `json:"network"`
	RTT     jsonDuration       `json:"rtt_seconds"`
	Peer    id.PeerID          `json:"peer"`
	Joined  []memberJSON       `json:"joined"`  // the target's own view of its groups
	Catalog []entryJSON        `json:"catalog"` // every entry it sent, by peer id
	Groups  []catalogGroupJSON `json:"groups"`  // groups the catalog advertises
}

type entryJSON struct {
	Peer      id.PeerID     `json:"peer"`
	Network   id.NetworkID  `json:"network_id"`
	Version   uint64        `json:"version"`
	Addrs     []string      `json:"addrs"`
	Gossip    string        `json:"gossip"`
	Tags      []id.Tag      `json:"tags"`
	Groups    []shardAdJSON `json:"groups"`
	Streams   []id.StreamID `json:"streams"`
	Tickets   int           `json:"tickets"`
	Departing bool          `json:"departing,omitempty"`
}

type shardAdJSON struct {
	Group    id.GroupID `json:"group"`
	Genesis  string     `json:"genesis,omitempty"`
	Replica  uint64     `json:"replica,omitempty"`
	Observer bool       `json:"observer,omitempty"`
}

type memberJSON struct {
	Group    id.GroupID `json:"group"`
	Phase    string     `json:"phase"`
	Genesis  string     `json:"genesis,omitempty"`
	Replica  uint64     `json:"replica,omitempty"`
	Leader   string     `json:"leader,omitempty"`
	Term     uint64     `json:"term"`
	Voters   int        `json:"voters"`
	Voter    bool       `json:"voter"`
	Observer bool       `json:"observer"`
	Joined   bool       `json:"joined"`
	Online   bool       `json:"online"`
	Applied  uint64     `json:"applied"`
	Bonds    int        `json:"bonds"`
	Reason   string     `json:"reason,omitempty"`
}

type catalogGroupJSON struct {
	Group   id.GroupID  `json:"group"`
	Members []id.PeerID `json:"members"`
}

// jsonDuration is a duration as seconds.
type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).Seconds())
}

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return err
	}
	*d = jsonDuration(secs * float64(time.Second))
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func entryOf(e discovery.Entry) entryJSON {
	out := entryJSON{
		Peer: e.Peer, Network: e.Network, Version: e.Version, Gossip: e.GossipAddr, Departing: e.Departing,
		Addrs: nonNil(e.Addrs), Tags: nonNil(e.Tags), Streams: nonNil(e.Streams), Tickets: len(e.Tickets),
		Groups: []shardAdJSON{},
	}
	for _, g := range e.Groups {
		ad := e.Shards[g]
		out.Groups = append(out.Groups, shardAdJSON{Group: g, Genesis: hex.EncodeToString(ad.Genesis), Replica: ad.Replica, Observer: ad.Observer})
	}
	return out
}

func memberOf(s cluster.GroupStatus) memberJSON {
	m := memberJSON{
		Group: s.Group, Phase: s.Phase, Replica: s.Replica, Term: s.Term, Voters: s.Voters, Voter: s.Voter,
		Observer: s.Observer, Joined: s.Joined, Online: s.Online, Applied: s.Applied, Bonds: s.Bonds, Reason: s.Reason,
	}
	if !s.Genesis.IsZero() {
		m.Genesis = s.Genesis.String()
	}
	if !s.Leader.IsZero() {
		m.Leader = s.Leader.String()
	}
	return m
}

func statusOf(addr, network string, res probeResult) statusJSON {
	out := statusJSON{
		Addr: addr, Network: network, RTT: jsonDuration(res.rtt), Peer: res.target.Peer,
		Joined: []memberJSON{}, Catalog: []entryJSON{}, Groups: []catalogGroupJSON{},
	}
	for _, s := range res.groups {
		out.Joined = append(out.Joined, memberOf(s))
	}
	for _, e := range res.catalog {
		out.Catalog = append(out.Catalog, entryOf(e))
	}
	for _, g := range groupsOf(res.catalog) {
		cg := catalogGroupJSON{Group: g.id}
		for _, m := range g.members {
			cg.Members = append(cg.Members, m.peer)
		}
		out.Groups = append(out.Groups, cg)
	}
	return out
}

// nonNil turns a nil slice into an empty one, so that JSON shows [] and
// scripts need not tell null from empty.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return slices.Clone(s)
}
