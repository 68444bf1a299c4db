package feed

import (
	"context"
	"sync"
)

// Value holds the latest version of a piece of state that one writer
// updates and many readers watch: a bond view, a leader, a commit index.
// Readers never see a torn update and never block the writer; a reader
// that wants every change uses a [Feed] instead, a reader that wants the
// latest state uses a Value.
type Value[T any] struct {
	mu      sync.Mutex
	v       T
	changed chan struct{} // closed and replaced on every Set
}

// NewValue returns a Value holding v.
func NewValue[T any](v T) *Value[T] {
	return &Value[T]{v: v, changed: make(chan struct{})}
}

// Set replaces the value and wakes every waiter.
func (x *Value[T]) Set(v T) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.v = v
	close(x.changed)
	x.changed = make(chan struct{})
}

// Load returns the current value and a channel closed at the next Set.
func (x *Value[T]) Load() (T, <-chan struct{}) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.v, x.changed
}

// Get returns the current value.
func (x *Value[T]) Get() T {
	v, _ := x.Load()
	return v
}

// Wait returns the first value, current or later, for which cond holds,
// or ctx's error once ctx ends. cond runs on the caller's goroutine.
func (x *Value[T]) Wait(ctx context.Context, cond func(T) bool) (T, error) {
	for {
		v, changed := x.Load()
		if cond(v) {
			return v, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return v, ctx.Err()
		}
	}
}
