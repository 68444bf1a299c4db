package store

import (
	"bytes"
	"testing"

	"github.com/mosaikgo/mosaik/internal/fuzzseed"
)

// TestFuzzCorpus keeps testdata/fuzz in step with the inputs below; see
// package fuzzseed.
func TestFuzzCorpus(t *testing.T) {
	insert := cmd(OpInsert, "k", "v").Encode()
	upsert := cmd(OpUpsert, "a", "1", "x", "b", "\x00", "y").Encode()
	fuzzseed.Sync(t, "FuzzDecodeCommand",
		fuzzseed.Of("insert", insert),
		fuzzseed.Of("cas-nil-old", cmd(OpCompareExchange, "k", "<nil>", "v").Encode()),
		fuzzseed.Of("insert-at", Command{OpInsertAt, [][]byte{Uint(3), b("v")}}.Encode()),
		fuzzseed.Of("swap-far", Command{OpSwap, [][]byte{Uint(1 << 40), Uint(0)}}.Encode()),
		fuzzseed.Of("upsert", upsert),
		fuzzseed.Of("remove-range-open", cmd(OpRemoveRange, "<nil>", "\x00").Encode()),
		fuzzseed.Of("clear", cmd(OpClear).Encode()),
		fuzzseed.Of("cut", fuzzseed.Cut(insert, 3)),
		fuzzseed.Of("huge-count", []byte{byte(OpExtend), 0xff, 0xff, 0xff, 0xff, 0x0f}),
		fuzzseed.Of("huge-length", []byte{byte(OpInsert), 1, 0xff, 0xff, 0xff, 0xff, 0x0f}),
		fuzzseed.Of("unknown-op", []byte{0xee, 0}),
		fuzzseed.Of("trailing", append(cmd(OpClear).Encode(), 0)),
	)
	var snaps [][]byte
	for k := KindMap; k < kindEnd; k++ {
		s := State{Kind: k, Capacity: 2}
		for _, c := range seedFor(k) {
			s, _ = s.Apply(c)
		}
		var buf bytes.Buffer
		if err := WriteSnapshot(&buf, s, 7); err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, buf.Bytes())
	}
	fuzzseed.Sync(t, "FuzzReadSnapshot",
		fuzzseed.Of("map", byte(KindMap), snaps[0]),
		fuzzseed.Of("vec", byte(KindVec), snaps[1]),
		fuzzseed.Of("queue", byte(KindPriorityQueue), snaps[5]),
		fuzzseed.Of("map-cut", byte(KindMap), fuzzseed.Cut(snaps[0], 6)),
		fuzzseed.Of("huge-count", byte(KindMap), []byte(snapshotMagic+"\x01\x00\xff\xff\xff\xff\x0f")),
		fuzzseed.Of("unordered", byte(KindSet), []byte(snapshotMagic+"\x03\x00\x02\x01b\x00\x01a\x00")),
		fuzzseed.Of("bad-priority", byte(KindPriorityQueue), []byte(snapshotMagic+"\x06\x00\x01\x01a\x01\x09")),
	)
}
