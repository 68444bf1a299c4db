package transport

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/messages"
)

// FuzzReadFrame feeds arbitrary bytes to the frame decoder: it must either
// return frames that re-encode to exactly the bytes consumed, or fail with
// one of the documented errors. It must never panic or allocate beyond the
// limit.
func FuzzReadFrame(f *testing.F) {
	f.Add(AppendFrame(nil, []byte("hello")))
	f.Add(AppendFrame(AppendFrame(nil, nil), []byte{1, 2, 3}))
	f.Add([]byte{0, 0, 0, 9, 1})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		const limit = 1 << 10
		r := bytes.NewReader(in)
		var reencoded []byte
		for {
			p, err := ReadFrame(r, limit)
			if err == io.EOF {
				break
			}
			if err != nil {
				if !errors.Is(err, ErrBadFrame) && !errors.Is(err, ErrFrameTooLarge) {
					t.Fatalf("undocumented error %v", err)
				}
				return
			}
			if len(p) > limit {
				t.Fatalf("payload of %d bytes passed a %d limit", len(p), limit)
			}
			reencoded = AppendFrame(reencoded, p)
		}
		if !bytes.Equal(reencoded, in) {
			t.Fatal("decoded frames do not re-encode to the input")
		}
	})
}

// wireMessages returns an empty message of each kind FuzzUnmarshal
// decodes: the transport's own and the discovery sync exchange, which
// reaches peers as plain link frames.
func wireMessages() []proto.Message {
	return []proto.Message{
		&messages.Ping{}, &messages.Pong{}, &messages.Digest{}, &messages.PeerId{},
		&messages.SyncRequest{}, &messages.SyncAccept{}, &messages.SyncResponse{}, &messages.CatalogState{},
	}
}

// FuzzUnmarshal decodes arbitrary payloads as each wire message: errors are
// ErrBadFrame, and whatever decodes re-encodes and decodes to an equal
// message.
func FuzzUnmarshal(f *testing.F) {
	for _, m := range []proto.Message{
		&messages.Ping{Nonce: 1, SentUnixNano: 2, Payload: []byte("x")},
		&messages.Pong{Nonce: 3},
		&messages.Digest{Value: make([]byte, 32)},
		&messages.PeerId{Value: make([]byte, 32)},
		&messages.SyncRequest{Only: &messages.PeerId{Value: make([]byte, 32)}, Push: true},
		&messages.SyncAccept{Proof: make([]byte, 32)},
		&messages.SyncResponse{State: &messages.CatalogState{Entries: []*messages.SignedPeerEntry{{Entry: []byte("e")}}}},
	} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xff, 0xff})
	f.Add([]byte{0x0a, 0x80})
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, m := range wireMessages() {
			if err := Unmarshal(in, m); err != nil {
				if !errors.Is(err, ErrBadFrame) {
					t.Fatalf("%T: undocumented error %v", m, err)
				}
				continue
			}
			again, err := proto.Marshal(m)
			if err != nil {
				t.Fatalf("%T: decoded message does not encode: %v", m, err)
			}
			back := m.ProtoReflect().New().Interface()
			if err := Unmarshal(again, back); err != nil || !proto.Equal(m, back) {
				t.Fatalf("%T: re-encoded message differs (%v)", m, err)
			}
		}
	})
}
