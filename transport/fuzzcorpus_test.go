package transport

import (
	"bytes"
	"encoding/binary"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/internal/fuzzseed"
	"github.com/mosaikgo/mosaik/messages"
)

// TestFuzzCorpus keeps testdata/fuzz in step with the inputs below; see
// package fuzzseed.
func TestFuzzCorpus(t *testing.T) {
	two := AppendFrame(AppendFrame(nil, []byte("first")), []byte("second"))
	full := AppendFrame(nil, bytes.Repeat([]byte{0xab}, 1<<10)) // exactly FuzzReadFrame's limit
	prefix := func(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }
	fuzzseed.Sync(t, "FuzzReadFrame",
		fuzzseed.Of("two-frames", two),
		fuzzseed.Of("empty-frame", AppendFrame(nil, nil)),
		fuzzseed.Of("at-limit", full),
		fuzzseed.Of("over-limit", append(prefix(1<<10+1), 0)),
		fuzzseed.Of("max-prefix", prefix(0xffffffff)),
		fuzzseed.Of("cut-in-prefix", fuzzseed.Cut(two, len(two)-2)),
		fuzzseed.Of("cut-in-payload", fuzzseed.Cut(two, 3)),
		fuzzseed.Of("payload-missing", prefix(5)),
	)

	ping := marshal(t, &messages.Ping{Nonce: 1 << 40, SentUnixNano: 1_700_000_000_000_000_000, Payload: []byte("payload")})
	sync := marshal(t, &messages.SyncRequest{
		NetworkId: &messages.Digest{Value: bytes.Repeat([]byte{1}, 32)},
		Proof:     bytes.Repeat([]byte{2}, 32),
		Only:      &messages.PeerId{Value: bytes.Repeat([]byte{3}, 32)},
		Push:      true,
	})
	state := marshal(t, &messages.CatalogState{
		NetworkId: &messages.Digest{Value: bytes.Repeat([]byte{1}, 32)},
		Entries:   []*messages.SignedPeerEntry{{Entry: []byte("entry"), Signature: bytes.Repeat([]byte{2}, 64)}},
	})
	fuzzseed.Sync(t, "FuzzUnmarshal",
		fuzzseed.Of("ping", ping),
		fuzzseed.Of("ping-cut", fuzzseed.Cut(ping, 3)),
		fuzzseed.Of("sync-request", sync),
		fuzzseed.Of("sync-request-cut", fuzzseed.Cut(sync, 40)),
		fuzzseed.Of("sync-accept", marshal(t, &messages.SyncAccept{Proof: bytes.Repeat([]byte{4}, 32)})),
		fuzzseed.Of("catalog-state", state),
		fuzzseed.Of("huge-length", []byte{0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f}),
		fuzzseed.Of("overlong-varint", []byte{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}),
		fuzzseed.Of("group-wire-type", []byte{0x0b, 0x0c}),
		fuzzseed.Of("field-zero", []byte{0x00, 0x01}),
	)
}

func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
