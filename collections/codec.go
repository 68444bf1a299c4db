package collections

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"

	"github.com/mosaikgo/mosaik/statemachine"
)

// Keys (and priorities) are stored encoded and ordered bytewise, so
// their codec decides iteration order. Keys of Go's ordered kinds
// (integers, floats, strings, and types defined on them) are encoded
// order-preservingly, so a Map[int, V] iterates in numeric order; other
// key types are encoded as JSON and iterate in the order of their JSON
// bytes (deterministic, but not meaningful).

// keyCodec returns the codec for keys of type K and a name for the
// state machine signature.
func keyCodec[K any]() (statemachine.Codec[K], string) {
	t := reflect.TypeFor[K]()
	if orderedKind(t.Kind()) {
		return orderedCodec[K]{}, "ordered:" + t.String()
	}
	return statemachine.JSON[K](), "json:" + t.String()
}

// valueCodec returns the codec for values of type V and its name.
func valueCodec[V any]() (statemachine.Codec[V], string) {
	return statemachine.JSON[V](), "json:" + reflect.TypeFor[V]().String()
}

// priorityCodec is the order-preserving codec of a priority type.
func priorityCodec[P cmp.Ordered]() (statemachine.Codec[P], string) {
	return orderedCodec[P]{}, "ordered:" + reflect.TypeFor[P]().String()
}

func orderedKind(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	}
	return false
}

// orderedCodec encodes ordered values so that bytewise order is their
// order: integers as 8 big-endian bytes (signed ones with the sign bit
// flipped), floats by their IEEE bits (negative ones inverted; NaN sorts
// above +Inf), strings as their bytes.
type orderedCodec[T any] struct{}

func (orderedCodec[T]) Encode(v T) ([]byte, error) {
	rv := reflect.ValueOf(&v).Elem()
	switch k := rv.Kind(); {
	case k == reflect.String:
		return []byte(rv.String()), nil
	case k >= reflect.Int && k <= reflect.Int64:
		return binary.BigEndian.AppendUint64(nil, uint64(rv.Int())^(1<<63)), nil
	case k >= reflect.Uint && k <= reflect.Uintptr:
		return binary.BigEndian.AppendUint64(nil, rv.Uint()), nil
	case k == reflect.Float32 || k == reflect.Float64:
		bits := math.Float64bits(rv.Float())
		if bits&(1<<63) != 0 {
			bits = ^bits
		} else {
			bits |= 1 << 63
		}
		return binary.BigEndian.AppendUint64(nil, bits), nil
	}
	return nil, fmt.Errorf("%w: %T is not an ordered type", statemachine.ErrCodec, v)
}

func (orderedCodec[T]) Decode(b []byte) (T, error) {
	var v T
	rv := reflect.ValueOf(&v).Elem()
	k := rv.Kind()
	if k == reflect.String {
		rv.SetString(string(b))
		return v, nil
	}
	if len(b) != 8 {
		return v, fmt.Errorf("%w: %T takes 8 bytes, got %d", statemachine.ErrCodec, v, len(b))
	}
	u := binary.BigEndian.Uint64(b)
	switch {
	case k >= reflect.Int && k <= reflect.Int64:
		x := int64(u ^ (1 << 63))
		if rv.OverflowInt(x) {
			return v, fmt.Errorf("%w: %d overflows %T", statemachine.ErrCodec, x, v)
		}
		rv.SetInt(x)
	case k >= reflect.Uint && k <= reflect.Uintptr:
		if rv.OverflowUint(u) {
			return v, fmt.Errorf("%w: %d overflows %T", statemachine.ErrCodec, u, v)
		}
		rv.SetUint(u)
	case k == reflect.Float32 || k == reflect.Float64:
		if u&(1<<63) != 0 {
			u &^= 1 << 63
		} else {
			u = ^u
		}
		rv.SetFloat(math.Float64frombits(u))
	default:
		return v, fmt.Errorf("%w: %T is not an ordered type", statemachine.ErrCodec, v)
	}
	return v, nil
}
