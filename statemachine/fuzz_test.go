package statemachine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"
	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/internal/fuzzseed"
	"github.com/mosaikgo/mosaik/messages"
)

// fuzzLog is the log FuzzAdapterUpdate replays: the input is read as a
// batch envelope whose commands are the entries' Cmds (so the fuzzer
// reaches batches, installs and plain commands side by side); any other
// input is a log of one entry.
func fuzzLog(in []byte) []sm.Entry {
	cmds, err := DecodeEntry(in)
	if err != nil || !bytes.HasPrefix(in, []byte(BatchMagic)) {
		cmds = [][]byte{in}
	}
	entries := make([]sm.Entry, len(cmds))
	for i, c := range cmds {
		entries[i] = sm.Entry{Index: uint64(i + 1), Cmd: bytes.Clone(c)}
	}
	return entries
}

// counterModel replays a log on the counter as the adapter must: installs
// replace the state with their snapshot, every command that decodes is
// added, whatever envelope carries it. It reports the index each entry
// must be applied at (an install with a base continues the log after it)
// and whether the machine must fail (a short install snapshot, a bad
// base, or recorder's "boom" command).
func counterModel(log []sm.Entry) (total int64, indexes []uint64, fails bool) {
	codec := JSON[addCmd]()
	var delta uint64
	for _, e := range log {
		if in, ok, err := decodeInstall(e.Cmd); ok {
			if err != nil || len(in.state) < 16 {
				return 0, nil, true
			}
			if in.continues {
				delta = in.base + 1 - e.Index
			}
			indexes = append(indexes, e.Index+delta)
			total = int64(binary.BigEndian.Uint64(in.state))
			continue
		}
		indexes = append(indexes, e.Index+delta)
		cmds, err := DecodeEntry(e.Cmd)
		if err != nil {
			continue
		}
		for _, c := range cmds {
			if string(c) == "boom" {
				return 0, nil, true
			}
			if v, err := codec.Decode(c); err == nil {
				total += v.N
			}
		}
	}
	return total, indexes, false
}

