package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/examples/internal/settle"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/testkit"
)

func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }

func TestRunAgreesOnTheTotal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	totals, err := run(ctx, &out, 3, 4)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !slices.Equal(totals, []int64{30, 30, 30}) {
		t.Fatalf("totals %v, want 30 on each of 3 nodes\n%s", totals, out.String())
	}
	if strings.Count(out.String(), "(term ") < 3 {
		t.Fatalf("the apps reported no leader events:\n%s", out.String())
	}
	if _, err := run(ctx, &out, 1, 0); err == nil {
		t.Fatal("zero adds accepted")
	}
}

// TestAppServesOneJobAtATime drives Apps on an in-memory cluster, each
// spawned by a test probe that stands in for the application's
// supervisor and receives the Apps' answers: an addAll that arrives while
// another is in progress is refused, the first completes, and strong
// reads on both nodes then see it.
func TestAppServesOneJobAtATime(t *testing.T) {
	c := testkit.NewCluster(t, 2, testkit.Options{})
	ctx := testkit.Context(t)
	nodes := []*cluster.Node{c.Node(0), c.Node(1)}
	var probes []*testkit.Probe
	var apps []*actor.PID
	var cores []*cluster.Group
	for _, node := range nodes {
		p := testkit.NewProbe(t, node)
		probes, apps = append(probes, p), append(apps, p.Spawn(appProps(node, t.Logf)))
		core, err := node.Join(ctx, counterGroup())
		if err != nil {
			t.Fatal(err)
		}
		cores = append(cores, core)
	}
	if _, err := settle.Await(ctx, cores); err != nil {
		t.Fatal(err)
	}
	// The second request is in the App's mailbox right behind the first,
	// long before the first job's commands can commit: it is refused at
	// once, and the first is answered once applied.
	probes[0].Send(apps[0], &addAll{values: []int64{40, 2}})
	probes[0].Send(apps[0], &addAll{values: []int64{1}})
	if r := testkit.ExpectMsg[*addedAll](probes[0], testkit.DefaultTimeout); r.err == nil || !strings.Contains(r.err.Error(), "already adding") {
		t.Fatalf("second job: %+v, want refused", r)
	}
	if r := testkit.ExpectMsg[*addedAll](probes[0], testkit.DefaultTimeout); r.err != nil || r.lastIndex == 0 {
		t.Fatalf("first job: %+v", r)
	}
	for i, p := range probes {
		p.Send(apps[i], &readTotal{})
		if r := testkit.ExpectMsg[*totalRead](p, testkit.DefaultTimeout); r.err != nil || r.total != 42 {
			t.Fatalf("node %d reads %+v, want 42", i, r)
		}
	}
	probes[0].ExpectNoMsg(100 * time.Millisecond)
}

func TestCounterAppliesEachIDOnce(t *testing.T) {
	c := NewCounter()
	ctx := statemachine.NewApplyContext(id.Of("test/counter"), []uint64{3, 4, 5})
	c.Apply(ctx, []Add{{ID: "a/1", N: 40}, {ID: "a/2", N: 2}, {ID: "a/1", N: 40}})
	if got := c.Query(struct{}{}); got != 42 {
		t.Fatalf("total %d, want 42 (a retried ID counts once)", got)
	}
	var snap bytes.Buffer
	if err := c.Snapshot(&snap); err != nil {
		t.Fatal(err)
	}
	restored := NewCounter()
	if err := restored.Restore(&snap); err != nil {
		t.Fatal(err)
	}
	restored.Apply(statemachine.NewApplyContext(id.Of("test/counter"), []uint64{6}), []Add{{ID: "a/2", N: 2}})
	if got := restored.Query(struct{}{}); got != 42 {
		t.Fatalf("restored total %d, want 42: the snapshot lost the IDs", got)
	}
	if err := restored.Restore(strings.NewReader("{")); err == nil {
		t.Fatal("truncated snapshot restored")
	}
}
