package statemachine

import (
	"encoding/json"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
)

// ErrCodec wraps every encoding and decoding failure.
var ErrCodec = errors.New("statemachine: codec")

// Codec turns values of one type into bytes and back. Encode must be
// deterministic for commands: the bytes are what gets replicated.
type Codec[T any] interface {
	Encode(v T) ([]byte, error)
	Decode(b []byte) (T, error)
}

// Proto returns the codec for a protobuf message type M (a pointer type
// such as *messages.Ping). Encoding is deterministic.
func Proto[M proto.Message]() Codec[M] { return protoCodec[M]{} }

type protoCodec[M proto.Message] struct{}

func (protoCodec[M]) Encode(v M) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: encode %T: %w", ErrCodec, v, err)
	}
	return b, nil
}

func (protoCodec[M]) Decode(b []byte) (M, error) {
	var zero M
	// A nil *T still reports its message type, which builds a fresh value.
	m := zero.ProtoReflect().Type().New().Interface().(M)
	if err := proto.Unmarshal(b, m); err != nil {
		return zero, fmt.Errorf("%w: decode %T: %w", ErrCodec, zero, err)
	}
	return m, nil
}

// JSON returns a codec for plain Go values through encoding/json. Use it
// for commands only with types whose encoding is deterministic (structs,
// slices and scalars; maps are encoded with sorted keys, which is fine).
func JSON[T any]() Codec[T] { return jsonCodec[T]{} }

type jsonCodec[T any] struct{}

func (jsonCodec[T]) Encode(v T) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: encode %T: %w", ErrCodec, v, err)
	}
	return b, nil
}

func (jsonCodec[T]) Decode(b []byte) (T, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("%w: decode %T: %w", ErrCodec, v, err)
	}
	return v, nil
}

// Codecs bundles the three codecs a typed machine needs.
type Codecs[C, Q, R any] struct {
	Command Codec[C]
	Query   Codec[Q]
	Result  Codec[R]
}

// JSONCodecs returns the three codecs for plain Go values, all through
// encoding/json: JSONCodecs[Cmd, Q, R]() instead of spelling out JSON three
// times. Go cannot infer the type arguments from the assignment, so they
// are written once.
func JSONCodecs[C, Q, R any]() Codecs[C, Q, R] {
	return Codecs[C, Q, R]{Command: JSON[C](), Query: JSON[Q](), Result: JSON[R]()}
}

// ProtoCodecs returns the three codecs for protobuf message types (pointer
// types such as *mypb.Transfer).
func ProtoCodecs[C, Q, R proto.Message]() Codecs[C, Q, R] {
	return Codecs[C, Q, R]{Command: Proto[C](), Query: Proto[Q](), Result: Proto[R]()}
}

// DefaultCodec returns the codec used for a type when none is given:
// [Proto] when T is a protobuf message type, [JSON] otherwise.
func DefaultCodec[T any]() Codec[T] {
	var zero T
	if _, ok := any(zero).(proto.Message); ok {
		return protoAnyCodec[T]{}
	}
	return JSON[T]()
}

// WithDefaults fills each nil codec with [DefaultCodec] of its type.
func (c Codecs[C, Q, R]) WithDefaults() Codecs[C, Q, R] {
	if c.Command == nil {
		c.Command = DefaultCodec[C]()
	}
	if c.Query == nil {
		c.Query = DefaultCodec[Q]()
	}
	if c.Result == nil {
		c.Result = DefaultCodec[R]()
	}
	return c
}

// protoAnyCodec is [Proto] for a type parameter not constrained to
// proto.Message, which DefaultCodec has checked at run time.
type protoAnyCodec[T any] struct{}

func (protoAnyCodec[T]) Encode(v T) ([]byte, error) {
	m, _ := any(v).(proto.Message)
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%w: encode %T: %w", ErrCodec, v, err)
	}
	return b, nil
}

func (protoAnyCodec[T]) Decode(b []byte) (T, error) {
	var zero T
	m := any(zero).(proto.Message).ProtoReflect().Type().New().Interface()
	if err := proto.Unmarshal(b, m); err != nil {
		return zero, fmt.Errorf("%w: decode %T: %w", ErrCodec, zero, err)
	}
	return m.(T), nil
}
