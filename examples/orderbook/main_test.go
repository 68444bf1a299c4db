package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/testkit"
)

func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }

func TestTradersSeeTheFills(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	rep, err := run(ctx, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	want := []Fill{
		{Taker: "b1", Maker: "a1", TakerTrader: "bob", MakerTrader: "alice", Price: 100, Qty: 8},
		{Taker: "b2", Maker: "a1", TakerTrader: "bob", MakerTrader: "alice", Price: 100, Qty: 2},
	}
	for _, trader := range []string{"alice", "bob"} {
		got := rep.fills[trader]
		if len(got) != len(want) {
			t.Fatalf("%s saw %d fills, want %d\n%s", trader, len(got), len(want), out.String())
		}
		for i := range want {
			g := got[i]
			g.Index = 0
			if g != want[i] {
				t.Fatalf("%s fill %d = %+v, want %+v", trader, i, g, want[i])
			}
		}
	}
}

func TestBookMatchesByPriceThenTime(t *testing.T) {
	b := &Book{}
	b.Apply(statemachine.NewApplyContext([32]byte{}, []uint64{1, 2, 3, 4}), []Order{
		{ID: "s1", Price: 101, Qty: 5},
		{ID: "s2", Price: 100, Qty: 5},
		{ID: "s3", Price: 100, Qty: 5},
		{ID: "b1", Buy: true, Price: 101, Qty: 12},
	})
	fills := b.Query(4)
	want := []struct {
		maker string
		price int64
		qty   int64
	}{{"s2", 100, 5}, {"s3", 100, 5}, {"s1", 101, 2}}
	if len(fills) != len(want) {
		t.Fatalf("fills %+v", fills)
	}
	for i, w := range want {
		if f := fills[i]; f.Maker != w.maker || f.Price != w.price || f.Qty != w.qty {
			t.Fatalf("fill %d = %+v, want %+v", i, f, w)
		}
	}
	if len(b.Asks) != 1 || b.Asks[0].Qty != 3 || len(b.Bids) != 0 {
		t.Fatalf("book after: asks %+v bids %+v", b.Asks, b.Bids)
	}
	var snap bytes.Buffer
	if err := b.Snapshot(&snap); err != nil {
		t.Fatal(err)
	}
	var c Book
	if err := c.Restore(&snap); err != nil {
		t.Fatal(err)
	}
	if len(c.Asks) != 1 || len(c.Query(4)) != 3 {
		t.Fatalf("restored %+v", c)
	}
}
