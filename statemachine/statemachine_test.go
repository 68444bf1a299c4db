package statemachine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
)

// counter is the smallest useful machine: it adds commands to a total and
// remembers the index of the last command applied.
type counter struct {
	total, lastIndex int64
}

type addCmd struct{ N int64 }

func (*counter) Signature() id.Digest { return id.Of("test/counter/v1") }

func (c *counter) Apply(ctx ApplyContext, cmds []addCmd) {
	for i, cmd := range cmds {
		c.total += cmd.N
		c.lastIndex = int64(ctx.Index(i))
	}
}

func (c *counter) Query(string) int64 { return c.total }

func (c *counter) Snapshot(w io.Writer) error {
	return binary.Write(w, binary.BigEndian, [2]int64{c.total, c.lastIndex})
}

func (c *counter) Restore(r io.Reader) error {
	var v [2]int64
	if err := binary.Read(r, binary.BigEndian, &v); err != nil {
		return err
	}
	c.total, c.lastIndex = v[0], v[1]
	return nil
}

func counterCodecs() Codecs[addCmd, string, int64] {
	return Codecs[addCmd, string, int64]{Command: JSON[addCmd](), Query: JSON[string](), Result: JSON[int64]()}
}

func encodeAll(t *testing.T, cmds ...addCmd) [][]byte {
	t.Helper()
	var out [][]byte
	for _, c := range cmds {
		b, err := JSON[addCmd]().Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestErasedMachineAppliesAndAnswers(t *testing.T) {
	c := &counter{}
	m := Erase[addCmd, string, int64](c, counterCodecs())
	if m.Signature() != c.Signature() {
		t.Fatal("signature lost in erasure")
	}
	group := id.Of("g")
	if errs := m.Apply(NewApplyContext(group, []uint64{5, 6, 9}), encodeAll(t, addCmd{1}, addCmd{2}, addCmd{40})); errs != nil {
		t.Fatalf("Apply: %v", errs)
	}
	if c.total != 43 || c.lastIndex != 9 {
		t.Fatalf("state = %+v, want total 43 at index 9", *c)
	}
	q, _ := JSON[string]().Encode("total")
	out, err := m.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := JSON[int64]().Decode(out); err != nil || v != 43 {
		t.Fatalf("Query = %d, %v", v, err)
	}
	if _, err := m.Query([]byte("{not json")); !errors.Is(err, ErrCodec) {
		t.Fatalf("Query of garbage: %v, want ErrCodec", err)
	}
}

// A command that does not decode is skipped on every member alike, and
// its index is reported; the commands around it still apply, with their
// own indexes.
func TestUndecodableCommandIsSkippedDeterministically(t *testing.T) {
	c := &counter{}
	m := Erase[addCmd, string, int64](c, counterCodecs())
	cmds := encodeAll(t, addCmd{1}, addCmd{2})
	cmds = append(cmds[:1], append([][]byte{[]byte("garbage")}, cmds[1:]...)...)
	errs := m.Apply(NewApplyContext(id.Of("g"), []uint64{1, 2, 3}), cmds)
	if len(errs) != 3 || errs[0] != nil || !errors.Is(errs[1], ErrCodec) || errs[2] != nil {
		t.Fatalf("errs = %v, want only index 2 failing", errs)
	}
	if c.total != 3 || c.lastIndex != 3 {
		t.Fatalf("state = %+v, want total 3 at index 3", *c)
	}
}

func TestSnapshotRestoreGivesAnEqualMachine(t *testing.T) {
	a := &counter{}
	a.Apply(NewApplyContext(id.Of("g"), []uint64{1, 2}), []addCmd{{7}, {8}})
	var buf bytes.Buffer
	if err := a.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	b := &counter{total: 999}
	if err := b.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	if *a != *b {
		t.Fatalf("restored %+v, want %+v", *b, *a)
	}
}

func TestProtoCodec(t *testing.T) {
	codec := Proto[*messages.Ping]()
	b, err := codec.Encode(&messages.Ping{Nonce: 7, Payload: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	m, err := codec.Decode(b)
	if err != nil || m.Nonce != 7 || string(m.Payload) != "x" {
		t.Fatalf("Decode = %v, %v", m, err)
	}
	again, _ := codec.Encode(m)
	if !bytes.Equal(again, b) {
		t.Fatal("encoding is not deterministic")
	}
	if _, err := codec.Decode([]byte{0xff}); !errors.Is(err, ErrCodec) {
		t.Fatalf("garbage: %v, want ErrCodec", err)
	}
}

func TestApplyContext(t *testing.T) {
	ctx := NewApplyContext(id.Of("g"), []uint64{3, 4})
	if ctx.Group() != id.Of("g") || ctx.Len() != 2 || ctx.Index(1) != 4 || ctx.LastIndex() != 4 {
		t.Fatalf("context = %+v", ctx)
	}
	if NewApplyContext(id.Of("g"), nil).LastIndex() != 0 {
		t.Fatal("empty batch has a last index")
	}
}

func TestNoOp(t *testing.T) {
	m := Erase[struct{}, struct{}, struct{}](NoOp{}, NoOpCodecs())
	if m.Signature() != (NoOp{}).Signature() || m.Signature().IsZero() {
		t.Fatal("NoOp signature")
	}
	if errs := m.Apply(NewApplyContext(id.Of("g"), []uint64{1}), [][]byte{nil}); errs != nil {
		t.Fatalf("Apply: %v", errs)
	}
	out, err := m.Query(nil)
	if err != nil || len(out) != 0 {
		t.Fatalf("Query = %v, %v", out, err)
	}
	if err := m.Snapshot(io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := m.Restore(bytes.NewReader(nil)); err != nil {
		t.Fatal(err)
	}
}
