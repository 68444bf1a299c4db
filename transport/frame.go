package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"
)

// FrameHeaderSize is the length prefix of every frame: a big-endian uint32.
const FrameHeaderSize = 4

// DefaultMaxFrameSize bounds a frame's payload unless an endpoint's config
// says otherwise. It leaves room for Raft snapshot chunks (dragonboat's are
// 2 MiB by default) and batches of entries.
const DefaultMaxFrameSize = 16 << 20

// DefaultFirstFrameSize bounds the payload of the first frame a link
// receives, in either direction, unless an endpoint's config says
// otherwise. The first frame is what a peer sends before any protocol has
// authenticated it (a bond's HandshakeStart or HandshakeEnd, a catalog
// sync's request or acceptance), so it is what an outsider controls: every
// mosaik protocol fits its opening message in far less, and authenticates
// the peer on it before reading more. 64 KiB leaves room for a handshake
// naming a thousand known bonds.
const DefaultFirstFrameSize = 64 << 10

// payloadChunk is the first allocation for a frame's payload; see
// [GrowPayload].
const payloadChunk = 32 << 10

// AppendFrame appends the frame for payload to dst: the length prefix, then
// the payload.
func AppendFrame(dst, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// ReadFrame reads one frame from r and returns its payload. A length over
// maxSize fails with ErrFrameTooLarge before anything more is read; a frame
// cut short fails with ErrBadFrame. io.EOF is returned as is when r ends
// cleanly between frames.
func ReadFrame(r io.Reader, maxSize int) ([]byte, error) {
	var hdr [FrameHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: truncated length prefix", ErrBadFrame)
		}
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if uint64(n) > uint64(maxSize) {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, maxSize)
	}
	payload := make([]byte, 0, min(int(n), payloadChunk))
	for len(payload) < int(n) {
		payload = GrowPayload(payload, int(n))
		k, err := io.ReadFull(r, payload[len(payload):min(cap(payload), int(n))])
		payload = payload[:len(payload)+k]
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("%w: truncated payload (%d bytes announced)", ErrBadFrame, n)
			}
			return nil, err
		}
	}
	return payload, nil
}

// GrowPayload makes room in buf for more of a payload whose announced
// length is size, once buf is full: the first 32 KiB, then twice the
// capacity, never past size. Readers of frames call it as bytes arrive
// instead of allocating the announced length at once, so that a peer
// that announces a large frame and sends little of it (or nothing) costs
// little memory, and a real large frame costs at most one extra copy of
// itself.
func GrowPayload(buf []byte, size int) []byte {
	if len(buf) < cap(buf) || len(buf) >= size {
		return buf
	}
	next := min(max(2*cap(buf), payloadChunk), size)
	grown := make([]byte, len(buf), next)
	copy(grown, buf)
	return grown
}

// Marshal encodes msg as a frame payload, checking it against maxSize.
func Marshal(msg proto.Message, maxSize int) ([]byte, error) {
	b, err := proto.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("transport: encode %T: %w", msg, err)
	}
	if len(b) > maxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, len(b), maxSize)
	}
	return b, nil
}

// Unmarshal decodes a frame payload into msg, reporting failures as
// ErrBadFrame.
func Unmarshal(payload []byte, msg proto.Message) error {
	if err := proto.Unmarshal(payload, msg); err != nil {
		return fmt.Errorf("%w: %T: %w", ErrBadFrame, msg, err)
	}
	return nil
}

// IsProtocolViolation reports whether err is a receive error that obliges
// the reader to close the link with [CodeProtocolViolation].
func IsProtocolViolation(err error) bool {
	return errors.Is(err, ErrFrameTooLarge) || errors.Is(err, ErrBadFrame)
}
