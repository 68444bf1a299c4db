package raftbond

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	pb "github.com/lni/dragonboat/v4/raftpb"
)

// FuzzDeliver feeds arbitrary frames from alice: nothing may panic, every
// refusal is a documented error, and whatever reaches dragonboat passed
// the checks (alice's own address, only messages nodes exchange, chunks
// dragonboat can store).
func FuzzDeliver(f *testing.F) {
	batch := testBatch(alice)
	f.Add(frameOf(f, kindBatch, &batch))
	for _, c := range testChunks(2) {
		f.Add(frameOf(f, kindChunk, &c))
	}
	f.Add(frameOf(f, kindBatch, new(testBatch(carol))))
	f.Add(frameOf(f, kindBatch, &pb.MessageBatch{SourceAddress: alice.String()}))
	f.Add(frameOf(f, kindChunk, &pb.Chunk{}))
	good := frameOf(f, kindBatch, &batch)
	f.Add(append(append([]byte{kindBatch}, good[1:3+int(good[2])]...), 0x0a))
	f.Add([]byte{})
	f.Add([]byte{kindBatch})
	f.Add([]byte{kindChunk, 0xff})
	f.Add([]byte{7, 1, 2, 3})
	f.Add(compressedFrame(f, appendBatch(40, 2, func(i int) []byte { return []byte{byte(i)} })))
	f.Add([]byte{kindBatchS2, 0x80, 0x80, 0x80, 0x80, 0x01})

	b := newNode(f, bob, func(c *Config) { c.Gate = gate{alice: {1, 2, 3}} })
	f.Fuzz(func(t *testing.T, frame []byte) {
		before := b.t.Stats().Delivered
		err := b.factory.Deliver(alice, frame)
		switch {
		case err == nil:
			if b.t.Stats().Delivered == before {
				// An all-refused batch returns ErrNotAdmitted, an empty
				// one is delivered as nothing: both fine, but say so.
				if kind, _, _ := frameKind(frame); kind == kindChunk {
					t.Fatal("accepted a chunk without delivering it")
				}
			}
		case errors.Is(err, ErrBadFrame), errors.Is(err, ErrNotAdmitted):
		default:
			t.Fatalf("undocumented error %v", err)
		}
		b.sink.mu.Lock()
		batches, chunks := b.sink.batches, b.sink.chunks
		b.sink.batches, b.sink.chunks = nil, nil
		b.sink.mu.Unlock()
		for _, got := range batches {
			if got.SourceAddress != alice.String() {
				t.Fatalf("delivered a batch from %q", got.SourceAddress)
			}
			for _, m := range got.Requests {
				if !remoteType(m.Type) || m.To == 0 || m.From < 1 || m.From > 3 {
					t.Fatalf("delivered %v from %d to %d", m.Type, m.From, m.To)
				}
			}
		}
		for _, c := range chunks {
			if err := checkChunk(&c); err != nil || c.From < 1 || c.From > 3 {
				t.Fatalf("delivered chunk from %d: %v", c.From, err)
			}
		}
	})
}

// FuzzFrameRoundTrip decodes arbitrary frames from alice with the
// inbound decoders and re-encodes whatever they accept with the outbound
// encoders: the result decodes to an equal batch or chunk, and a batch
// split for any frame size comes back as frames within that size that
// carry its header and, in order, every message that fits.
func FuzzFrameRoundTrip(f *testing.F) {
	batch := testBatch(alice)
	f.Add(frameOf(f, kindBatch, &batch), uint16(200))
	f.Add(frameOf(f, kindChunk, &testChunks(1)[0]), uint16(0))
	f.Add([]byte{kindBatch}, uint16(1))
	f.Fuzz(func(t *testing.T, frame []byte, maxFrame uint16) {
		kind, payload, err := frameKind(frame)
		if err != nil {
			return
		}
		if kind == kindBatchS2 {
			if payload, err = inflate(nil, payload, 1<<20); err != nil {
				return
			}
		}
		if kind == kindChunk {
			c, err := decodeChunk(payload)
			if err != nil {
				return
			}
			again, err := encodeChunk(&c)
			if err != nil {
				t.Fatalf("accepted chunk does not encode: %v", err)
			}
			back, err := decodeChunk(again[1:])
			if err != nil || again[0] != kindChunk || !sameChunk(c, back) {
				t.Fatalf("chunk does not round trip: %v", err)
			}
			return
		}
		b, err := decodeBatch(alice, payload)
		if err != nil {
			return
		}
		frames, oversized, err := splitBatch(&b, int(maxFrame))
		if err != nil {
			t.Fatalf("accepted batch does not encode: %v", err)
		}
		var requests []pb.Message
		for i, fr := range frames {
			if len(fr) > int(maxFrame) {
				t.Fatalf("frame %d has %d bytes, limit %d", i, len(fr), maxFrame)
			}
			part, err := openBatchFrame(fr)
			if err != nil {
				t.Fatalf("frame %d does not decode: %v", i, err)
			}
			if part.DeploymentId != b.DeploymentId || part.BinVer != b.BinVer {
				t.Fatalf("frame %d lost the header: %+v", i, part)
			}
			requests = append(requests, part.Requests...)
		}
		if len(requests)+oversized != len(b.Requests) {
			t.Fatalf("%d messages and %d oversized from %d", len(requests), oversized, len(b.Requests))
		}
		if oversized == 0 && len(requests) > 0 && !reflect.DeepEqual(requests, b.Requests) {
			t.Fatal("messages changed in the round trip")
		}
	})
}

// compressedFrame is batch's frame, which must come out compressed.
func compressedFrame(tb testing.TB, batch pb.MessageBatch) []byte {
	tb.Helper()
	frame, err := encodeBatch(&batch)
	if err != nil {
		tb.Fatal(err)
	}
	if frame[0] != kindBatchS2 {
		tb.Fatalf("batch of %d bytes not compressed", batch.Size())
	}
	return frame
}

// openBatchFrame decodes a batch frame from alice, plain or compressed.
func openBatchFrame(frame []byte) (pb.MessageBatch, error) {
	kind, payload, err := frameKind(frame)
	switch {
	case err != nil:
		return pb.MessageBatch{}, err
	case kind == kindBatchS2:
		if payload, err = inflate(nil, payload, 1<<24); err != nil {
			return pb.MessageBatch{}, err
		}
	case kind != kindBatch:
		return pb.MessageBatch{}, fmt.Errorf("frame of kind %d", kind)
	}
	return decodeBatch(alice, payload)
}
