// Command gated-group keeps a group to the peers an issuer gave a ticket.
// An issuer holds an ed25519 key; the group requires JWT tickets signed by
// it (tickets.JWT), and takes its key from that requirement
// (tickets.GroupKeyFromValidator), so members share no secret at all. Of
// three nodes on loopback, two hold a ticket and form the group; the third
// holds none and is kept out. Then the issuer revokes one ticket: its
// holder takes it out of its entry, and its bond ends.
//
//	go run ./examples/gated-group
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sync"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/tickets"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gated-group:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	// The issuer's key. Members only need its public half.
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	validator := tickets.JWT{Keys: []tickets.Key{tickets.EdDSA(pub)}, Issuers: []string{"ops"}}
	cfg := cluster.GroupConfig{
		Key:       tickets.GroupKeyFromValidator(validator),
		Consensus: groups.FastConsensus(),
		Machine:   statemachine.NoOpMachine,
		Tickets:   []discovery.TicketValidator{validator},
	}

	var nodes []*cluster.Node
	defer func() {
		var wg sync.WaitGroup
		for _, n := range nodes {
			wg.Go(func() { _ = n.Close(context.Background()) })
		}
		wg.Wait()
	}()
	names := []string{"alice", "bob", "mallory"}
	for i := range names {
		c := cluster.Config{Network: "examples/gated-group", DataDir: cluster.InMemory, Discovery: discovery.FastConfig()}
		if i > 0 {
			c.Bootstrap = []string{nodes[0].GossipAddr()}
		}
		n, err := cluster.Start(ctx, c)
		if err != nil {
			return err
		}
		nodes = append(nodes, n)
	}
	// The issuer gives alice and bob a ticket for an hour; mallory gets
	// none.
	issued := map[string]discovery.Ticket{}
	for i, name := range names[:2] {
		t, err := tickets.JWTBuilder{Issuer: "ops", Expires: time.Now().Add(time.Hour)}.Build(tickets.EdDSASigner(priv), nodes[i].PeerID())
		if err != nil {
			return err
		}
		if err := nodes[i].AddTicket(ctx, t); err != nil {
			return err
		}
		issued[name] = t
		fmt.Fprintf(out, "%s holds a ticket\n", name)
	}
	var members []*cluster.Group
	for _, n := range nodes {
		g, err := n.Join(ctx, cfg)
		if err != nil {
			return err
		}
		members = append(members, g)
	}
	alice, bob, mallory := members[0], members[1], members[2]
	if err := bonded(ctx, alice, bob.Bonds().Self); err != nil {
		return err
	}
	if err := bonded(ctx, bob, alice.Bonds().Self); err != nil {
		return err
	}
	fmt.Fprintln(out, "alice and bob are bonded")
	// mallory tries on its own schedule; give it a few of its attempts.
	select {
	case <-time.After(2 * time.Second):
	case <-ctx.Done():
		return ctx.Err()
	}
	fmt.Fprintf(out, "mallory has %d bonds: kept out\n", len(mallory.Bonds().Peers))

	// Revoked: bob's ticket leaves its entry, and with it its bond.
	if err := nodes[1].RemoveTicket(ctx, issued["bob"].ID()); err != nil {
		return err
	}
	if err := bonded(ctx, alice); err != nil {
		return err
	}
	fmt.Fprintln(out, "bob's ticket was revoked: alice has no bond left")
	return nil
}

// bonded waits until g's bonds are exactly peers.
func bonded(ctx context.Context, g *cluster.Group, peers ...id.PeerID) error {
	slices.SortFunc(peers, id.PeerID.Compare)
	_, err := g.WaitBonds(ctx, func(v cluster.BondsView) bool { return slices.Equal(v.Peers, peers) })
	if err != nil {
		return fmt.Errorf("%s has bonds %d, want %d: %w", g.Bonds().Self.Short(), len(g.Bonds().Peers), len(peers), err)
	}
	return nil
}
