package fuzzseed

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEncode(t *testing.T) {
	got, err := Encode([]byte("a\x00\xff"), "s\"", byte(7), uint16(64), true, int64(-3))
	if err != nil {
		t.Fatal(err)
	}
	want := "go test fuzz v1\n[]byte(\"a\\x00\\xff\")\nstring(\"s\\\"\")\nbyte('\\a')\nuint16(64)\nbool(true)\nint64(-3)\n"
	if string(got) != want {
		t.Fatalf("Encode =\n%s\nwant\n%s", got, want)
	}
	if _, err := Encode(); err == nil {
		t.Fatal("no arguments accepted")
	}
	if _, err := Encode(1.5); err == nil {
		t.Fatal("float accepted")
	}
}

func TestSyncWritesThenChecks(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	seeds := []Seed{Of("one", []byte("x")), Of("two", "y")}

	t.Setenv(WriteEnv, "write")
	Sync(t, "FuzzThing", seeds...)
	crasher := filepath.Join("testdata", "fuzz", "FuzzThing", "0123abcd")
	if err := os.WriteFile(crasher, []byte(Header+"\n[]byte(\"boom\")\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Setenv(WriteEnv, "")
	Sync(t, "FuzzThing", seeds...) // up to date; the crasher is ignored
	if b, err := os.ReadFile(crasher); err != nil || !bytes.Contains(b, []byte("boom")) {
		t.Fatalf("crasher touched: %q, %v", b, err)
	}

	rec := &recorder{TB: t}
	Sync(rec, "FuzzThing", Of("one", []byte("changed")), Of("three", "z"))
	if len(rec.errors) != 2 || !strings.Contains(rec.errors[0], "out of date") {
		t.Fatalf("stale corpus reported as %q", rec.errors)
	}
}

func TestHelpers(t *testing.T) {
	b := []byte("abcdef")
	tr := Truncations(b, 0, 3, 6, 9)
	if len(tr) != 2 || len(tr[0]) != 0 || string(tr[1]) != "abc" {
		t.Fatalf("Truncations = %q", tr)
	}
	if string(Cut(b, 2)) != "abcd" || Cut(b, 6) != nil {
		t.Fatal("Cut")
	}
	if f := Flip(b, 1); f[1] != 'b'^0xff || b[1] != 'b' || string(Flip(b, 9)) != "abcdef" {
		t.Fatal("Flip")
	}
}

// recorder collects Errorf calls instead of failing the test.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, format)
}
