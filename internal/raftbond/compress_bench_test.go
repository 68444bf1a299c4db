package raftbond

import (
	"bytes"
	"testing"
)

// BenchmarkBatchFrame is the cost of a loaded leader's batch frame (40
// appends of two 16-byte commands, about 5 KB) from encoding to decoded
// batch, compressed and plain; the frame's size is reported per frame.
func BenchmarkBatchFrame(b *testing.B) {
	batch := appendBatch(40, 2, func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 16) })
	for _, plain := range []bool{false, true} {
		name := "s2"
		if plain {
			name = "plain"
		}
		b.Run(name, func(b *testing.B) {
			var size int
			for b.Loop() {
				var frame []byte
				var err error
				if plain {
					frame = frameOf(b, kindBatch, &batch)
				} else if frame, err = encodeBatch(&batch); err != nil {
					b.Fatal(err)
				}
				size = len(frame)
				payload := frame[1:]
				if frame[0] == kindBatchS2 {
					if payload, err = inflate(nil, payload, 1<<20); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := decodeBatch(alice, payload); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(size), "frame-bytes")
		})
	}
}
