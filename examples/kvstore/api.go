package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mosaikgo/mosaik/rsm"
)

// maxValueSize bounds a PUT body (64 KiB; larger bodies are answered 413):
// values travel in Raft log entries, which every member stores and
// replays.
const maxValueSize = 64 << 10

// requestTimeout bounds one call on the group. A write that times out may
// still be applied later; the client is told so.
const requestTimeout = 10 * time.Second

// entry is every response body: the key, its value where there is one,
// the log index the answer reflects, and an error for failures.
type entry struct {
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
	Index uint64 `json:"index,omitempty"`
	Error string `json:"error,omitempty"`
}

// api serves one node's store over HTTP.
type api struct {
	g *rsm.Group[Command, Query, Result]
}

// NewHandler returns the HTTP API of the store g is a member of:
// PUT, GET and DELETE on /kv/{key}. Any member answers for the whole
// store: writes are forwarded to the leader, strong reads are
// linearizable, weak reads answer from this member's replica.
func NewHandler(g *rsm.Group[Command, Query, Result]) http.Handler {
	a := &api{g: g}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /kv/{key}", a.put)
	mux.HandleFunc("GET /kv/{key}", a.get)
	mux.HandleFunc("DELETE /kv/{key}", a.remove)
	// Everything else answers in JSON too, as clients parse every body.
	mux.HandleFunc("/kv/{key}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, PUT, DELETE")
		writeJSON(w, http.StatusMethodNotAllowed, entry{Key: r.PathValue("key"), Error: r.Method + " is not served: use GET, PUT or DELETE"})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, entry{Error: "no such path: the API is /kv/{key}"})
	})
	return mux
}

func (a *api) put(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxValueSize))
	if err != nil {
		status := http.StatusBadRequest
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			status = http.StatusRequestEntityTooLarge
		}
		writeJSON(w, status, entry{Key: key, Error: fmt.Sprintf("reading the value: %v", err)})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	idx, err := a.g.Execute(ctx, Command{Op: OpPut, Key: key, Value: string(body)})
	if err != nil {
		writeError(ctx, w, key, err, true)
		return
	}
	writeJSON(w, http.StatusOK, entry{Key: key, Value: string(body), Index: idx})
}

func (a *api) get(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	c, err := parseConsistency(r.URL.Query().Get("consistency"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, entry{Key: key, Error: err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	res, idx, err := a.g.Query(ctx, Query{Key: key}, c)
	if err != nil {
		writeError(ctx, w, key, err, false)
		return
	}
	if !res.Found {
		writeJSON(w, http.StatusNotFound, entry{Key: key, Index: idx, Error: "not found"})
		return
	}
	writeJSON(w, http.StatusOK, entry{Key: key, Value: res.Value, Index: idx})
}

func (a *api) remove(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	idx, err := a.g.Execute(ctx, Command{Op: OpDelete, Key: key})
	if err != nil {
		writeError(ctx, w, key, err, true)
		return
	}
	writeJSON(w, http.StatusOK, entry{Key: key, Index: idx})
}

// parseConsistency reads the consistency parameter; empty means strong.
func parseConsistency(s string) (rsm.Consistency, error) {
	switch s {
	case "", "strong":
		return rsm.Strong, nil
	case "weak":
		return rsm.Weak, nil
	default:
		return 0, fmt.Errorf("consistency %q: want strong or weak", s)
	}
}

// statusOf maps a group error to an HTTP status. expired says the
// call's deadline has passed: the replication engine reports a proposal
// that ran out of time with an error of its own, a moment before or after
// the context does.
func statusOf(err error, expired bool) int {
	switch {
	case errors.Is(err, rsm.ErrOffline), errors.Is(err, rsm.ErrGroupTerminated):
		return http.StatusServiceUnavailable // no leader (yet), or shutting down: retry
	case expired, errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	default:
		return http.StatusInternalServerError
	}
}

// writeError answers a failed call. A write that failed other than by
// being refused up front may still be applied later (a timeout across a
// leader change, say), so the message says so rather than "failed".
func writeError(ctx context.Context, w http.ResponseWriter, key string, err error, write bool) {
	status := statusOf(err, ctx.Err() != nil)
	msg := err.Error()
	switch {
	case status == http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
	case write:
		msg += " (the write may or may not have been applied)"
	}
	writeJSON(w, status, entry{Key: key, Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, body entry) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body) // the client hung up: nothing to do
}
