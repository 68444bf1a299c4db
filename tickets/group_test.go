package tickets_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/testkit"
	"github.com/mosaikgo/mosaik/tickets"
	"github.com/mosaikgo/mosaik/transport"
)

func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }

var secret = []byte("the issuer's secret")

func gated(vs ...discovery.TicketValidator) cluster.GroupConfig {
	return cluster.GroupConfig{
		Key:       groups.KeyFromSecret("gated group"),
		Consensus: groups.FastConsensus(),
		Machine:   statemachine.NoOpMachine,
		Tickets:   vs,
	}
}

// give puts a ticket for node, valid until exp, in its entry.
func give(t *testing.T, ctx context.Context, node *cluster.Node, signer tickets.SigningKey, exp time.Time) discovery.Ticket {
	t.Helper()
	tk, err := tickets.JWTBuilder{Expires: exp}.Build(signer, node.PeerID())
	if err != nil {
		t.Fatal(err)
	}
	if err := node.AddTicket(ctx, tk); err != nil {
		t.Fatal(err)
	}
	return tk
}

func peers(gs ...*cluster.Group) []id.PeerID {
	var out []id.PeerID
	for _, g := range gs {
		out = append(out, g.Bonds().Self)
	}
	slices.SortFunc(out, id.PeerID.Compare)
	return out
}

// bondedExactly waits until g's bonds are exactly want.
func bondedExactly(t *testing.T, ctx context.Context, g *cluster.Group, want []id.PeerID) {
	t.Helper()
	if _, err := g.WaitBonds(ctx, func(v cluster.BondsView) bool { return slices.Equal(v.Peers, want) }); err != nil {
		t.Fatalf("%s has bonds %v, want %v: %v", g.Bonds().Self.Short(), g.Bonds().Peers, want, err)
	}
}

// TestOnlyValidHoldersBond: of four members, two hold valid tickets, one
// an expired one and one none: only the two bond, and after a while
// still only they have; the others' attempts end with 30 403.
func TestOnlyValidHoldersBond(t *testing.T) {
	c := testkit.NewCluster(t, 4, testkit.Options{})
	ctx := testkit.Context(t)
	if err := c.DiscoverAll(ctx); err != nil {
		t.Fatal(err)
	}
	v := tickets.JWT{Keys: []tickets.Key{tickets.HS256(secret)}}
	give(t, ctx, c.Node(0), tickets.HS256Signer(secret), time.Now().Add(time.Hour))
	give(t, ctx, c.Node(1), tickets.HS256Signer(secret), time.Now().Add(time.Hour))
	give(t, ctx, c.Node(2), tickets.HS256Signer(secret), time.Now().Add(-time.Minute))
	gs := c.JoinAll(gated(v))
	refused := gs[2].Subscribe()
	defer refused.Close()
	bondedExactly(t, ctx, gs[0], peers(gs[1]))
	bondedExactly(t, ctx, gs[1], peers(gs[0]))
	// The members without a valid ticket keep trying; give them time.
	<-time.After(3 * time.Second)
	for i, g := range gs {
		want := map[int][]id.PeerID{0: peers(gs[1]), 1: peers(gs[0])}[i]
		if got := g.Bonds().Peers; !slices.Equal(got, want) {
			t.Errorf("member %d has bonds %v, want %v", i, got, want)
		}
	}
	for {
		ev, err := refused.Next(ctx)
		if err != nil {
			t.Fatalf("the expired holder never saw a refusal: %v", err)
		}
		var ce *transport.CloseError
		var rej *groups.Rejection
		if (errors.As(ev.Err, &ce) && ce.Code == transport.CodeNotAllowed) || (errors.As(ev.Err, &rej) && rej.Code == transport.CodeNotAllowed) {
			break
		}
	}
}

