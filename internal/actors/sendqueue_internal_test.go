package actors

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/groups"
)

// TestSendQueueBoundsBytes fills a bond's queue by bytes before frames:
// Raft frames beyond the budget are refused, small frames still fit while
// bytes remain, and a frame larger than the budget goes only into an
// empty queue.
func TestSendQueueBoundsBytes(t *testing.T) {
	frame := groups.RaftMessage(make([]byte, 1000))
	size := proto.Size(frame)
	q := newSendQueue(100, int64(3*size))
	for i := range 3 {
		if !q.offer(frame) {
			t.Fatalf("frame %d refused within the budget", i)
		}
	}
	if q.offer(frame) {
		t.Fatal("a frame past the byte budget was queued")
	}
	if got := q.bytes.Load(); got != int64(3*size) {
		t.Fatalf("%d bytes counted, want %d", got, 3*size)
	}
	for range 3 {
		m := <-q.ch
		q.sent(proto.Size(m))
	}
	huge := groups.RaftMessage(make([]byte, 10*size))
	if !q.offer(huge) {
		t.Fatal("a frame larger than the budget was refused by an empty queue")
	}
	if q.offer(groups.PingMessage(1)) {
		t.Fatal("a frame was queued behind one that already fills the budget")
	}
	q.sent(proto.Size(<-q.ch))
	if q.bytes.Load() != 0 {
		t.Fatalf("%d bytes left after draining", q.bytes.Load())
	}
}

func TestSendQueueBoundsFrames(t *testing.T) {
	q := newSendQueue(2, 1<<20)
	for i := range 2 {
		if !q.offer(groups.PingMessage(uint64(i + 1))) {
			t.Fatalf("frame %d refused", i)
		}
	}
	if q.offer(groups.PingMessage(3)) {
		t.Fatal("a frame past the frame bound was queued")
	}
	if want := int64(2 * proto.Size(groups.PingMessage(1))); q.bytes.Load() != want {
		t.Fatalf("a refused frame kept its bytes: %d, want %d", q.bytes.Load(), want)
	}
}

// TestClosedQueueRefuses: frames for a bond that has stopped are refused
// rather than queued where no one reads.
func TestClosedQueueRefuses(t *testing.T) {
	q := newSendQueue(4, 1<<20)
	if !q.offer(groups.PingMessage(1)) || len(q.ch) != 1 {
		t.Fatal("a frame for a live bond was refused")
	}
	q.closed.Store(true)
	if q.offer(groups.PingMessage(2)) || len(q.ch) != 1 {
		t.Fatal("a frame was queued on a stopped bond")
	}
}

// TestInputQueueSheds: the discovery actor's input queue refuses payloads
// past its count or byte bound, takes one oversized payload when empty,
// and gives room back as the actor takes payloads.
func TestInputQueueSheds(t *testing.T) {
	q := inputQueue{maxInputs: 3, maxBytes: 100}
	for i, want := range []bool{true, true, false} { // 40 + 40 fit, a third 40 passes 100
		if got := q.take(40); got != want {
			t.Fatalf("take %d: %v, want %v", i, got, want)
		}
	}
	if !q.take(20) || q.take(1) {
		t.Fatal("the count bound does not hold at 3 inputs")
	}
	q.release(40)
	q.release(40)
	q.release(20)
	if q.inputs.Load() != 0 || q.bytes.Load() != 0 {
		t.Fatalf("after releasing all: %d inputs, %d bytes", q.inputs.Load(), q.bytes.Load())
	}
	if !q.take(500) {
		t.Fatal("a payload larger than the byte bound was refused by an empty queue")
	}
	if q.take(1) {
		t.Fatal("a payload was taken behind one that fills the byte bound")
	}
}
