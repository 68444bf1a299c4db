package main

import (
	"encoding/json"
	"io"
	"slices"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/statemachine"
)

// Order is one limit order, as traders send it on the orders stream and
// as the group replicates it.
type Order struct {
	ID     string `json:"id"`
	Trader string `json:"trader"`
	Buy    bool   `json:"buy"`
	Price  int64  `json:"price"`
	Qty    int64  `json:"qty"`
}

// Fill is one match between an incoming order (the taker) and a resting
// one (the maker), at the maker's price.
type Fill struct {
	Taker       string `json:"taker"`
	Maker       string `json:"maker"`
	TakerTrader string `json:"takerTrader"`
	MakerTrader string `json:"makerTrader"`
	Price       int64  `json:"price"`
	Qty         int64  `json:"qty"`
	Index       uint64 `json:"index"` // log index of the taker's order
}

// Book is the replicated order book: price-time priority, fills at the
// maker's price. Queries ask for the fills of the order at a log index.
type Book struct {
	Bids, Asks []Order           // best first: bids by price down, asks by price up, then by arrival
	Fills      map[uint64][]Fill // by the taker's log index
}

// Signature versions the machine (part of the group id).
func (*Book) Signature() id.Digest { return id.Of("examples/orderbook/book/v1") }

// Apply matches each order against the other side, then rests what is
// left of it. Deterministic: slices only, no map iteration.
func (b *Book) Apply(ctx statemachine.ApplyContext, orders []Order) {
	if b.Fills == nil {
		b.Fills = make(map[uint64][]Fill)
	}
	for i, o := range orders {
		b.match(ctx.Index(i), o)
	}
}

func (b *Book) match(index uint64, o Order) {
	other := &b.Asks
	if !o.Buy {
		other = &b.Bids
	}
	crosses := func(rest Order) bool {
		if o.Buy {
			return rest.Price <= o.Price
		}
		return rest.Price >= o.Price
	}
	for o.Qty > 0 && len(*other) > 0 && crosses((*other)[0]) {
		maker := &(*other)[0]
		q := min(o.Qty, maker.Qty)
		b.Fills[index] = append(b.Fills[index], Fill{
			Taker: o.ID, Maker: maker.ID, TakerTrader: o.Trader, MakerTrader: maker.Trader,
			Price: maker.Price, Qty: q, Index: index,
		})
		o.Qty -= q
		maker.Qty -= q
		if maker.Qty == 0 {
			*other = (*other)[1:]
		}
	}
	if o.Qty == 0 {
		return
	}
	side := &b.Bids
	better := func(a, c Order) bool { return a.Price > c.Price }
	if !o.Buy {
		side, better = &b.Asks, func(a, c Order) bool { return a.Price < c.Price }
	}
	// After every resting order at least as good: time priority.
	at := slices.IndexFunc(*side, func(r Order) bool { return better(o, r) })
	if at < 0 {
		at = len(*side)
	}
	*side = slices.Insert(*side, at, o)
}

// Query returns the fills of the order at a log index.
func (b *Book) Query(index uint64) []Fill { return b.Fills[index] }

// Snapshot writes the whole book as JSON (map keys are sorted).
func (b *Book) Snapshot(w io.Writer) error { return json.NewEncoder(w).Encode(b) }

// Restore reads a snapshot.
func (b *Book) Restore(r io.Reader) error {
	*b = Book{}
	return json.NewDecoder(r).Decode(b)
}
