package actors

import "fmt"

// Window is credit-based flow control: it admits at most Size units of work
// in flight and is told when each finishes. It replaces what a bounded
// mailbox would do, without ever blocking a sender: a full window answers
// "not now" and the caller queues, drops or reports back-pressure as its
// protocol requires.
//
// Window is plain state with no locking; the actor that owns it is its
// only user.
type Window struct {
	size     int
	inFlight int
}

// NewWindow returns a window admitting size units; size must be positive.
func NewWindow(size int) Window {
	if size <= 0 {
		panic(fmt.Sprintf("actors: window size must be positive, got %d", size))
	}
	return Window{size: size}
}

// TryAcquire takes n units if they fit and reports whether it did. A
// request larger than the whole window is admitted when nothing else is in
// flight, so oversized work still makes progress one at a time.
func (w *Window) TryAcquire(n int) bool {
	if n <= 0 {
		return true
	}
	if w.inFlight+n > w.size && w.inFlight > 0 {
		return false
	}
	w.inFlight += n
	return true
}

// Release returns n units. Releasing more than is in flight is a bug in the
// caller's accounting and panics rather than silently widening the window.
func (w *Window) Release(n int) {
	if n < 0 || n > w.inFlight {
		panic(fmt.Sprintf("actors: release %d units with %d in flight", n, w.inFlight))
	}
	w.inFlight -= n
}

// InFlight is the number of units taken and not yet released.
func (w *Window) InFlight() int { return w.inFlight }

// Available is how many units fit now.
func (w *Window) Available() int { return max(w.size-w.inFlight, 0) }

// Size is the window's capacity.
func (w *Window) Size() int { return w.size }
