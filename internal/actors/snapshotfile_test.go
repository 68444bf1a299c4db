package actors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	pb "github.com/lni/dragonboat/v4/raftpb"
)

// snapshotFile writes payload as dragonboat writes a version-2 snapshot
// file: header, checksummed blocks, tail.
func snapshotFile(t testing.TB, payload []byte) []byte {
	t.Helper()
	h := pb.SnapshotHeader{Version: 2, ChecksumType: pb.CRC32IEEE, UnreliableTime: 42}
	hb, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, snapshotHeaderSize)
	binary.LittleEndian.PutUint64(out, uint64(len(hb)))
	copy(out[8:], hb)
	var total uint64
	for len(payload) > 0 {
		n := min(len(payload), snapshotBlockSize)
		out = append(out, payload[:n]...)
		out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(payload[:n]))
		total += uint64(n) + snapshotCRCSize
		payload = payload[n:]
	}
	out = binary.LittleEndian.AppendUint64(out, total)
	return append(out, snapshotMagic...)
}

func TestCheckSnapshotFile(t *testing.T) {
	small := snapshotFile(t, []byte("the machine's own snapshot"))
	big := snapshotFile(t, bytes.Repeat([]byte("0123456789abcdef"), (5<<20)/16)) // three blocks
	empty := snapshotFile(t, nil)
	other := func() []byte { // a version this check does not know
		h := pb.SnapshotHeader{Version: 1}
		hb, _ := h.Marshal()
		b := make([]byte, snapshotHeaderSize+snapshotTailSize+10)
		binary.LittleEndian.PutUint64(b, uint64(len(hb)))
		copy(b[8:], hb)
		return b
	}()
	flip := func(b []byte, off int) []byte {
		b = bytes.Clone(b)
		b[off] ^= 0x01
		return b
	}
	for _, tc := range []struct {
		name string
		file []byte
		ok   bool
	}{
		{"small", small, true},
		{"three blocks", big, true},
		{"no payload", empty, true},
		{"an older version", other, true},
		{"truncated", small[:len(small)/2], false},
		{"cut by one byte", small[:len(small)-1], false},
		{"cut at a block boundary", append(bytes.Clone(big[:snapshotHeaderSize+snapshotBlockSize+snapshotCRCSize]), big[len(big)-snapshotTailSize:]...), false},
		{"a flipped data byte", flip(small, snapshotHeaderSize+2), false},
		{"a flipped byte in the second block", flip(big, snapshotHeaderSize+snapshotBlockSize+snapshotCRCSize+100), false},
		{"a flipped checksum", flip(small, len(small)-snapshotTailSize-1), false},
		{"a flipped tail", flip(small, len(small)-3), false},
		{"a header longer than its room", func() []byte {
			b := bytes.Clone(small)
			binary.LittleEndian.PutUint64(b, 5000)
			return b
		}(), false},
		{"a header that does not decode", func() []byte {
			b := bytes.Clone(small)
			copy(b[8:], bytes.Repeat([]byte{0xff}, 20))
			return b
		}(), false},
		{"nothing", nil, false},
	} {
		err := checkSnapshotFile(bytes.NewReader(tc.file), int64(len(tc.file)))
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, errBadSnapshot)) {
			t.Errorf("%s: %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// FuzzSnapshotFile feeds arbitrary bytes as a snapshot file from the data
// directory: the check never panics, and refuses with errBadSnapshot.
func FuzzSnapshotFile(f *testing.F) {
	f.Add(snapshotFile(f, []byte("seed")))
	f.Add(snapshotFile(f, nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := checkSnapshotFile(bytes.NewReader(b), int64(len(b))); err != nil && !errors.Is(err, errBadSnapshot) {
			t.Fatalf("undocumented error %v", err)
		}
	})
}
