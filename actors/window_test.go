package actors

import "testing"

func TestWindow(t *testing.T) {
	type step struct {
		acquire, release int
		wantOK           bool
		wantInFlight     int
	}
	tests := []struct {
		name  string
		size  int
		steps []step
	}{
		{"fills then refuses", 3, []step{
			{acquire: 1, wantOK: true, wantInFlight: 1},
			{acquire: 2, wantOK: true, wantInFlight: 3},
			{acquire: 1, wantOK: false, wantInFlight: 3},
		}},
		{"release makes room", 2, []step{
			{acquire: 2, wantOK: true, wantInFlight: 2},
			{acquire: 1, wantOK: false, wantInFlight: 2},
			{release: 1, wantOK: true, wantInFlight: 1},
			{acquire: 1, wantOK: true, wantInFlight: 2},
		}},
		{"oversized request admitted alone", 2, []step{
			{acquire: 5, wantOK: true, wantInFlight: 5},
			{acquire: 1, wantOK: false, wantInFlight: 5},
			{release: 5, wantOK: true, wantInFlight: 0},
		}},
		{"oversized request waits for an empty window", 2, []step{
			{acquire: 1, wantOK: true, wantInFlight: 1},
			{acquire: 5, wantOK: false, wantInFlight: 1},
		}},
		{"zero is free", 1, []step{
			{acquire: 1, wantOK: true, wantInFlight: 1},
			{acquire: 0, wantOK: true, wantInFlight: 1},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWindow(tc.size)
			for i, s := range tc.steps {
				ok := true
				if s.release > 0 {
					w.Release(s.release)
				} else {
					ok = w.TryAcquire(s.acquire)
				}
				if ok != s.wantOK || w.InFlight() != s.wantInFlight {
					t.Fatalf("step %d: ok=%v inFlight=%d, want ok=%v inFlight=%d", i, ok, w.InFlight(), s.wantOK, s.wantInFlight)
				}
				if w.Available() != max(tc.size-w.InFlight(), 0) {
					t.Fatalf("step %d: Available()=%d", i, w.Available())
				}
			}
		})
	}
}

func TestWindowOverReleasePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("releasing more than in flight did not panic")
		}
	}()
	w := NewWindow(2)
	w.TryAcquire(1)
	w.Release(2)
}
