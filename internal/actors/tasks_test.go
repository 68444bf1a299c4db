package actors

import (
	"context"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
)

type taskDone struct{ value int }

// taskActor starts a quick task and a task that blocks until cancelled;
// it forwards the quick result to the test and stops its tasks on stop.
type taskActor struct {
	tasks     *Tasks
	results   chan<- int
	cancelled chan<- struct{}
}

func (a *taskActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.tasks = NewTasks()
		a.tasks.Go(ctx, func(context.Context) any { return &taskDone{value: 42} })
		a.tasks.Go(ctx, func(c context.Context) any {
			<-c.Done()
			a.cancelled <- struct{}{}
			return &taskDone{value: -1}
		})
	case *taskDone:
		a.results <- m.value
	case *actor.Stopping:
		a.tasks.Stop()
	}
}

func TestTasksReportAndStop(t *testing.T) {
	s, err := NewSystem(SystemConfig{})
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan int, 2)
	cancelled := make(chan struct{}, 1)
	if _, err := s.Spawn(Props(func() actor.Actor {
		return &taskActor{results: results, cancelled: cancelled}
	}), "tasks"); err != nil {
		t.Fatal(err)
	}
	if got := <-results; got != 42 {
		t.Fatalf("task result %d, want 42", got)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cancelled:
	default:
		t.Fatal("the blocking task was not cancelled before Close returned")
	}
	select {
	case v := <-results:
		t.Fatalf("a result (%d) was delivered after Stop", v)
	default:
	}
}
