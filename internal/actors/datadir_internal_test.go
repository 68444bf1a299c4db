package actors

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestClaimDataDir checks that one process runs at most one node per data
// directory, whichever way its path is spelled, and that a released
// directory can be claimed again.
func TestClaimDataDir(t *testing.T) {
	dir := t.TempDir()
	release, err := claimDataDir(dir)
	if err != nil {
		t.Fatalf("first claim: %v", err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, spelling := range []string{dir, dir + "/", rel, filepath.Join(dir, "sub", "..")} {
		if _, err := claimDataDir(spelling); !errors.Is(err, ErrDataDirInUse) {
			t.Errorf("claim of %q while in use: %v, want ErrDataDirInUse", spelling, err)
		}
	}
	other, err := claimDataDir(filepath.Join(dir, "other"))
	if err != nil {
		t.Fatalf("claim of another directory: %v", err)
	}
	other()
	release()
	release() // idempotent
	again, err := claimDataDir(dir)
	if err != nil {
		t.Fatalf("claim after release: %v", err)
	}
	again()
}
