package streams

import (
	"context"

	"github.com/mosaikgo/mosaik/feed"
)

// When waits for a side's conditions. Every wait returns at once when its
// condition holds already, otherwise at the next moment it does, so a
// wait called again after it fired re-arms for the next not-met to met
// edge. Each returns ctx's error when ctx ends and ErrClosed once the
// side is closed.
type When struct{ v *feed.Value[sideView] }

func (w When) wait(ctx context.Context, cond func(sideView) bool) error {
	v, err := w.v.Wait(ctx, func(v sideView) bool { return v.closed || cond(v) })
	if err != nil {
		return err
	}
	if v.closed {
		return ErrClosed
	}
	return nil
}

// Online: the side's online conditions hold.
func (w When) Online(ctx context.Context) error {
	return w.wait(ctx, func(v sideView) bool { return v.online })
}

// Offline: the side's online conditions do not hold.
func (w When) Offline(ctx context.Context) error {
	return w.wait(ctx, func(v sideView) bool { return !v.online })
}

// Subscribed: at least one channel is connected.
func (w When) Subscribed(ctx context.Context) error {
	return w.wait(ctx, func(v sideView) bool { return v.connected > 0 })
}

// Unsubscribed: no channel is connected.
func (w When) Unsubscribed(ctx context.Context) error {
	return w.wait(ctx, func(v sideView) bool { return v.connected == 0 })
}

// Connected: at least n channels are connected.
func (w When) Connected(ctx context.Context, n int) error {
	return w.wait(ctx, func(v sideView) bool { return v.connected >= n })
}
