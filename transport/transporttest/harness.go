package transporttest

import (
	"testing"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/transport"
)

// Options shape the endpoints a [Harness] makes.
type Options struct {
	// MaxFrameSize bounds received frames; zero means the implementation's
	// default.
	MaxFrameSize int
	// FirstFrameSize bounds the first frame each link receives; zero means
	// the implementation's default.
	FirstFrameSize int
}

// Harness adapts one transport implementation to the conformance suite.
type Harness interface {
	// NewEndpoint starts an endpoint for key. The harness closes it in
	// t.Cleanup if the test has not.
	NewEndpoint(t testing.TB, key id.SecretKey, opts Options) transport.Endpoint

	// Partition splits the endpoints made so far into groups that cannot
	// reach each other; endpoints not named keep full reachability.
	// Traffic that crosses the cut stalls, as on a real network.
	Partition(groups ...[]transport.Endpoint)

	// Heal undoes Partition.
	Heal()
}
