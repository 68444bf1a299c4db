package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/mosaikgo/mosaik/bench"
)

// key identifies a result across runs: a later run's result with the same
// key replaces an earlier one.
type key struct{ id, name, variant string }

func keyOf(r bench.Result) key { return key{r.ID, r.Name, r.Variant} }

// loadStore reads the results store at path: a JSON array of runs. A
// missing file is an empty store.
func loadStore(path string) ([]bench.Run, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("results store: %w", err)
	}
	var runs []bench.Run
	if err := json.Unmarshal(b, &runs); err != nil {
		return nil, fmt.Errorf("results store %s: %w", path, err)
	}
	for i, r := range runs {
		if err := checkRun(r); err != nil {
			return nil, fmt.Errorf("results store %s: run %d: %w", path, i, err)
		}
	}
	return runs, nil
}

// loadRun reads one run, as bench's -results-json writes it.
func loadRun(path string) (bench.Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return bench.Run{}, fmt.Errorf("run: %w", err)
	}
	var run bench.Run
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&run); err != nil {
		return bench.Run{}, fmt.Errorf("run %s: %w (want one object with machine and results, as -results-json writes)", path, err)
	}
	if err := checkRun(run); err != nil {
		return bench.Run{}, fmt.Errorf("run %s: %w", path, err)
	}
	return run, nil
}

// checkRun rejects a run that cannot be rendered.
func checkRun(r bench.Run) error {
	if r.Machine.Date.IsZero() {
		return errors.New("no machine description (date missing)")
	}
	if len(r.Results) == 0 {
		return errors.New("no results")
	}
	for i, res := range r.Results {
		if res.ID == "" || res.Name == "" {
			return fmt.Errorf("result %d: id or name missing", i)
		}
	}
	return nil
}

// saveStore writes runs to path as indented JSON, goals such as "<= 2.5"
// as they read (no HTML escaping).
func saveStore(path string, runs []bench.Run) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(runs); err != nil {
		return fmt.Errorf("results store: %w", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("results store: %w", err)
	}
	return nil
}

// merge adds runs to store, in order: each added run's results replace
// the results with the same key in every run before it, and runs left
// without results are dropped. Inputs are not modified.
func merge(store []bench.Run, added ...bench.Run) []bench.Run {
	out := make([]bench.Run, 0, len(store)+len(added))
	for _, r := range store {
		out = append(out, bench.Run{Machine: r.Machine, Results: r.Results})
	}
	for _, a := range added {
		replaced := map[key]bool{}
		for _, res := range a.Results {
			replaced[keyOf(res)] = true
		}
		kept := out[:0]
		for _, r := range out {
			var results []bench.Result
			for _, res := range r.Results {
				if !replaced[keyOf(res)] {
					results = append(results, res)
				}
			}
			if len(results) > 0 {
				kept = append(kept, bench.Run{Machine: r.Machine, Results: results})
			}
		}
		out = append(kept, a)
	}
	return out
}
