package raftbond

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"
)

// appendBatch is what a leader under load sends a follower: many appends
// in a row, each of a few 16-byte commands, with the fields dragonboat
// repeats in every message and entry.
func appendBatch(messages, entries int, cmd func(i int) []byte) pb.MessageBatch {
	b := pb.MessageBatch{SourceAddress: alice.String(), BinVer: raftio.TransportBinVersion, DeploymentId: 7}
	index := uint64(1000)
	for range messages {
		m := pb.Message{Type: pb.Replicate, ShardID: 0x5eed0001, From: 1, To: 2, Term: 4, LogTerm: 4, LogIndex: index, Commit: index - 3}
		for range entries {
			index++
			m.Entries = append(m.Entries, pb.Entry{Term: 4, Index: index, Type: pb.ApplicationEntry, ClientID: 0x1234567890, SeriesID: 1, Cmd: cmd(int(index))})
		}
		b.Requests = append(b.Requests, m)
	}
	return b
}

// TestEncodeBatchCompression checks when a batch frame is compressed and
// that every frame decodes back to the batch.
func TestEncodeBatchCompression(t *testing.T) {
	counter := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 16) }
	random := func(int) []byte { return []byte(rand.Text()[:16]) }
	tests := []struct {
		name       string
		batch      pb.MessageBatch
		kind       byte
		maxPercent int // the frame's size as a share of the plain one, at most
	}{
		{"small batch stays plain", testBatch(alice), kindBatch, 100},
		{"one short append stays plain", appendBatch(1, 2, counter), kindBatch, 100},
		{"appends under load", appendBatch(40, 2, counter), kindBatchS2, 50},
		{"appends of random commands", appendBatch(40, 2, random), kindBatchS2, 75},
		{"incompressible payload stays plain", pb.MessageBatch{SourceAddress: alice.String(), Requests: []pb.Message{
			{Type: pb.Replicate, From: 1, To: 2, Entries: []pb.Entry{{Index: 1, Cmd: randomBytes(t, 8192)}}}}}, kindBatch, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain := 1 + tt.batch.Size()
			frame, err := encodeBatch(&tt.batch)
			if err != nil {
				t.Fatal(err)
			}
			if frame[0] != tt.kind {
				t.Fatalf("frame kind %d, want %d (%d bytes plain)", frame[0], tt.kind, plain)
			}
			if len(frame) > plain || len(frame)*100 > plain*tt.maxPercent {
				t.Fatalf("frame of %d bytes for %d plain, want at most %d%%", len(frame), plain, tt.maxPercent)
			}
			t.Logf("%d bytes plain, %d in the frame", plain, len(frame))
			payload := frame[1:]
			if frame[0] == kindBatchS2 {
				if payload, err = inflate(nil, payload, plain); err != nil {
					t.Fatal(err)
				}
			}
			back, err := decodeBatch(alice, payload)
			if err != nil {
				t.Fatal(err)
			}
			// Batches of messages without snapshots encode canonically.
			if !bytes.Equal(marshalled(t, &tt.batch), marshalled(t, &back)) {
				t.Fatal("batch does not round trip")
			}
		})
	}
}

// TestInflateRefuses checks that a compressed batch is refused, before
// anything is allocated for it, when it would inflate past the limit, and
// that corrupt blocks are malformed frames.
func TestInflateRefuses(t *testing.T) {
	big := s2.Encode(nil, make([]byte, 1<<20)) // a megabyte of zeros: a few dozen bytes
	if _, err := inflate(nil, big, 1<<20-1); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("inflating past the limit: %v, want ErrBadFrame", err)
	}
	if got, err := inflate(nil, big, 1<<20); err != nil || len(got) != 1<<20 {
		t.Fatalf("inflating at the limit: %d bytes, %v", len(got), err)
	}
	for name, payload := range map[string][]byte{
		"empty":     {},
		"truncated": big[:len(big)/2],
		"garbage":   {0x10, 0xff, 0xff, 0xff, 0xff},
	} {
		if _, err := inflate(nil, payload, 1<<20); !errors.Is(err, ErrBadFrame) {
			t.Errorf("%s: %v, want ErrBadFrame", name, err)
		}
	}
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}
