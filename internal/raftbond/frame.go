package raftbond

import (
	"errors"
	"fmt"
	"math/bits"
	"path"
	"slices"
	"sync"

	"github.com/klauspost/compress/s2"
	pb "github.com/lni/dragonboat/v4/raftpb"

	"github.com/mosaikgo/mosaik/id"
)

// Frame kinds: the first byte of every Raft frame. Zero is never sent, so
// an empty or zeroed frame is recognisably bad.
const (
	kindBatch   byte = 1 // raftpb.MessageBatch
	kindChunk   byte = 2 // raftpb.Chunk of a snapshot
	kindBatchS2 byte = 3 // raftpb.MessageBatch, compressed as one S2 block
)

// compressFrom is the encoded size from which a batch is compressed. Below
// it, a batch is a lone heartbeat, vote or short append, latency-bound
// and too small to gain. Above it, the batch is many appends in a row,
// whose headers and entries repeat terms, indexes and client fields:
// compressed, it takes a fraction of the QUIC packets, and each packet
// costs far more CPU (encryption, acknowledgement, a syscall share) than
// compressing its bytes does.
const compressFrom = 2048

// scratch holds the buffers a batch passes through on its way: marshalled
// and compressed before it is copied into its frame, inflated before it is
// unmarshalled (dragonboat's unmarshalling copies every byte field, so the
// buffer is free again once it returns). Buffers grown past maxScratch are
// dropped rather than kept, so that one huge batch does not pin its memory.
var scratch = sync.Pool{New: func() any { return new([]byte) }}

const maxScratch = 1 << 20

// getScratch takes a buffer from scratch; putScratch returns it, as grown
// to used, unless it has grown too large to keep.
func getScratch() *[]byte { return scratch.Get().(*[]byte) }

func putScratch(buf *[]byte, used []byte) {
	if cap(used) <= maxScratch {
		*buf = used[:0]
		scratch.Put(buf)
	}
}

// Errors of the inbound side.
var (
	// ErrBadFrame: the frame does not decode, or carries something no
	// honest dragonboat sends over the network. The bond layer should
	// treat it as a protocol violation.
	ErrBadFrame = errors.New("raftbond: malformed raft frame")
	// ErrSourceMismatch: a batch names a source address other than the
	// peer whose bond carried it. It is also an ErrBadFrame.
	ErrSourceMismatch = fmt.Errorf("%w: source address is not the sending peer", ErrBadFrame)
	// ErrNotAdmitted: the [Gate] refused some of the frame's messages
	// (the rest were delivered). It can be a benign race with a
	// membership change, so it is not an ErrBadFrame.
	ErrNotAdmitted = errors.New("raftbond: replica not admitted for peer")
	// ErrTooLarge: a snapshot chunk does not fit in one frame.
	ErrTooLarge = errors.New("raftbond: frame too large")
)

// encodeBatch marshals b into one frame, compressed when it is at least
// compressFrom bytes and compression saves at least an eighth. The frame
// shares nothing with b, whose buffers dragonboat reuses as soon as
// SendMessageBatch returns, and it is never larger than 1+b.Size().
func encodeBatch(b *pb.MessageBatch) ([]byte, error) {
	size := b.Size()
	if size < compressFrom {
		frame := make([]byte, 1+size)
		frame[0] = kindBatch
		n, err := b.MarshalTo(frame[1:])
		if err != nil {
			return nil, fmt.Errorf("raftbond: marshal batch: %w", err)
		}
		return frame[:1+n], nil
	}
	rawBuf, packedBuf := getScratch(), getScratch()
	raw := slices.Grow((*rawBuf)[:0], size)[:size]
	defer func() { putScratch(rawBuf, raw) }()
	n, err := b.MarshalTo(raw)
	if err != nil {
		return nil, fmt.Errorf("raftbond: marshal batch: %w", err)
	}
	raw = raw[:n]
	// Compressed into scratch, then copied into a frame of its size: a
	// frame sized for the worst case would be four times too large for
	// the typical batch, and garbage as soon as it is sent.
	bound := s2.MaxEncodedLen(n)
	packed := s2.Encode(slices.Grow((*packedBuf)[:0], bound)[:bound], raw)
	defer func() { putScratch(packedBuf, packed) }()
	if len(packed) <= n-n/8 {
		return append([]byte{kindBatchS2}, packed...), nil
	}
	return append([]byte{kindBatch}, raw...), nil
}

// inflate returns the batch a kindBatchS2 payload carries, decoded into
// dst (grown as needed), refusing one that would decode to more than limit
// bytes before allocating for it.
func inflate(dst, payload []byte, limit int) ([]byte, error) {
	n, err := s2.DecodedLen(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: compressed batch: %w", ErrBadFrame, err)
	}
	if n > limit {
		return nil, fmt.Errorf("%w: compressed batch of %d bytes inflates to %d, limit %d", ErrBadFrame, len(payload), n, limit)
	}
	raw, err := s2.Decode(slices.Grow(dst[:0], n)[:n], payload)
	if err != nil {
		return nil, fmt.Errorf("%w: compressed batch: %w", ErrBadFrame, err)
	}
	return raw, nil
}

// encodeChunk marshals c into one frame (c.Data is copied).
func encodeChunk(c *pb.Chunk) ([]byte, error) {
	frame := make([]byte, 1+c.Size())
	frame[0] = kindChunk
	n, err := c.MarshalTo(frame[1:])
	if err != nil {
		return nil, fmt.Errorf("raftbond: marshal chunk: %w", err)
	}
	return frame[:1+n], nil
}

