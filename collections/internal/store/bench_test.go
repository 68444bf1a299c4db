package store

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
)

// bigMap is a map of n 8-byte keys with 4-byte values.
func bigMap(n int) State {
	s := State{Kind: KindMap}
	e := new(Edit)
	for i := range n {
		k := binary.BigEndian.AppendUint64(nil, uint64(i)*2654435761)
		s, _ = s.ApplyEdit(e, Command{Op: OpInsert, Args: [][]byte{k, []byte("1000")}})
	}
	return s
}

func BenchmarkWriteSnapshot100k(b *testing.B) {
	s := bigMap(100_000)
	for b.Loop() {
		if err := WriteSnapshot(io.Discard, s, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadSnapshot100k(b *testing.B) {
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, bigMap(100_000), 1); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := ReadSnapshot(bytes.NewReader(buf.Bytes()), KindMap, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInsert is one insert into a map of 100k, alone (persistent)
// or in batches of 100 (one transient edit per batch).
func BenchmarkInsert(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(map[int]string{1: "persistent", 100: "batch100"}[batch], func(b *testing.B) {
			s := bigMap(100_000)
			i := 0
			var e *Edit
			for b.Loop() {
				if batch > 1 && i%batch == 0 {
					e = new(Edit)
				}
				k := binary.BigEndian.AppendUint64(nil, uint64(i)*11400714819323198485)
				s, _ = s.ApplyEdit(e, Command{Op: OpInsert, Args: [][]byte{k, []byte("1000")}})
				i++
			}
		})
	}
}
