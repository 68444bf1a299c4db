package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedCodeIsCurrent regenerates messages/*.pb.go in memory and
// compares it with the committed files, so a plain `go test ./...` catches
// a .proto file edited without regenerating (CI checks the same through
// messages/generate.sh).
func TestCommittedCodeIsCurrent(t *testing.T) {
	const messages = "../../messages"
	files, err := generate(context.Background(), messages)
	if err != nil {
		t.Fatal(err)
	}
	generated := map[string]bool{}
	for _, f := range files {
		generated[f.name] = true
		committed, err := os.ReadFile(filepath.Join(messages, f.name))
		if err != nil {
			t.Errorf("messages/%s is not committed: %v", f.name, err)
			continue
		}
		if !bytes.Equal(committed, f.content) {
			t.Errorf("messages/%s differs from what messages/*.proto generate; run: go generate ./messages/...", f.name)
		}
	}
	committed, err := filepath.Glob(filepath.Join(messages, "*.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range committed {
		if !generated[filepath.Base(path)] {
			t.Errorf("messages/%s comes from no .proto file", filepath.Base(path))
		}
	}
}
