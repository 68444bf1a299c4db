package actors

import (
	"context"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
)

// TestCompactRegistry checks that a system's process registry is cut
// down to registryBuckets maps and still finds both what the system
// registered before the swap and actors spawned after it.
func TestCompactRegistry(t *testing.T) {
	s, err := NewSystem(SystemConfig{Name: "registry"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	reg := s.sys.ProcessRegistry
	if got := len(reg.LocalPIDs.LocalPIDs); got != registryBuckets {
		t.Fatalf("registry has %d maps, want %d", got, registryBuckets)
	}
	if _, ok := reg.GetLocal("eventstream"); !ok {
		t.Fatal("the event stream registered while the system started is lost")
	}
	if _, ok := reg.GetLocal(s.root.Id); !ok {
		t.Fatalf("root actor %s not found", s.root.Id)
	}
	pid, err := s.sys.Root.SpawnNamed(actor.PropsFromFunc(func(actor.Context) {}), "probe")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := reg.GetLocal(pid.Id); !ok {
		t.Fatalf("spawned actor %s not found", pid.Id)
	}
	if err := s.sys.Root.StopFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, ok := reg.GetLocal(pid.Id); ok {
		t.Fatalf("stopped actor %s still registered", pid.Id)
	}
}
