package testkit

import (
	"errors"
	"sync"
	"testing"
)

func TestHistoryRecordsCallsInOrder(t *testing.T) {
	h := NewHistory()
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Go(func() {
			for i := range 25 {
				op := h.Invoke(c, i)
				var err error
				if i%5 == 0 {
					err = errors.New("timeout")
				}
				h.Return(op, i*2, err)
			}
		})
	}
	wg.Wait()
	ops := h.Operations()
	if len(ops) != 100 {
		t.Fatalf("%d operations, want 100", len(ops))
	}
	failed := 0
	for i, o := range ops {
		if o.Return < o.Call || o.Output != o.Input.(int)*2 {
			t.Fatalf("op %d: %+v", i, o)
		}
		if i > 0 && o.Call < ops[i-1].Call {
			t.Fatalf("op %d was invoked before op %d but listed after it", i, i-1)
		}
		if o.Err != nil {
			failed++
		}
	}
	if failed != 20 {
		t.Fatalf("%d failed calls, want 20", failed)
	}
}
