package streams

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/transport"
)

// FuzzDecodeBatch feeds arbitrary frames to the consumer's batch decoder:
// it must never panic, and what it accepts must be what protobuf reads.
func FuzzDecodeBatch(f *testing.F) {
	f.Add([]byte{})
	f.Add(appendBatch(nil, [][]byte{[]byte("x"), []byte(`"json"`)}))
	f.Add(appendBatch(nil, [][]byte{make([]byte, 200)}))
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{0x10, 0x01, 0x0a, 0x00})
	f.Fuzz(func(t *testing.T, frame []byte) {
		var got [][]byte
		err := decodeBatch(frame, func(d []byte) error { got = append(got, d); return nil })
		if err != nil {
			return
		}
		var m messages.StreamBatch
		if perr := proto.Unmarshal(frame, &m); perr != nil {
			t.Fatalf("decodeBatch accepted what protobuf rejects: %v", perr)
		}
		if len(m.Datums) != len(got) {
			t.Fatalf("decodeBatch found %d datums, protobuf %d", len(got), len(m.Datums))
		}
		for i := range got {
			if !bytes.Equal(got[i], m.Datums[i]) {
				t.Fatalf("datum %d differs", i)
			}
		}
	})
}

// FuzzSubscription feeds arbitrary first frames to the producer's side of
// the handshake: the subscription must decode or be refused, and a
// subscription is accepted only for the producer's network, with the
// stream id it carries; refusals are 101 or 400.
func FuzzSubscription(f *testing.F) {
	network := id.Of("fuzz network")
	good, _ := proto.Marshal(&messages.StreamSubscribe{NetworkId: network.Proto(), StreamId: id.Of("s").Proto(), Criteria: []byte("c"), EntryVersion: 7})
	other, _ := proto.Marshal(&messages.StreamSubscribe{NetworkId: id.Of("other").Proto(), StreamId: id.Of("s").Proto()})
	short, _ := proto.Marshal(&messages.StreamSubscribe{NetworkId: network.Proto(), StreamId: &messages.Digest{Value: []byte{1, 2}}})
	for _, seed := range [][]byte{{}, good, other, short, {0x0a, 0x02, 0x0a}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		var sub messages.StreamSubscribe
		if err := transport.Unmarshal(frame, &sub); err != nil {
			if !errors.Is(err, transport.ErrBadFrame) {
				t.Fatalf("Unmarshal error %v is not ErrBadFrame", err)
			}
			return
		}
		stream, code, err := checkSubscription(&sub, network)
		if err != nil {
			if code != transport.CodeDifferentNetwork && code != transport.CodeProtocolViolation {
				t.Fatalf("refused with code %d", code)
			}
			return
		}
		if code != 0 || !bytes.Equal(sub.GetNetworkId().GetValue(), network[:]) || !bytes.Equal(sub.GetStreamId().GetValue(), stream[:]) {
			t.Fatalf("accepted %v as stream %s with code %d", &sub, stream.Short(), code)
		}
	})
}
