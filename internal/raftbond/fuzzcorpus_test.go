package raftbond

import (
	"testing"

	"github.com/klauspost/compress/s2"

	pb "github.com/lni/dragonboat/v4/raftpb"

	"github.com/mosaikgo/mosaik/internal/fuzzseed"
)

// TestFuzzCorpus keeps testdata/fuzz in step with the inputs below; see
// package fuzzseed. Chunks carry a membership map, whose encoding order
// varies, so the chunk seeds name one member only.
func TestFuzzCorpus(t *testing.T) {
	batch := testBatch(alice)
	batchFrame, err := encodeBatch(&batch)
	if err != nil {
		t.Fatal(err)
	}
	compressed := compressedFrame(t, appendBatch(40, 2, func(i int) []byte { return []byte{byte(i), 1, 2, 3} }))
	chunk := testChunks(1)[0]
	chunk.Membership.Addresses = map[uint64]string{1: alice.String()}
	chunkFrame, err := encodeChunk(&chunk)
	if err != nil {
		t.Fatal(err)
	}
	local := testBatch(alice)
	local.Requests = []pb.Message{{Type: pb.LocalTick, ShardID: 1, From: 1, To: 2}}
	unknownReplica := testBatch(alice)
	unknownReplica.Requests = []pb.Message{{Type: pb.Heartbeat, ShardID: 1, From: 9, To: 2}}
	poison := chunk
	poison.ChunkCount = pb.PoisonChunkCount
	escape := chunk
	escape.Filepath = "/snapshots/.."
	noConfig := chunk
	noConfig.Membership.ConfigChangeId = 0

	seeds := []fuzzseed.Seed{
		fuzzseed.Of("batch", batchFrame),
		fuzzseed.Of("batch-from-carol", frameOf(t, kindBatch, new(testBatch(carol)))),
		fuzzseed.Of("local-message", frameOf(t, kindBatch, &local)),
		fuzzseed.Of("unadmitted-replica", frameOf(t, kindBatch, &unknownReplica)),
		fuzzseed.Of("chunk", chunkFrame),
		fuzzseed.Of("poison-chunk", frameOf(t, kindChunk, &poison)),
		fuzzseed.Of("path-escape", frameOf(t, kindChunk, &escape)),
		fuzzseed.Of("no-config-change", frameOf(t, kindChunk, &noConfig)),
		fuzzseed.Of("batch-cut", fuzzseed.Cut(batchFrame, 9)),
		fuzzseed.Of("chunk-cut", fuzzseed.Cut(chunkFrame, 60)),
		fuzzseed.Of("unknown-kind", append([]byte{9}, batchFrame[1:]...)),
		fuzzseed.Of("compressed-batch", compressed),
		fuzzseed.Of("compressed-cut", fuzzseed.Cut(compressed, 40)),
		fuzzseed.Of("compressed-bomb", append([]byte{kindBatchS2}, s2.Encode(nil, make([]byte, 32<<20))...)),
	}
	fuzzseed.Sync(t, "FuzzDeliver", seeds...)

	sizes := []uint16{0, 100, 200, uint16(len(batchFrame)), 0xffff}
	var trips []fuzzseed.Seed
	for i, s := range seeds {
		trips = append(trips, fuzzseed.Of(s.Name, s.Args[0], sizes[i%len(sizes)]))
	}
	fuzzseed.Sync(t, "FuzzFrameRoundTrip", trips...)
}
