package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
)

func TestGroupsOf(t *testing.T) {
	g1, g2 := id.Of("group one"), id.Of("group two")
	lo, hi := g1, g2
	if hi.Less(lo) {
		lo, hi = hi, lo
	}
	entries := []discovery.Entry{
		{Peer: peerC, Groups: []id.GroupID{g1, g2}, Shards: map[id.GroupID]discovery.ShardAd{g1: {Genesis: []byte{1}, Replica: 3}}},
		{Peer: peerA},
		{Peer: peerB, Groups: []id.GroupID{g1}},
	}
	got := groupsOf(entries)
	if len(got) != 2 || got[0].id != lo || got[1].id != hi {
		t.Fatalf("groups %+v, want %s then %s", got, lo.Short(), hi.Short())
	}
	one := got[0]
	if one.id != g1 {
		one = got[1]
	}
	if len(one.members) != 2 || !one.members[0].peer.Less(one.members[1].peer) {
		t.Fatalf("members of group one: %+v", one.members)
	}
	for _, m := range one.members {
		if (m.peer == peerC) != (m.shard.Replica == 3) {
			t.Errorf("member %s has shard %+v", m.peer.Short(), m.shard)
		}
	}
	if groupsOf(nil) == nil || len(groupsOf(nil)) != 0 {
		t.Error("no entries should give an empty list")
	}
}

func TestShardText(t *testing.T) {
	tests := []struct {
		ad   discovery.ShardAd
		want string
	}{
		{discovery.ShardAd{}, "(no shard yet)"},
		{discovery.ShardAd{Genesis: []byte{0xab, 0xcd}}, "replica 0 of shard abcd"},
		{discovery.ShardAd{Genesis: bytes.Repeat([]byte{0x12}, 32), Replica: 7, Observer: true}, "replica 7 of shard 1212121212, observer"},
	}
	for _, tt := range tests {
		if got := shardText(tt.ad); got != tt.want {
			t.Errorf("shardText(%+v) = %q, want %q", tt.ad, got, tt.want)
		}
	}
}

func TestVersionTime(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 8e6, time.UTC)
	if got := versionTime(uint64(at.UnixMilli())); got != "2025-03-04T05:06:07.008Z" {
		t.Errorf("clock version: %q", got)
	}
	if got := versionTime(42); got != "at an unknown time" {
		t.Errorf("counter version: %q", got)
	}
}

func TestResolveGossipAddr(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: "127.0.0.1:7946", want: "127.0.0.1:7946"},
		{in: "localhost:7946", want: "127.0.0.1:7946"},
		{in: "7946", bad: true},
		{in: "127.0.0.1:port", bad: true},
	}
	for _, tt := range tests {
		got, err := resolveGossipAddr(tt.in)
		switch {
		case tt.bad && err == nil:
			t.Errorf("%q accepted as %q", tt.in, got)
		case !tt.bad && (err != nil || got != tt.want):
			t.Errorf("%q: %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestWriteEntry(t *testing.T) {
	g := id.Of("group")
	var out bytes.Buffer
	writeEntry(&out, discovery.Entry{
		Peer: peerA, Version: 42, Addrs: []string{"127.0.0.1:1"}, GossipAddr: "127.0.0.1:2",
		Tags: []id.Tag{id.Of("web")}, Groups: []id.GroupID{g},
		Shards: map[id.GroupID]discovery.ShardAd{g: {Genesis: []byte{1}, Replica: 9}}, Departing: true,
	})
	for _, w := range []string{
		"peer       " + peerA.String(), "addrs      127.0.0.1:1", "gossip     127.0.0.1:2",
		"tags       " + id.Of("web").Short(), "group      " + g.String() + " replica 9 of shard 01", "departing  yes",
	} {
		if !strings.Contains(out.String(), w+"\n") {
			t.Errorf("missing %q in:\n%s", w, out.String())
		}
	}
}

func TestOneLine(t *testing.T) {
	inner := errors.New("1 error occurred:\n\t* failed to join x: EOF\n\n")
	err := oneLine{inner}
	if err.Error() != "1 error occurred: * failed to join x: EOF" || !errors.Is(err, inner) {
		t.Fatalf("%q", err.Error())
	}
}

func TestWriteMemberships(t *testing.T) {
	g := id.Of("group")
	gen, _ := groups.GenesisFromBytes(bytes.Repeat([]byte{0xab}, groups.GenesisSize))
	sts := []cluster.GroupStatus{
		{Group: g, Phase: "running", Genesis: gen, Replica: 4, Leader: peerA, Term: 3, Voters: 3, Voter: true,
			Joined: true, Online: true, Applied: 120, Bonds: 2},
		{Group: g, Phase: "seeking", Reason: groups.ReasonSeeking},
		{Group: g, Phase: "running", Genesis: gen, Replica: 9, Observer: true, Reason: groups.ReasonNoLeader},
	}
	var b bytes.Buffer
	writeMemberships(&b, peerB, sts)
	got := b.String()
	for _, w := range []string{
		"groups " + peerB.Short() + " is in: 3",
		g.Short() + "  running  ababababab/4  voter     " + peerA.Short() + "  3     3       120      2      online",
		"seeking  -             -         -           0     0       0        0      offline: " + groups.ReasonSeeking,
		"observer  -           0     0       0        0      offline: " + groups.ReasonNoLeader,
	} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}

	var js bytes.Buffer
	if err := writeJSON(&js, statusOf("a:1", "net", probeResult{groups: sts[:1]})); err != nil {
		t.Fatal(err)
	}
	var back statusJSON
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Joined) != 1 || back.Joined[0].Leader != peerA.String() || back.Joined[0].Applied != 120 ||
		back.Catalog == nil || back.Groups == nil {
		t.Fatalf("JSON round trip: %+v\n%s", back, js.String())
	}
}
