package streams_test

import (
	"context"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/streams"
	"github.com/mosaikgo/mosaik/testkit"
	"github.com/mosaikgo/mosaik/tickets"
	"github.com/mosaikgo/mosaik/transport"
)

var issuerSecret = []byte("the stream issuer's secret")

func giveTicket(t *testing.T, ctx context.Context, node *cluster.Node, exp time.Time) discovery.Ticket {
	t.Helper()
	tk, err := tickets.JWTBuilder{Expires: exp}.Build(tickets.HS256Signer(issuerSecret), node.PeerID())
	if err != nil {
		t.Fatal(err)
	}
	if err := node.AddTicket(ctx, tk); err != nil {
		t.Fatal(err)
	}
	return tk
}

// A producer that requires tickets admits holders, refuses others with
// 10_403, and ends a channel when its ticket is removed or expires.
func TestProducerRequiresTickets(t *testing.T) {
	c, ctx := newCluster(t, 4)
	v := tickets.JWT{Keys: []tickets.Key{tickets.HS256(issuerSecret)}}
	long := giveTicket(t, ctx, c.Node(1), time.Now().Add(time.Hour))
	giveTicket(t, ctx, c.Node(3), time.Now().Add(2*time.Second))
	if err := c.DiscoverAll(ctx); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{1, 3} {
		if err := c.Node(0).WaitCatalog(ctx, func(s *discovery.Snapshot) bool {
			e, ok := s.Get(c.Node(i).PeerID())
			return ok && len(e.Tickets) == 1
		}); err != nil {
			t.Fatal(err)
		}
	}
	d := def("ticketed")
	d.Producer.Tickets = []discovery.TicketValidator{v}
	p := produce(t, ctx, c.Node(0), d)
	holder := consume(t, ctx, c.Node(1), d)
	without := consume(t, ctx, c.Node(2), d)
	expiring := consume(t, ctx, c.Node(3), d)
	if err := holder.When().Subscribed(ctx); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, ctx, without, transport.CodeStreamNotAllowed)

	// The short ticket runs out: the producer's timer ends the channel.
	waitEnded(t, ctx, expiring, transport.CodeStreamNotAllowed)

	// The long one is withdrawn: the entry update ends the channel.
	if err := c.Node(1).RemoveTicket(ctx, long.ID()); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, ctx, holder, transport.CodeStreamNotAllowed)
	if err := p.When().Unsubscribed(ctx); err != nil {
		t.Fatal(err)
	}
}

// A consumer that requires tickets subscribes only to producers that
// hold one.
func TestConsumerRequiresTickets(t *testing.T) {
	c, ctx := newCluster(t, 3)
	v := tickets.JWT{Keys: []tickets.Key{tickets.HS256(issuerSecret)}}
	giveTicket(t, ctx, c.Node(0), time.Now().Add(time.Hour))
	d := def("from ticket holders")
	d.Consumer.Tickets = []discovery.TicketValidator{v}
	produce(t, ctx, c.Node(0), d)
	produce(t, ctx, c.Node(1), d)
	stream := d.StreamID()
	if err := c.Node(2).WaitCatalog(ctx, func(s *discovery.Snapshot) bool {
		n := 0
		for _, e := range s.Peers() {
			for _, st := range e.Streams {
				if st == stream && (e.Peer != c.Node(0).PeerID() || len(e.Tickets) == 1) {
					n++
				}
			}
		}
		return n == 2
	}); err != nil {
		t.Fatal(err)
	}
	cons := consume(t, ctx, c.Node(2), d)
	if err := cons.When().Subscribed(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ch := range cons.Producers() {
		if ch.Peer != c.Node(0).PeerID() {
			t.Fatalf("subscribed to %s, which holds no ticket", ch.Peer.Short())
		}
	}
}

// A consumer that requires tickets drops a producer whose ticket is
// withdrawn, and one whose ticket expires, on the consumer's side.
func TestConsumerDropsProducersWithoutTickets(t *testing.T) {
	c, ctx := newCluster(t, 3)
	v := tickets.JWT{Keys: []tickets.Key{tickets.HS256(issuerSecret)}}
	withdrawn := giveTicket(t, ctx, c.Node(0), time.Now().Add(time.Hour))
	giveTicket(t, ctx, c.Node(1), time.Now().Add(3*time.Second))
	d := def("tickets withdrawn and expiring")
	d.Consumer.Tickets = []discovery.TicketValidator{v}
	produce(t, ctx, c.Node(0), d)
	produce(t, ctx, c.Node(1), d)
	if err := c.DiscoverAll(ctx); err != nil {
		t.Fatal(err)
	}
	cons := consume(t, ctx, c.Node(2), d)
	producers := func() map[string]bool {
		m := map[string]bool{}
		for _, ch := range cons.Producers() {
			if ch.State == streams.Connected {
				m[ch.Peer.String()] = true
			}
		}
		return m
	}
	if err := testkit.WaitFor(ctx, func() bool { return len(producers()) == 2 }); err != nil {
		t.Fatalf("not subscribed to both ticket holders: %v (%v)", err, producers())
	}
	if err := c.Node(0).RemoveTicket(ctx, withdrawn.ID()); err != nil {
		t.Fatal(err)
	}
	err := testkit.WaitFor(ctx, func() bool {
		p := producers()
		return !p[c.Node(0).PeerID().String()]
	})
	if err != nil {
		t.Fatalf("still subscribed to a producer whose ticket was withdrawn: %v", err)
	}
	// Node 1's ticket expires three seconds after it was issued.
	if err := cons.When().Unsubscribed(ctx); err != nil {
		t.Fatalf("still subscribed after the last ticket expired: %v (%v)", err, producers())
	}
}
