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

// replicaRecord is what a member keeps in the data directory about its
// replica of a group's shard, so that a restarted node restarts that
// replica from its durable log instead of joining as a stranger. dragonboat
// requires a replica to restart with the id and the voting mode it was
// first started with.
type replicaRecord struct {
	Genesis   string `json:"genesis"`
	Replica   uint64 `json:"replica"`
	NonVoting bool   `json:"non_voting"`
}

func (r replicaRecord) genesis() (groups.Genesis, error) { return groups.ParseGenesis(r.Genesis) }

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
func (g *Groups) saveRecord(gid id.GroupID, rec replicaRecord) error {
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

// loadRecord reads a group's record, if there is one.
func (g *Groups) loadRecord(gid id.GroupID) (replicaRecord, bool, error) {
	path := g.recordPath(gid)
	if path == "" {
		return replicaRecord{}, false, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return replicaRecord{}, false, nil
	}
	if err != nil {
		return replicaRecord{}, false, fmt.Errorf("actors: load replica record: %w", err)
	}
	var rec replicaRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return replicaRecord{}, false, fmt.Errorf("actors: load replica record %s: %w", path, err)
	}
	if _, err := rec.genesis(); err != nil || rec.Replica == 0 {
		return replicaRecord{}, false, fmt.Errorf("actors: load replica record %s: malformed", path)
	}
	return rec, true, nil
}

// dropRecord forgets a group's replica (left, lost to a rival, removed).
func (g *Groups) dropRecord(gid id.GroupID) {
	if path := g.recordPath(gid); path != "" {
		_ = os.Remove(path)
	}
}
