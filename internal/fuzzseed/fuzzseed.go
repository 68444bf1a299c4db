package fuzzseed

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Header is the first line of every corpus file.
const Header = "go test fuzz v1"

// WriteEnv names the environment variable that makes [Sync] write the
// corpus rather than check it: set it to "write".
const WriteEnv = "MOSAIK_FUZZ_SEEDS"

// Seed is one corpus file: its name in the target's directory and the
// arguments of one call of the fuzz function, in order and of the exact
// types the function takes.
type Seed struct {
	Name string
	Args []any
}

// Of returns the seed called name with args.
func Of(name string, args ...any) Seed { return Seed{Name: name, Args: args} }

// Encode returns args in the "go test fuzz v1" format that go test reads
// from testdata/fuzz. It supports the argument types mosaik's targets
// take: []byte, string, bool and the integer types.
func Encode(args ...any) ([]byte, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("fuzzseed: no arguments")
	}
	var b bytes.Buffer
	b.WriteString(Header + "\n")
	for i, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case string:
			fmt.Fprintf(&b, "string(%q)\n", v)
		case byte:
			fmt.Fprintf(&b, "byte(%q)\n", v)
		case bool, int, int8, int16, int64, uint, uint16, uint32, uint64:
			fmt.Fprintf(&b, "%T(%v)\n", v, v)
		default:
			return nil, fmt.Errorf("fuzzseed: argument %d: unsupported type %T", i, a)
		}
	}
	return b.Bytes(), nil
}

// Sync checks that testdata/fuzz/<target>/ of the package under test
// holds exactly the encoding of each seed under its name, or writes them
// when WriteEnv is "write". Files of other names are left alone.
func Sync(t testing.TB, target string, seeds ...Seed) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	write := os.Getenv(WriteEnv) == "write"
	if write {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for _, s := range seeds {
		if slices.Contains(names, s.Name) {
			t.Fatalf("%s: seed %q listed twice", target, s.Name)
		}
		names = append(names, s.Name)
		want, err := Encode(s.Args...)
		if err != nil {
			t.Fatalf("%s/%s: %v", target, s.Name, err)
		}
		path := filepath.Join(dir, s.Name)
		if write {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is missing or out of date (%v); regenerate with: %s=write go test -run TestFuzzCorpus .", path, err, WriteEnv)
		}
	}
}

// Truncations returns the proper prefixes of b at the given lengths that
// are shorter than b, each a fresh slice: inputs cut off mid-field.
func Truncations(b []byte, lengths ...int) [][]byte {
	var out [][]byte
	for _, n := range lengths {
		if n >= 0 && n < len(b) {
			out = append(out, bytes.Clone(b[:n]))
		}
	}
	return out
}

// Cut returns b without its last n bytes (nil when n ≥ len(b)): the same
// encoding, truncated.
func Cut(b []byte, n int) []byte {
	if n >= len(b) {
		return nil
	}
	return bytes.Clone(b[:len(b)-n])
}

// Flip returns a copy of b with byte i inverted: a valid encoding with
// one corrupted byte (a bad signature, a wrong tag).
func Flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	if i >= 0 && i < len(c) {
		c[i] ^= 0xff
	}
	return c
}