// TestRevocationAndExpiryEndBonds: a ticket taken out of its holder's
// entry ends its bonds, on both sides; so does a ticket that expires
// while bonded.
func TestRevocationAndExpiryEndBonds(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	if err := c.DiscoverAll(ctx); err != nil {
		t.Fatal(err)
	}
	v := tickets.JWT{Keys: []tickets.Key{tickets.HS256(secret)}}
	revoked := give(t, ctx, c.Node(0), tickets.HS256Signer(secret), time.Now().Add(time.Hour))
	give(t, ctx, c.Node(1), tickets.HS256Signer(secret), time.Now().Add(time.Hour))
	give(t, ctx, c.Node(2), tickets.HS256Signer(secret), time.Now().Add(3*time.Second))
	gs := c.JoinAll(gated(v))
	for i, g := range gs {
		bondedExactly(t, ctx, g, peers(slices.Delete(slices.Clone(gs), i, i+1)...))
	}
	// Node 2's ticket expires: both sides drop their bonds with it.
	bondedExactly(t, ctx, gs[2], nil)
	bondedExactly(t, ctx, gs[0], peers(gs[1]))
	bondedExactly(t, ctx, gs[1], peers(gs[0]))
	// Node 0 loses its ticket.
	if err := c.Node(0).RemoveTicket(ctx, revoked.ID()); err != nil {
		t.Fatal(err)
	}
	bondedExactly(t, ctx, gs[0], nil)
	bondedExactly(t, ctx, gs[1], nil)
	// A new ticket brings it back.
	give(t, ctx, c.Node(0), tickets.HS256Signer(secret), time.Now().Add(time.Hour))
	bondedExactly(t, ctx, gs[0], peers(gs[1]))
}

// TestTwoValidatorsAndMismatchedConfigs: a group that requires two
// validators bonds only members holding both tickets; members configured
// with other validators are another group, with another id, and never
// bond with them.
func TestTwoValidatorsAndMismatchedConfigs(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{})
	ctx := testkit.Context(t)
	if err := c.DiscoverAll(ctx); err != nil {
		t.Fatal(err)
	}
	other := []byte("another issuer's secret")
	v1, v2 := tickets.JWT{Keys: []tickets.Key{tickets.HS256(secret)}}, tickets.JWT{Keys: []tickets.Key{tickets.HS384(other)}}
	for i := range 3 {
		give(t, ctx, c.Node(i), tickets.HS256Signer(secret), time.Now().Add(time.Hour))
	}
	for _, i := range []int{0, 1} {
		give(t, ctx, c.Node(i), tickets.HS384Signer(other), time.Now().Add(time.Hour))
	}
	both := gated(v1, v2)
	if both.ID() == gated(v1).ID() || both.ID() == gated(v2, v1).ID() {
		t.Fatal("the validators do not make the group id, in order")
	}
	gs := c.JoinAll(both)
	bondedExactly(t, ctx, gs[0], peers(gs[1]))
	bondedExactly(t, ctx, gs[1], peers(gs[0]))
	// Node 2, with one validator only, is in a group of its own.
	lone := c.JoinAll(gated(v1), 2)[0]
	<-time.After(2 * time.Second)
	if p := lone.Bonds().Peers; len(p) != 0 {
		t.Fatalf("a member of another configuration bonded with %v", p)
	}
	if p := gs[2].Bonds().Peers; len(p) != 0 {
		t.Fatalf("a member without the second ticket bonded with %v", p)
	}
}

// TestGroupKeyFromValidator: members that share only a validator's
// configuration, not a secret, find each other.
func TestGroupKeyFromValidator(t *testing.T) {
	c := testkit.NewCluster(t, 2, testkit.Options{})
	ctx := testkit.Context(t)
	v := tickets.JWT{Keys: []tickets.Key{tickets.HS256(secret)}}
	for i := range 2 {
		give(t, ctx, c.Node(i), tickets.HS256Signer(secret), time.Now().Add(time.Hour))
	}
	cfg := gated(v)
	cfg.Key = tickets.GroupKeyFromValidator(v)
	gs := c.JoinAll(cfg)
	if err := testkit.WaitMesh(ctx, gs); err != nil {
		t.Fatal(err)
	}
}
