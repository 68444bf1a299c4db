package feed

import (
	"context"
	"errors"
	"sync"
)

// Errors returned by [Subscription.Next].
var (
	// ErrClosed: the feed or the subscription was closed and every event
	// before the close has been read.
	ErrClosed = errors.New("feed: closed")
	// ErrLagged: the subscriber fell more than its limit behind and was
	// cut off; events were lost.
	ErrLagged = errors.New("feed: subscriber lagged behind and was dropped")
)

// DefaultLimit is how many unread events a subscriber may hold.
const DefaultLimit = 1 << 16

// Feed is a fan-out of events of type T.
type Feed[T any] struct {
	mu struct {
		sync.Mutex
		subs   map[*Subscription[T]]struct{}
		closed bool
	}
}

// New returns an open feed.
func New[T any]() *Feed[T] {
	f := &Feed[T]{}
	f.mu.subs = map[*Subscription[T]]struct{}{}
	return f
}

// Subscribe returns a subscription that receives every event published
// after this call, holding at most limit unread ones (DefaultLimit if
// limit <= 0).
func (f *Feed[T]) Subscribe(limit int) *Subscription[T] {
	if limit <= 0 {
		limit = DefaultLimit
	}
	s := &Subscription[T]{feed: f, limit: limit, ready: make(chan struct{}, 1)}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mu.closed {
		s.end = ErrClosed
		return s
	}
	f.mu.subs[s] = struct{}{}
	return s
}

// Publish queues ev for every subscriber. It never blocks.
func (f *Feed[T]) Publish(ev T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.mu.subs {
		if !s.push(ev) {
			delete(f.mu.subs, s)
		}
	}
}

// Close ends every subscription once its queued events are read.
func (f *Feed[T]) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.closed = true
	for s := range f.mu.subs {
		s.finish(ErrClosed)
	}
	clear(f.mu.subs)
}

// Subscription is one subscriber's queue.
type Subscription[T any] struct {
	feed  *Feed[T]
	limit int
	ready chan struct{} // holds a token while events or the end are pending

	mu    sync.Mutex
	queue []T
	end   error // set once no more events will come
}

// push queues ev; it reports false when the subscriber lagged and was cut off.
func (s *Subscription[T]) push(ev T) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.end != nil {
		return false
	}
	if len(s.queue) >= s.limit {
		s.queue = nil
		s.end = ErrLagged
		s.signal()
		return false
	}
	s.queue = append(s.queue, ev)
	s.signal()
	return true
}

func (s *Subscription[T]) finish(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.end == nil {
		s.end = err
	}
	s.signal()
}

func (s *Subscription[T]) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Next returns the next event, waiting for one until ctx ends. After the
// feed or subscription closes it drains the queue, then returns ErrClosed
// (or ErrLagged if it was cut off, without draining).
func (s *Subscription[T]) Next(ctx context.Context) (T, error) {
	for {
		s.mu.Lock()
		if s.end == ErrLagged {
			s.mu.Unlock()
			var zero T
			return zero, ErrLagged
		}
		if len(s.queue) > 0 {
			ev := s.queue[0]
			var zero T
			s.queue[0] = zero
			s.queue = s.queue[1:]
			if len(s.queue) > 0 || s.end != nil {
				s.signal()
			}
			s.mu.Unlock()
			return ev, nil
		}
		if s.end != nil {
			err := s.end
			s.mu.Unlock()
			var zero T
			return zero, err
		}
		s.mu.Unlock()
		select {
		case <-s.ready:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	}
}

// Close stops the subscription; queued events are discarded.
func (s *Subscription[T]) Close() {
	s.feed.mu.Lock()
	delete(s.feed.mu.subs, s)
	s.feed.mu.Unlock()
	s.mu.Lock()
	s.queue = nil
	if s.end == nil {
		s.end = ErrClosed
	}
	s.mu.Unlock()
	s.signal()
}
