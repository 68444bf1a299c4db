package statemachine

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/messages"
)

func TestDefaultCodecPicksProtoForMessages(t *testing.T) {
	msg := &messages.Ping{Nonce: 7, Payload: []byte("x")}
	for _, tc := range []struct {
		name  string
		codec Codec[*messages.Ping]
	}{
		{"default", DefaultCodec[*messages.Ping]()},
		{"proto", Proto[*messages.Ping]()},
		{"protocodecs", ProtoCodecs[*messages.Ping, *messages.Pong, *messages.Ping]().Command},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.codec.Encode(msg)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
			if string(b) != string(want) {
				t.Fatalf("encoded %x, want protobuf %x", b, want)
			}
			got, err := tc.codec.Decode(b)
			if err != nil || !proto.Equal(got, msg) {
				t.Fatalf("decoded %v, %v; want %v", got, err, msg)
			}
			if _, err := tc.codec.Decode([]byte{0xff}); !errors.Is(err, ErrCodec) {
				t.Fatalf("garbage: %v, want ErrCodec", err)
			}
		})
	}
}

func TestDefaultCodecPicksJSONOtherwise(t *testing.T) {
	type point struct{ X, Y int }
	for _, tc := range []struct {
		name string
		run  func() (string, error)
	}{
		{"int", func() (string, error) { return roundTrip(DefaultCodec[int64](), 42) }},
		{"struct", func() (string, error) { return roundTrip(DefaultCodec[point](), point{1, 2}) }},
		{"jsoncodecs", func() (string, error) { return roundTrip(JSONCodecs[point, int, string]().Command, point{3, 4}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.run()
			if err != nil {
				t.Fatal(err)
			}
			t.Log(got)
		})
	}
}

func roundTrip[T comparable](c Codec[T], v T) (string, error) {
	b, err := c.Encode(v)
	if err != nil {
		return "", err
	}
	back, err := c.Decode(b)
	if err != nil {
		return "", err
	}
	if back != v {
		return "", fmt.Errorf("round trip %v -> %s -> %v", v, b, back)
	}
	return string(b), nil
}

func TestCodecsWithDefaultsKeepsGiven(t *testing.T) {
	var custom Codec[string] = taggedCodec{jsonCodec[string]{}, 1}
	c := Codecs[int, string, bool]{Query: custom}.WithDefaults()
	if c.Command == nil || c.Result == nil {
		t.Fatal("nil codec left")
	}
	if c.Query != custom {
		t.Fatal("given codec replaced")
	}
}

type taggedCodec struct {
	jsonCodec[string]
	tag int
}
