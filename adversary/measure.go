package adversary

import (
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"
)

// heapObjects is runtime/metrics' count of bytes in heap objects, live
// and not yet swept.
const heapObjects = "/memory/classes/heap/objects:bytes"

// heapLive is the live heap as marked by the last garbage collection.
const heapLive = "/gc/heap/live:bytes"

func readMetric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// HeapAfterGC collects garbage and returns the bytes of live heap objects:
// what the process holds at this moment, attacker and victim alike when
// both run in it.
func HeapAfterGC() uint64 {
	runtime.GC()
	return readMetric(heapObjects)
}

// RSS returns the process's resident set size in bytes (Linux; 0
// elsewhere).
func RSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// PeakSampler records the highest live heap (as of each garbage
// collection) and the most goroutines seen while it runs. Stop ends its
// goroutine and waits for it.
type PeakSampler struct {
	stop chan struct{}
	done sync.WaitGroup

	mu         sync.Mutex
	heap       uint64
	goroutines int
}

// SamplePeaks starts sampling every interval.
func SamplePeaks(interval time.Duration) *PeakSampler {
	p := &PeakSampler{stop: make(chan struct{})}
	p.done.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			p.sample()
			select {
			case <-t.C:
			case <-p.stop:
				return
			}
		}
	})
	return p
}

func (p *PeakSampler) sample() {
	h, g := readMetric(heapLive), runtime.NumGoroutine()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.heap, p.goroutines = max(p.heap, h), max(p.goroutines, g)
}

// Stop ends sampling and returns the peaks.
func (p *PeakSampler) Stop() (heap uint64, goroutines int) {
	close(p.stop)
	p.done.Wait()
	p.sample()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.heap, p.goroutines
}

// MiB formats a byte count in MiB.
func MiB(b uint64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MiB" }

// HeapBound is how much the live heap may grow while a victim holds up to
// 100 hostile connections (each announcing a maximal first frame, sending
// part of one, or nothing), or takes a flood of entries, attacker
// included when it shares the process.
const HeapBound = 64 << 20

// attackerPerConn is what one hostile connection costs the attacker's own
// side (quic-go's client state and buffers), when it shares the process
// with the victim.
const attackerPerConn = 64 << 10

// HeapBoundFor is the bound for conns hostile connections: HeapBound, and
// beyond 100 connections 64 KiB more for each, the attacker's own side of
// it. The victim's own share does not grow with them: it holds at most
// its MaxUnauthenticated connections (256) before it refuses more.
func HeapBoundFor(conns int) uint64 {
	return HeapBound + uint64(max(conns-100, 0))*attackerPerConn
}
