package quicnet

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/mosaikgo/mosaik/transport"
)

// choppyReader hands out its data in pieces of the given sizes, failing
// with a deadline error between pieces, as a stream read interrupted by a
// cancelled context does.
type choppyReader struct {
	data   []byte
	pieces []int
	pause  bool
}

func (r *choppyReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	if r.pause {
		r.pause = false
		return 0, os.ErrDeadlineExceeded
	}
	r.pause = true
	n := len(r.data)
	if len(r.pieces) > 0 {
		n = min(n, max(r.pieces[0], 1))
		r.pieces = r.pieces[1:]
	}
	n = copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// readAll drains src with fr, retrying after every deadline error, and
// returns the frames and the error that ended it.
func readAll(fr *frameReader, src io.Reader, maxFrame int, own bool) ([][]byte, error) {
	var frames [][]byte
	for {
		f, err := fr.next(src, maxFrame, own)
		switch {
		case err == nil:
			frames = append(frames, bytes.Clone(f))
		case errors.Is(err, os.ErrDeadlineExceeded):
		default:
			return frames, err
		}
	}
}

func TestFrameReaderResumes(t *testing.T) {
	var wire []byte
	want := [][]byte{{}, []byte("a"), bytes.Repeat([]byte("xyz"), 1000), []byte("last")}
	for _, f := range want {
		wire = transport.AppendFrame(wire, f)
	}
	for _, pieces := range [][]int{nil, {1}, {1, 1, 1, 1, 1, 1, 1}, {3, 2, 500, 7}, {4, 0, 4}} {
		for _, own := range []bool{false, true} {
			var fr frameReader
			got, err := readAll(&fr, &choppyReader{data: wire, pieces: append([]int(nil), pieces...)}, 1<<20, own)
			if !errors.Is(err, io.EOF) {
				t.Fatalf("pieces %v: ended with %v, want EOF between frames", pieces, err)
			}
			if len(got) != len(want) {
				t.Fatalf("pieces %v: %d frames, want %d", pieces, len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("pieces %v own %v: frame %d = %q, want %q", pieces, own, i, got[i], want[i])
				}
			}
		}
	}
}

func TestFrameReaderErrors(t *testing.T) {
	tests := []struct {
		name string
		wire []byte
		want error
	}{
		{"too large", transport.AppendFrame(nil, make([]byte, 11)), transport.ErrFrameTooLarge},
		{"cut in prefix", []byte{0, 0}, transport.ErrBadFrame},
		{"cut in payload", []byte{0, 0, 0, 5, 1, 2}, transport.ErrBadFrame},
		{"clean end", nil, io.EOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var fr frameReader
			_, err := readAll(&fr, &choppyReader{data: tc.wire, pieces: []int{1, 1, 1, 1, 1}}, 10, false)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestRecvFrameAfterInterruptedRecv starts a frame in the scratch buffer
// (Recv) and finishes it for RecvFrame, whose caller keeps the slice: it
// must not be the scratch buffer.
func TestRecvFrameAfterInterruptedRecv(t *testing.T) {
	wire := transport.AppendFrame(nil, []byte("hello"))
	wire = transport.AppendFrame(wire, []byte("world"))
	src := &choppyReader{data: wire, pieces: []int{6}}
	var fr frameReader
	if _, err := fr.next(src, 100, false); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("first read: %v", err)
	}
	kept, err := fr.next(src, 100, true)
	if err != nil || string(kept) != "hello" {
		t.Fatalf("owned read = %q, %v", kept, err)
	}
	for {
		f, err := fr.next(src, 100, false)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if err != nil || string(f) != "world" {
			t.Fatalf("scratch read = %q, %v", f, err)
		}
		break
	}
	if string(kept) != "hello" {
		t.Fatalf("kept frame overwritten: %q", kept)
	}
}

// FuzzFrameReader checks the resumable reader against transport.ReadFrame,
// the simple reference, on arbitrary bytes split at arbitrary points.
func FuzzFrameReader(f *testing.F) {
	f.Add(transport.AppendFrame(nil, []byte("seed")), []byte{1, 2, 3}, uint16(64))
	f.Add([]byte{0, 0, 1, 0, 9}, []byte{}, uint16(8))
	f.Fuzz(func(t *testing.T, wire []byte, cuts []byte, maxFrame uint16) {
		pieces := make([]int, len(cuts))
		for i, c := range cuts {
			pieces[i] = int(c)
		}
		var fr frameReader
		got, gotErr := readAll(&fr, &choppyReader{data: wire, pieces: pieces}, int(maxFrame), len(cuts)%2 == 0)

		var want [][]byte
		var wantErr error
		ref := bytes.NewReader(wire)
		for {
			p, err := transport.ReadFrame(ref, int(maxFrame))
			if err != nil {
				wantErr = err
				break
			}
			want = append(want, p)
		}
		if len(got) != len(want) {
			t.Fatalf("%d frames, reference %d", len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("frame %d differs from reference", i)
			}
		}
		for _, sentinel := range []error{io.EOF, transport.ErrBadFrame, transport.ErrFrameTooLarge} {
			if errors.Is(gotErr, sentinel) != errors.Is(wantErr, sentinel) {
				t.Fatalf("ended with %v, reference %v", gotErr, wantErr)
			}
		}
	})
}
