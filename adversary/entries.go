package adversary

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
)

// Fakes describes the entries of a flood: each from a fresh key, validly
// signed by it (anyone can sign an entry about a key they made), unless
// told to be broken.
type Fakes struct {
	Network id.NetworkID
	// Addr is the transport address the entries advertise (the
	// attacker's choice: a victim that dials advertisers dials it).
	Addr string
	// Groups are advertised in every entry.
	Groups []id.GroupID
	// Version of every entry; zero means now in milliseconds.
	Version uint64
	// Forge breaks each signature after signing.
	Forge bool
	// Padding adds a ticket of this many bytes to each entry.
	Padding int
}

// Entries returns n signed entries as f describes.
func (f Fakes) Entries(n int) ([]*messages.SignedPeerEntry, error) {
	version := f.Version
	if version == 0 {
		version = uint64(time.Now().UnixMilli())
	}
	out := make([]*messages.SignedPeerEntry, 0, n)
	for range n {
		key := id.NewSecretKey()
		e := discovery.Entry{Network: f.Network, Peer: key.PeerID(), Version: version, Groups: f.Groups}
		if f.Addr != "" {
			e.Addrs = []string{f.Addr}
		}
		if f.Padding > 0 {
			e.Tickets = padding(f.Padding)
		}
		s, err := discovery.Sign(e, key)
		if err != nil {
			return nil, fmt.Errorf("adversary: sign: %w", err)
		}
		m := s.Proto()
		if f.Forge {
			m = &messages.SignedPeerEntry{Entry: m.Entry, Signature: append([]byte(nil), m.Signature...)}
			m.Signature[0] ^= 0xff
		}
		out = append(out, m)
	}
	return out, nil
}

// CatalogState encodes entries as the catalog state of network, the
// payload of push-pull exchanges and syncs.
func CatalogState(network id.NetworkID, entries []*messages.SignedPeerEntry) ([]byte, error) {
	return proto.Marshal(&messages.CatalogState{NetworkId: network.Proto(), Entries: entries})
}

// The two versions of the catalog sync protocol, written with protowire
// so that this package builds against trees of either (the before and
// after measurements of docs/operations.md run one attack program on
// both).
const (
	// SyncV1 is /mosaik/discovery/sync/1: one request frame carrying the
	// whole catalog (SyncRequest field 1), no proof of anything.
	SyncV1 = "/mosaik/discovery/sync/1"
	// SyncV2 is /mosaik/discovery/sync/2: a small request (network id,
	// proof, push flag), the acceptor's SyncAccept, then the catalog.
	SyncV2 = "/mosaik/discovery/sync/2"
)

// syncRequestV1 is SyncRequest{State: state} of sync/1.
func syncRequestV1(state []byte) []byte {
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	return protowire.AppendBytes(b, state)
}

// syncRequestV2 is SyncRequest{NetworkId, Proof, Push} of sync/2.
func syncRequestV2(network id.NetworkID, proof []byte, push bool) []byte {
	digest := protowire.AppendTag(nil, 1, protowire.BytesType)
	digest = protowire.AppendBytes(digest, network[:])
	b := protowire.AppendTag(nil, 3, protowire.BytesType)
	b = protowire.AppendBytes(b, digest)
	if len(proof) > 0 {
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendBytes(b, proof)
	}
	if push {
		b = protowire.AppendTag(b, 5, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
	}
	return b
}

// Push offers state (a CatalogState) to the victim over a sync link of
// protocol (SyncV1 or SyncV2), with proof as the proof of the network
// secret (nil for none; sync/1 has no place for one). It returns once the
// victim has answered, or with the victim's refusal.
func (o *Outsider) Push(ctx context.Context, addr, protocol string, network id.NetworkID, proof, state []byte) error {
	l, err := o.Open(ctx, addr, protocol)
	if err != nil {
		return err
	}
	defer l.Close()
	const answerLimit = 64 << 20
	switch protocol {
	case SyncV1:
		if err := l.WriteFrame(syncRequestV1(state)); err != nil {
			return err
		}
	case SyncV2:
		if err := l.WriteFrame(syncRequestV2(network, proof, true)); err != nil {
			return err
		}
		if _, err := l.ReadFrame(ctx, answerLimit); err != nil { // SyncAccept, or the refusal
			return l.refusal(err)
		}
		if err := l.WriteFrame(state); err != nil {
			return err
		}
	default:
		return fmt.Errorf("adversary: unknown sync protocol %q", protocol)
	}
	if _, err := l.ReadFrame(ctx, answerLimit); err != nil { // SyncResponse
		return l.refusal(err)
	}
	return nil
}

// refusal explains a failed read by the victim's close, if it sent one.
func (l *Link) refusal(err error) error {
	select {
	case <-l.Conn.Context().Done():
		return fmt.Errorf("adversary: refused: %w", context.Cause(l.Conn.Context()))
	case <-time.After(100 * time.Millisecond):
		return err
	}
}

// padding is n bytes of tickets that no validator reads, in tickets of
// at most discovery.MaxTicketSize: a way to make an entry large.
func padding(n int) []discovery.Ticket {
	var out []discovery.Ticket
	for n > 0 {
		size := min(n, discovery.MaxTicketSize)
		out = append(out, discovery.Ticket{Class: id.Of("adversary/padding"), Data: make([]byte, size)})
		n -= size
	}
	return out
}
