package adversary

import (
	"fmt"
	"io"
	"log"
	"net"
	"strconv"

	"github.com/hashicorp/memberlist"
	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
)

// Gossiper is an outsider on the victim's gossip port: a memberlist node
// labelled with the victim's network, encrypting with secret if it has
// one (an outsider without the network secret has none, or a wrong one).
// It does not join; it sends user messages straight to an address, as
// any packet on the network may.
type Gossiper struct {
	ml *memberlist.Memberlist
}

// NewGossiper starts a memberlist node on local (an IP address).
func NewGossiper(network id.NetworkID, local string, secret []byte) (*Gossiper, error) {
	c := memberlist.DefaultLocalConfig()
	c.Name = id.NewSecretKey().PeerID().String()
	c.BindAddr, c.BindPort = local, 0
	c.AdvertiseAddr, c.AdvertisePort = "", 0
	c.Label = network.String()
	c.SecretKey = secret
	c.Logger = log.New(io.Discard, "", 0)
	ml, err := memberlist.Create(c)
	if err != nil {
		return nil, fmt.Errorf("adversary: gossip node: %w", err)
	}
	return &Gossiper{ml: ml}, nil
}

// Broadcast sends entry to the gossip address addr as a discovery
// broadcast, one UDP packet.
func (g *Gossiper) Broadcast(addr string, entry *messages.SignedPeerEntry) error {
	b, err := proto.Marshal(&messages.DiscoveryBroadcast{Entry: entry})
	if err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if _, err := strconv.Atoi(port); err != nil {
		return err
	}
	return g.ml.SendToAddress(memberlist.Address{Addr: net.JoinHostPort(host, port)}, b)
}

// Close shuts the node down.
func (g *Gossiper) Close() error { return g.ml.Shutdown() }
