package actors

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/lni/dragonboat/v4"
)

// TestReplicaGone: the errors dragonboat gives for a call made on a shard
// the lifecycle has just stopped mean "offline for a moment"; the others
// are the call's own.
func TestReplicaGone(t *testing.T) {
	for _, tc := range []struct {
		err  error
		gone bool
	}{
		{dragonboat.ErrShardNotFound, true},
		{dragonboat.ErrShardClosed, true},
		{dragonboat.ErrShardNotInitialized, true},
		{fmt.Errorf("read: %w", dragonboat.ErrShardNotFound), true},
		{dragonboat.ErrShardNotReady, false}, // retried on the same replica
		{dragonboat.ErrSystemBusy, false},
		{dragonboat.ErrClosed, false}, // the node is closing: not a moment
		{context.DeadlineExceeded, false},
		{errors.New("machine failed"), false},
		{nil, false},
	} {
		if got := replicaGone(tc.err); got != tc.gone {
			t.Errorf("replicaGone(%v) = %v, want %v", tc.err, got, tc.gone)
		}
	}
}
