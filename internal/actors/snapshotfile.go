package actors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	pb "github.com/lni/dragonboat/v4/raftpb"
)

// dragonboat panics, on one of its engine goroutines where nothing can
// recover, when a replica restarts from a snapshot file it cannot read:
// the whole node goes down over one damaged file. So before a replica
// restarts from the data directory, its snapshot files are read through
// once here and checked the way dragonboat's reader checks them, and a
// damaged one fails the group with ErrCorruptDataDir instead.
//
// The file format is dragonboat's version 2 (internal/rsm/snapshotio.go
// and rwv.go, which are not importable): a 1024-byte header (an 8-byte
// little-endian length, then a raftpb.SnapshotHeader), the payload in
// blocks of at most 2 MiB each followed by its CRC-32 (IEEE, big-endian),
// and a 16-byte tail: the payload's length in bytes, little-endian, and a
// magic number.
const (
	snapshotHeaderSize = 1024
	snapshotBlockSize  = 2 << 20
	snapshotTailSize   = 16
	snapshotCRCSize    = 4
)

// snapshotMagic ends every version-2 snapshot file.
var snapshotMagic = []byte{0x3F, 0x5B, 0xCB, 0xF1, 0xFA, 0xBA, 0x81, 0x9F}

// errBadSnapshot is wrapped, with the reason, by checkSnapshotFile.
var errBadSnapshot = errors.New("damaged snapshot file")

// checkReplicaSnapshots checks every snapshot file the data directory
// holds for one replica of one shard; the error names the first damaged
// file and matches ErrCorruptDataDir.
func checkReplicaSnapshots(dataDir string, shard, replica uint64) error {
	want := fmt.Sprintf("snapshot-%d-%d", shard, replica)
	return filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrCorruptDataDir, path, err)
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".gbsnap") || !strings.Contains(path, string(filepath.Separator)+want+string(filepath.Separator)) {
			return nil
		}
		// A snapshot still being written (or whose writing a crash cut
		// off) lives in a directory dragonboat marks as temporary and
		// removes itself.
		if strings.Contains(filepath.Base(filepath.Dir(path)), ".generating") || strings.Contains(filepath.Base(filepath.Dir(path)), ".receiving") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrCorruptDataDir, path, err)
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrCorruptDataDir, path, err)
		}
		if err := checkSnapshotFile(f, info.Size()); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrCorruptDataDir, path, err)
		}
		return nil
	})
}

// checkSnapshotFile reads a snapshot file of size bytes from r and checks
// its header, every block's checksum and its tail. Versions and checksum
// types it does not know are not checked (dragonboat writes version 2
// with CRC-32 only).
func checkSnapshotFile(r io.ReaderAt, size int64) error {
	if size < snapshotHeaderSize+snapshotTailSize {
		return fmt.Errorf("%w: %d bytes, shorter than header and tail", errBadSnapshot, size)
	}
	var head [snapshotHeaderSize]byte
	if _, err := r.ReadAt(head[:], 0); err != nil {
		return fmt.Errorf("%w: header: %w", errBadSnapshot, err)
	}
	n := binary.LittleEndian.Uint64(head[:8])
	if n > snapshotHeaderSize-8-snapshotCRCSize {
		return fmt.Errorf("%w: header of %d bytes", errBadSnapshot, n)
	}
	var h pb.SnapshotHeader
	if err := unmarshalSnapshotHeader(&h, head[8:8+n]); err != nil {
		return fmt.Errorf("%w: header: %w", errBadSnapshot, err)
	}
	if h.Version != 2 || h.ChecksumType != pb.CRC32IEEE {
		return nil
	}
	var tail [snapshotTailSize]byte
	if _, err := r.ReadAt(tail[:], size-snapshotTailSize); err != nil {
		return fmt.Errorf("%w: tail: %w", errBadSnapshot, err)
	}
	payload := size - snapshotHeaderSize - snapshotTailSize
	if !bytes.Equal(tail[8:], snapshotMagic) || binary.LittleEndian.Uint64(tail[:8]) != uint64(payload) {
		return fmt.Errorf("%w: the tail does not match the file's %d bytes (cut short?)", errBadSnapshot, size)
	}
	br := bufio.NewReaderSize(io.NewSectionReader(r, snapshotHeaderSize, payload), 64<<10)
	block := make([]byte, 0, snapshotBlockSize+snapshotCRCSize)
	for off := int64(0); off < payload; {
		take := min(payload-off, snapshotBlockSize+snapshotCRCSize)
		if take <= snapshotCRCSize {
			return fmt.Errorf("%w: a block of %d bytes at %d", errBadSnapshot, take, off)
		}
		block = block[:take]
		if _, err := io.ReadFull(br, block); err != nil {
			return fmt.Errorf("%w: block at %d: %w", errBadSnapshot, off, err)
		}
		data, sum := block[:take-snapshotCRCSize], block[take-snapshotCRCSize:]
		if crc32.ChecksumIEEE(data) != binary.BigEndian.Uint32(sum) {
			return fmt.Errorf("%w: block at %d fails its checksum", errBadSnapshot, off)
		}
		off += take
	}
	return nil
}

// unmarshalSnapshotHeader decodes a header, turning a panic of the
// generated decoder (which trusts lengths) into an error.
func unmarshalSnapshotHeader(h *pb.SnapshotHeader, b []byte) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("undecodable: %v", v)
		}
	}()
	return h.Unmarshal(b)
}
