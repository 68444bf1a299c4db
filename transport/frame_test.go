package transport

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/mosaikgo/mosaik/messages"
)

func TestReadFrame(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		max     int
		want    []byte
		wantErr error
	}{
		{"empty payload", AppendFrame(nil, nil), 8, []byte{}, nil},
		{"payload", AppendFrame(nil, []byte("hello")), 8, []byte("hello"), nil},
		{"at the limit", AppendFrame(nil, []byte("12345678")), 8, []byte("12345678"), nil},
		{"over the limit", AppendFrame(nil, []byte("123456789")), 8, nil, ErrFrameTooLarge},
		{"huge length, no body", []byte{0xff, 0xff, 0xff, 0xff}, 1 << 20, nil, ErrFrameTooLarge},
		{"clean end", nil, 8, nil, io.EOF},
		{"truncated prefix", []byte{0, 0}, 8, nil, ErrBadFrame},
		{"truncated payload", []byte{0, 0, 0, 5, 'a', 'b'}, 8, nil, ErrBadFrame},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadFrame(bytes.NewReader(tc.in), tc.max)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("payload = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFramesBackToBack(t *testing.T) {
	var stream []byte
	for _, p := range []string{"a", "", "ccc"} {
		stream = AppendFrame(stream, []byte(p))
	}
	r := bytes.NewReader(stream)
	for _, want := range []string{"a", "", "ccc"} {
		got, err := ReadFrame(r, 16)
		if err != nil || string(got) != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	}
	if _, err := ReadFrame(r, 16); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

func TestMarshalChecksLimit(t *testing.T) {
	if _, err := Marshal(&messages.Ping{Payload: make([]byte, 100)}, 50); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("err = %v, want ErrFrameTooLarge", err)
	}
	b, err := Marshal(&messages.Ping{Nonce: 9}, 50)
	if err != nil {
		t.Fatal(err)
	}
	var m messages.Ping
	if err := Unmarshal(b, &m); err != nil || m.Nonce != 9 {
		t.Fatalf("round trip: %v %v", m.Nonce, err)
	}
	if err := Unmarshal([]byte{0xff}, &m); !errors.Is(err, ErrBadFrame) || !IsProtocolViolation(err) {
		t.Fatalf("garbage: %v, want ErrBadFrame", err)
	}
}

func TestCloseError(t *testing.T) {
	err := error(&CloseError{Code: CodeInvalidProof, Reason: "bad", Remote: true})
	if !errors.Is(err, &CloseError{Code: CodeInvalidProof}) {
		t.Fatal("errors.Is does not match by code")
	}
	if errors.Is(err, &CloseError{Code: CodeTimeout}) {
		t.Fatal("errors.Is matches another code")
	}
	if code, ok := CodeOf(err); !ok || code != CodeInvalidProof {
		t.Fatalf("CodeOf = %v %v", code, ok)
	}
	if _, ok := CodeOf(ErrClosed); ok {
		t.Fatal("CodeOf found a code in a plain error")
	}
	if got := err.Error(); got != "transport: link closed by peer: 30405 invalid proof: bad" {
		t.Fatalf("Error() = %q", got)
	}
	if CloseCode(7).String() != "code 7" {
		t.Fatalf("unnamed code prints %q", CloseCode(7).String())
	}
}
