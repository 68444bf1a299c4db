package streams

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// batchDatumsField is StreamBatch.datums (messages/streams.proto).
const batchDatumsField protowire.Number = 1

// appendBatch encodes payloads as a messages.StreamBatch, appended to buf.
// It writes the protobuf encoding by hand so that a batch costs one buffer
// and one copy of each payload.
func appendBatch(buf []byte, payloads [][]byte) []byte {
	for _, p := range payloads {
		buf = protowire.AppendTag(buf, batchDatumsField, protowire.BytesType)
		buf = protowire.AppendBytes(buf, p)
	}
	return buf
}

// batchSize is the encoded size of a StreamBatch holding payloads.
func batchSize(payloads [][]byte) int {
	n := 0
	for _, p := range payloads {
		n += protowire.SizeTag(batchDatumsField) + protowire.SizeBytes(len(p))
	}
	return n
}

// decodeBatch calls each for every datum of an encoded StreamBatch, in
// order; the slices alias frame. Unknown fields are skipped (a newer
// producer may add some); a malformed frame, or a datums field of the
// wrong wire type, is an error wrapping errDecode, and each's error stops
// the walk and is returned as is.
func decodeBatch(frame []byte, each func(datum []byte) error) error {
	for len(frame) > 0 {
		num, typ, n := protowire.ConsumeTag(frame)
		if n < 0 {
			return fmt.Errorf("%w: batch tag: %w", errDecode, protowire.ParseError(n))
		}
		if !num.IsValid() {
			return fmt.Errorf("%w: batch field number %d", errDecode, num)
		}
		frame = frame[n:]
		if num == batchDatumsField {
			if typ != protowire.BytesType {
				return fmt.Errorf("%w: batch datum has wire type %d", errDecode, typ)
			}
			v, n := protowire.ConsumeBytes(frame)
			if n < 0 {
				return fmt.Errorf("%w: batch datum: %w", errDecode, protowire.ParseError(n))
			}
			frame = frame[n:]
			if err := each(v); err != nil {
				return err
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, frame)
		if n < 0 {
			return fmt.Errorf("%w: batch field %d: %w", errDecode, num, protowire.ParseError(n))
		}
		frame = frame[n:]
	}
	return nil
}
