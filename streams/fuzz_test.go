package streams

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/messages"
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