// splitBatch marshals b into frames of at most maxFrame bytes each. Most
// batches make one frame; a larger one is cut between messages, keeping
// their order, each part carrying b's header. A single message that
// cannot fit in any frame is left out and counted in oversized.
func splitBatch(b *pb.MessageBatch, maxFrame int) (frames [][]byte, oversized int, err error) {
	if 1+b.Size() <= maxFrame {
		f, err := encodeBatch(b)
		if err != nil {
			return nil, 0, err
		}
		return [][]byte{f}, 0, nil
	}
	part := pb.MessageBatch{DeploymentId: b.DeploymentId, SourceAddress: b.SourceAddress, BinVer: b.BinVer}
	header := 1 + part.Size()
	size := header
	flush := func() error {
		if len(part.Requests) == 0 {
			return nil
		}
		f, err := encodeBatch(&part)
		if err != nil {
			return err
		}
		frames = append(frames, f)
		part.Requests, size = nil, header
		return nil
	}
	for i := range b.Requests {
		m := &b.Requests[i]
		n := m.Size()
		n += 1 + varintLen(uint64(n)) // field tag and length prefix
		if header+n > maxFrame {
			oversized++
			continue
		}
		if size+n > maxFrame {
			if err := flush(); err != nil {
				return nil, 0, err
			}
		}
		part.Requests = append(part.Requests, *m)
		size += n
	}
	if err := flush(); err != nil {
		return nil, 0, err
	}
	return frames, oversized, nil
}

func varintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// frameKind returns the kind byte and the rest of a frame.
func frameKind(frame []byte) (byte, []byte, error) {
	if len(frame) == 0 {
		return 0, nil, fmt.Errorf("%w: empty", ErrBadFrame)
	}
	switch frame[0] {
	case kindBatch, kindChunk, kindBatchS2:
		return frame[0], frame[1:], nil
	}
	return 0, nil, fmt.Errorf("%w: unknown kind %d", ErrBadFrame, frame[0])
}

// decodeBatch unmarshals a batch from the network and checks that every
// message in it is one that peers exchange: dragonboat panics on some
// messages that only it creates locally, and trusts the source address.
func decodeBatch(from id.PeerID, payload []byte) (pb.MessageBatch, error) {
	var b pb.MessageBatch
	if err := unmarshal(&b, payload); err != nil {
		return pb.MessageBatch{}, fmt.Errorf("%w: batch: %w", ErrBadFrame, err)
	}
	if b.SourceAddress != from.String() {
		return pb.MessageBatch{}, fmt.Errorf("%w: %q from %s", ErrSourceMismatch, trim(b.SourceAddress), from.Short())
	}
	for i := range b.Requests {
		m := &b.Requests[i]
		if !remoteType(m.Type) {
			return pb.MessageBatch{}, fmt.Errorf("%w: message type %v is not sent between nodes", ErrBadFrame, m.Type)
		}
		if m.To == 0 || m.From == 0 {
			return pb.MessageBatch{}, fmt.Errorf("%w: %v message without sender or recipient", ErrBadFrame, m.Type)
		}
	}
	return b, nil
}

// decodeChunk unmarshals a snapshot chunk from the network and checks the
// fields dragonboat's receiving side relies on without checking (each
// check below guards a panic found in dragonboat's receive path; chunk
// numbering is dragonboat's to check, and it does).
func decodeChunk(payload []byte) (pb.Chunk, error) {
	var c pb.Chunk
	if err := unmarshal(&c, payload); err != nil {
		return pb.Chunk{}, fmt.Errorf("%w: chunk: %w", ErrBadFrame, err)
	}
	if err := checkChunk(&c); err != nil {
		return pb.Chunk{}, fmt.Errorf("%w: chunk: %w", ErrBadFrame, err)
	}
	return c, nil
}

func checkChunk(c *pb.Chunk) error {
	switch {
	case c.From == 0 || c.ReplicaID == 0:
		return errors.New("no sender or recipient")
	case c.IsPoisonChunk():
		return errors.New("poison chunk (local only)")
	case c.Membership.ConfigChangeId == 0:
		// dragonboat panics restoring a snapshot without one.
		return errors.New("membership without config change id")
	}
	// The receiver names its file after the base of Filepath, inside the
	// snapshot's directory; a name that is not a plain file name makes
	// dragonboat panic on the write.
	if base := path.Base(c.Filepath); c.Filepath == "" || base == "." || base == ".." || base == "/" {
		return fmt.Errorf("file path %q", trim(c.Filepath))
	}
	return nil
}

// unmarshal runs dragonboat's generated decoder, which indexes past the end
// of some truncated inputs: a panic there is malformed input, not a bug of
// ours, and must not take the node down.
func unmarshal(m interface{ Unmarshal([]byte) error }, b []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder panicked: %v", r)
		}
	}()
	return m.Unmarshal(b)
}

// remoteType reports whether nodes send messages of type t to each other.
// Everything else is local to a node (dragonboat panics stepping some of
// them) or travels another way (InstallSnapshot goes as chunks).
func remoteType(t pb.MessageType) bool {
	switch t {
	case pb.Replicate, pb.ReplicateResp,
		pb.RequestVote, pb.RequestVoteResp,
		pb.RequestPreVote, pb.RequestPreVoteResp,
		pb.Heartbeat, pb.HeartbeatResp,
		pb.ReadIndex, pb.ReadIndexResp,
		pb.Propose, pb.LeaderTransfer, pb.TimeoutNow,
		pb.RateLimit, pb.NoOP, pb.Quiesce, pb.SnapshotReceived:
		return true
	}
	return false
}

// trim bounds peer-supplied text in error messages.
func trim(s string) string {
	const limit = 80
	if len(s) > limit {
		return s[:limit] + "…"
	}
	return s
}