// FuzzAdapterUpdate replays arbitrary log entries (plain commands, batch
// and install envelopes, garbage) through the dragonboat adapter: it
// never panics, gives every entry one result that ResultError and
// ResultIndex read back consistently, applies exactly what the envelope
// format says, and fails the machine only for a restore that cannot
// succeed or a command that panics, for good.
func FuzzAdapterUpdate(f *testing.F) {
	f.Add(EncodeBatch([][]byte{[]byte(`{"N":1}`), EncodeBatch([][]byte{[]byte(`{"N":2}`), []byte("x")})}))
	f.Add(EncodeBatch([][]byte{EncodeInstall(make([]byte, 16), 9), []byte(`{"N":5}`)}))
	f.Add([]byte(`{"N":-3}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		log := fuzzLog(in)
		want, wantIndexes, wantFail := counterModel(log)
		a := Dragonboat(func() Machine { return newRecorder() }, testGroup)(testShard, 1)
		out, err := a.Update(log)
		if err != nil || len(out) != len(log) {
			t.Fatalf("Update = %d entries, %v", len(out), err)
		}
		failed := 0
		for i, e := range out {
			rerr := ResultError(e.Result)
			idx, applied := ResultIndex(e.Result)
			switch e.Result.Value {
			case ResultApplied:
				if rerr != nil || !applied || idx != wantIndexes[i] {
					t.Fatalf("entry %d applied as index %d (%v), error %v", i, idx, applied, rerr)
				}
			case ResultRejected:
				if !errors.Is(rerr, ErrCommandRejected) || applied {
					t.Fatalf("entry %d rejected with %v", i, rerr)
				}
			case ResultFailed:
				if !errors.Is(rerr, ErrMachineFailed) || applied {
					t.Fatalf("entry %d failed with %v", i, rerr)
				}
				failed++
			default:
				t.Fatalf("entry %d: result code %d", i, e.Result.Value)
			}
		}
		if (failed > 0) != wantFail || (failed > 0 && failed != len(out)) {
			t.Fatalf("%d of %d entries failed, model says failure: %v", failed, len(out), wantFail)
		}
		q, _ := JSON[string]().Encode("total")
		got, err := a.Lookup(q)
		if wantFail {
			if !errors.Is(err, ErrMachineFailed) {
				t.Fatalf("failed machine answered %s, %v", got, err)
			}
			return
		}
		total, derr := JSON[int64]().Decode(got.([]byte))
		if err != nil || derr != nil || total != want {
			t.Fatalf("total = %d (%v, %v), model says %d", total, err, derr, want)
		}
	})
}

// fuzzRecord exercises the JSON codec's decoder with every kind of value
// a command type is made of.
type fuzzRecord struct {
	N    int64
	U    uint16
	S    string
	B    []byte
	L    []int32
	M    map[string]bool
	Next *fuzzRecord
	On   bool
}

// FuzzCodecs decodes arbitrary bytes as commands, the way every replica
// reads the log: with the protobuf codec (a message of every field kind)
// and the JSON codec. Failures wrap ErrCodec; whatever decodes re-encodes
// to bytes that decode to an equal value and encode the same again, which
// is what keeps replicas that re-propose a command in agreement.
func FuzzCodecs(f *testing.F) {
	f.Add([]byte(`{"N":-1,"U":7,"S":"s","B":"AQI=","L":[1,2],"M":{"k":true},"Next":{"On":true}}`))
	f.Add([]byte{0x0a, 0x02, 0x0a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		pc := Proto[*messages.PeerEntry]()
		if m, err := pc.Decode(b); err != nil {
			if !errors.Is(err, ErrCodec) {
				t.Fatalf("proto: undocumented error %v", err)
			}
		} else {
			checkRoundTrip(t, pc, m, func(x, y *messages.PeerEntry) bool { return proto.Equal(x, y) })
		}
		jc := JSON[fuzzRecord]()
		if v, err := jc.Decode(b); err != nil {
			if !errors.Is(err, ErrCodec) {
				t.Fatalf("json: undocumented error %v", err)
			}
		} else {
			checkRoundTrip(t, jc, v, func(x, y fuzzRecord) bool { return reflect.DeepEqual(x, y) })
		}
		if _, err := NoOpCodecs().Command.Decode(b); err != nil {
			t.Fatalf("no-op codec refused %q: %v", b, err)
		}
	})
}

// checkRoundTrip checks that v encodes, decodes to an equal value, and
// that this value encodes to the same bytes.
func checkRoundTrip[T any](t *testing.T, c Codec[T], v T, equal func(T, T) bool) {
	t.Helper()
	enc, err := c.Encode(v)
	if err != nil {
		t.Fatalf("%T: decoded value does not encode: %v", v, err)
	}
	back, err := c.Decode(enc)
	if err != nil || !equal(v, back) {
		t.Fatalf("%T: %q decodes to a different value (%v)", v, enc, err)
	}
	again, err := c.Encode(back)
	if err != nil || !bytes.Equal(again, enc) {
		t.Fatalf("%T: encoding is not stable: %q, then %q (%v)", v, enc, again, err)
	}
}

// TestFuzzCorpus keeps testdata/fuzz in step with the inputs below; see
// package fuzzseed.
func TestFuzzCorpus(t *testing.T) {
	add := func(n int64) []byte { return encodeAll(t, addCmd{n})[0] }
	batch := EncodeBatch([][]byte{add(1), add(2), add(-3)})
	state := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, 40), 9)
	fuzzseed.Sync(t, "FuzzDecodeEntry",
		fuzzseed.Of("batch", batch),
		fuzzseed.Of("empty-batch", EncodeBatch(nil)),
		fuzzseed.Of("wrapped-single", EncodeSingle([]byte(BatchMagic+"tricky"))),
		fuzzseed.Of("nested", EncodeBatch([][]byte{batch, EncodeInstall(state, 3)})),
		fuzzseed.Of("cut", fuzzseed.Cut(batch, 2)),
		fuzzseed.Of("huge-count", []byte(BatchMagic+"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01")),
		fuzzseed.Of("huge-length", []byte(BatchMagic+"\x01\xff\xff\xff\xff\x0fab")),
		fuzzseed.Of("trailing", append(EncodeBatch([][]byte{add(1)}), 0)),
		fuzzseed.Of("install", EncodeInstall(state, 3)),
		fuzzseed.Of("install-v1", []byte(installMagicV1+string(state))),
		fuzzseed.Of("install-bad-base", []byte(InstallMagic+"\xff\xff")),
	)

	log := func(cmds ...[]byte) []byte { return EncodeBatch(cmds) }
	fuzzseed.Sync(t, "FuzzAdapterUpdate",
		fuzzseed.Of("plain-commands", log(add(1), add(2), add(3))),
		fuzzseed.Of("batch-and-garbage", log(add(1), batch, []byte("garbage"), EncodeBatch([][]byte{add(5), []byte("{")}))),
		fuzzseed.Of("install-between", log(add(7), EncodeInstall(state, 100), add(1))),
		fuzzseed.Of("install-v1-between", log(add(7), []byte(installMagicV1+string(state)), add(1))),
		fuzzseed.Of("short-install", log(add(7), EncodeInstall(state[:10], 100), add(1))),
		fuzzseed.Of("malformed-envelope", log(add(1), fuzzseed.Cut(batch, 3), add(2))),
		fuzzseed.Of("panic", log(add(1), EncodeBatch([][]byte{add(2), []byte("boom")}), add(4))),
		fuzzseed.Of("empty-commands", log(nil, add(1), nil)),
		fuzzseed.Of("single-entry", add(42)),
	)

	pe, err := Proto[*messages.PeerEntry]().Encode(&messages.PeerEntry{
		NetworkId: &messages.Digest{Value: bytes.Repeat([]byte{1}, 32)}, Version: 9,
		Addrs: []string{"127.0.0.1:1"}, Groups: []*messages.GroupAd{{ReplicaId: 3, Observer: true}},
		Tickets: []*messages.Ticket{{Data: []byte("t")}}, Departing: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	fuzzseed.Sync(t, "FuzzCodecs",
		fuzzseed.Of("peer-entry", pe),
		fuzzseed.Of("peer-entry-cut", fuzzseed.Cut(pe, 4)),
		fuzzseed.Of("json-record", []byte(`{"N":-9007199254740993,"U":65535,"S":"\u00e9\ud800","B":"AAEC","L":[2147483647],"M":{"a":false},"Next":{"Next":{"N":1}},"On":true}`)),
		fuzzseed.Of("json-overflow", []byte(`{"U":65536}`)),
		fuzzseed.Of("json-invalid-utf8", []byte("{\"S\":\"\xff\xfe\"}")),
		fuzzseed.Of("json-nulls", []byte(`{"B":null,"L":null,"M":null,"Next":null}`)),
		fuzzseed.Of("json-deep", bytes.Repeat([]byte(`{"Next":`), 200)),
	)
}
