package feed

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestEveryoneGetsEverythingInOrder(t *testing.T) {
	f := New[int]()
	a, b := f.Subscribe(0), f.Subscribe(0)
	for i := range 100 {
		f.Publish(i)
	}
	f.Close()
	ctx := context.Background()
	for _, s := range []*Subscription[int]{a, b} {
		for i := range 100 {
			got, err := s.Next(ctx)
			if err != nil || got != i {
				t.Fatalf("Next = %d, %v; want %d", got, err, i)
			}
		}
		if _, err := s.Next(ctx); !errors.Is(err, ErrClosed) {
			t.Fatalf("after the last event: %v, want ErrClosed", err)
		}
	}
}

func TestLateSubscriberSeesOnlyLaterEvents(t *testing.T) {
	f := New[string]()
	f.Publish("before")
	s := f.Subscribe(0)
	f.Publish("after")
	got, err := s.Next(context.Background())
	if err != nil || got != "after" {
		t.Fatalf("Next = %q, %v", got, err)
	}
}

func TestLaggingSubscriberIsCutOffWithoutBlockingOthers(t *testing.T) {
	f := New[int]()
	slow, fast := f.Subscribe(3), f.Subscribe(100)
	for i := range 10 {
		f.Publish(i)
	}
	if _, err := slow.Next(context.Background()); !errors.Is(err, ErrLagged) {
		t.Fatalf("slow subscriber: %v, want ErrLagged", err)
	}
	for i := range 10 {
		if got, err := fast.Next(context.Background()); err != nil || got != i {
			t.Fatalf("fast subscriber: %d, %v", got, err)
		}
	}
}

func TestNextWaitsAndHonoursContext(t *testing.T) {
	f := New[int]()
	s := f.Subscribe(0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Next: %v", err)
	}
	var wg sync.WaitGroup
	got := make(chan int, 1)
	wg.Go(func() {
		v, err := s.Next(context.Background())
		if err == nil {
			got <- v
		}
	})
	f.Publish(7)
	wg.Wait()
	if v := <-got; v != 7 {
		t.Fatalf("waiting Next = %d", v)
	}
}

func TestSubscriptionClose(t *testing.T) {
	f := New[int]()
	s := f.Subscribe(0)
	f.Publish(1)
	s.Close()
	if _, err := s.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	f.Publish(2) // must not reach or block on the closed subscription
	f.Close()
	if _, err := f.Subscribe(0).Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Subscribe after Close: %v", err)
	}
}

func TestConcurrentPublishers(t *testing.T) {
	f := New[int]()
	s := f.Subscribe(0)
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			for i := range 250 {
				f.Publish(p*1000 + i)
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	last := map[int]int{0: -1, 1: -1, 2: -1, 3: -1}
	for range 1000 {
		v, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p, i := v/1000, v%1000
		if i != last[p]+1 {
			t.Fatalf("publisher %d: event %d after %d", p, i, last[p])
		}
		last[p] = i
	}
	wg.Wait()
}
