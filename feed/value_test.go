package feed

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestValueWaitFiresAtOnceWhenTheConditionHolds(t *testing.T) {
	v := NewValue(3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a wait that is already satisfied must not look at ctx
	got, err := v.Wait(ctx, func(n int) bool { return n == 3 })
	if err != nil || got != 3 {
		t.Fatalf("Wait = %d, %v", got, err)
	}
}

func TestValueWaitSeesLaterSets(t *testing.T) {
	v := NewValue(0)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 1; i <= 10; i++ {
			v.Set(i)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := v.Wait(ctx, func(n int) bool { return n == 10 })
	wg.Wait()
	if err != nil || got != 10 {
		t.Fatalf("Wait = %d, %v", got, err)
	}
	if v.Get() != 10 {
		t.Fatalf("Get = %d", v.Get())
	}
}

func TestValueWaitHonoursContext(t *testing.T) {
	v := NewValue("a")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := v.Wait(ctx, func(s string) bool { return s == "b" }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
}
