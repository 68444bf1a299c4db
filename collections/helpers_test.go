package collections_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/mosaikgo/mosaik/collections"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/testkit"
)

// def names a collection for a test, with the fast consensus profile.
func def(name string) collections.Def {
	return collections.Def{Store: id.Of("test/" + name), Config: collections.Config{Consensus: groups.FastConsensus()}}
}

// must(f())(t) fails the test when f returned an error, else returns
// f's value.
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

type waiter interface {
	When() *collections.When
}

// online waits until every handle is online.
func online(t testing.TB, ctx context.Context, hs ...waiter) {
	t.Helper()
	for i, h := range hs {
		if err := h.When().Online(ctx); err != nil {
			t.Fatalf("handle %d not online: %v", i, err)
		}
	}
}

// reach waits until every handle reflects version v.
func reach(t testing.TB, ctx context.Context, v collections.Version, hs ...waiter) {
	t.Helper()
	for i, h := range hs {
		if err := h.When().Reaches(ctx, v); err != nil {
			t.Fatalf("handle %d did not reach version %d: %v", i, v, err)
		}
	}
}

type closer interface {
	Close(context.Context) error
}

// closeAll closes handles at the end of the test (before the cluster).
func closeAll(t testing.TB, hs ...closer) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testkit.DefaultTimeout)
		defer cancel()
		for _, h := range hs {
			if err := h.Close(ctx); err != nil {
				t.Errorf("close: %v", err)
			}
		}
	})
}

func collect[K comparable, V any](seq func(func(K, V) bool)) map[K]V {
	return maps.Collect(seq)
}

func list[T any](seq func(func(T) bool)) []T { return slices.Collect(seq) }
