package actors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
)

// replicaRecord is the record's form on disk (see groups.Record).
type replicaRecord struct {
	Genesis   string `json:"genesis"`
	Replica   uint64 `json:"replica"`
	NonVoting bool   `json:"non_voting"`
}

// ErrCorruptDataDir is matched by the error a group reports when a file
// of the node's data directory cannot be read back: a replica record, a
// Raft log or a snapshot. The group does not start a fresh replica over
// it (that would silently drop what the directory holds); the error names
// the file where one is to blame. To recover, remove the group's files
// (docs/operations.md) and join again: the group refills them.
var ErrCorruptDataDir = errors.New("actors: data directory damaged")

// recordPath is where a group's record lives; empty without a data
// directory (nothing survives a restart then).
func (g *Groups) recordPath(gid id.GroupID) string {
	if g.p.DataDir == "" {
		return ""
	}
	return filepath.Join(g.p.DataDir, "groups", gid.String()+".json")
}

// saveRecord writes the record atomically: a crash leaves the old one or
// the new one, never half of either.
func (g *Groups) saveRecord(gid id.GroupID, r groups.Record) error {
	rec := replicaRecord{Genesis: r.Genesis.String(), Replica: r.Replica, NonVoting: r.NonVoting}
	path := g.recordPath(gid)
	if path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("actors: save replica record: %w", err)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("actors: save replica record: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("actors: save replica record: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("actors: save replica record: %w", err)
	}
	return nil
}

// loadRecord reads a group's record: nil if there is none, an error
// matching ErrCorruptDataDir if it cannot be read back.
func (g *Groups) loadRecord(gid id.GroupID) (*groups.Record, error) {
	path := g.recordPath(gid)
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: replica record %s: %w", ErrCorruptDataDir, path, err)
	}
	var rec replicaRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("%w: replica record %s: %w", ErrCorruptDataDir, path, err)
	}
	gen, err := groups.ParseGenesis(rec.Genesis)
	if err != nil || rec.Replica == 0 {
		return nil, fmt.Errorf("%w: replica record %s: no genesis or replica id", ErrCorruptDataDir, path)
	}
	return &groups.Record{Genesis: gen, Replica: rec.Replica, NonVoting: rec.NonVoting}, nil
}

// dropRecord forgets a group's replica (left, lost to a rival, removed).
func (g *Groups) dropRecord(gid id.GroupID) {
	if path := g.recordPath(gid); path != "" {
		_ = os.Remove(path)
	}
}
