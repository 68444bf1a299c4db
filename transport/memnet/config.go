package memnet

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"github.com/mosaikgo/mosaik/transport"
)

// DefaultIdleTimeout is how long a silent link lives unless [Config] says
// otherwise. It is shorter than QUIC deployments use (tens of seconds) so
// that tests of failure detection finish quickly, and long enough that a
// loaded CI machine does not time out a healthy link.
const DefaultIdleTimeout = 5 * time.Second

// ErrBadConfig reports a [Config] or [EndpointConfig] field out of range.
var ErrBadConfig = errors.New("memnet: invalid config")

// Config shapes a [Network]. The zero value is ready to use: every zero
// field takes its default.
type Config struct {
	// Seed seeds the random source behind SetDropRate and SetJitter, so a
	// failing test replays with the same losses and delays. Default 0,
	// which is itself a fixed seed.
	Seed int64

	// MaxFrameSize is the largest frame payload, in bytes, an endpoint
	// sends or accepts unless its [EndpointConfig] overrides it. Default
	// [transport.DefaultMaxFrameSize], the QUIC transport's, so code tested
	// here meets the limit it will meet in production.
	MaxFrameSize int

	// IdleTimeout is how long a link goes without hearing from its peer
	// before it closes with [transport.ErrTimeout]. Only a partition or a
	// killed peer silences a link. Default [DefaultIdleTimeout]; tests of
	// failure detection set it to a few hundred milliseconds.
	IdleTimeout time.Duration
}

// DefaultConfig returns the configuration the zero Config stands for, with
// every default spelled out.
func DefaultConfig() Config {
	return Config{
		MaxFrameSize: transport.DefaultMaxFrameSize,
		IdleTimeout:  DefaultIdleTimeout,
	}
}

// Validate reports the first field out of range, by name.
func (c Config) Validate() error {
	if c.MaxFrameSize < 0 {
		return fmt.Errorf("%w: MaxFrameSize %d is negative", ErrBadConfig, c.MaxFrameSize)
	}
	if c.IdleTimeout < 0 {
		return fmt.Errorf("%w: IdleTimeout %v is negative", ErrBadConfig, c.IdleTimeout)
	}
	return nil
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	c.MaxFrameSize = cmp.Or(c.MaxFrameSize, d.MaxFrameSize)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, d.IdleTimeout)
	return c
}

// EndpointConfig shapes one [Endpoint]. The zero value inherits everything
// from the network's [Config].
type EndpointConfig struct {
	// MaxFrameSize is the largest frame payload, in bytes, this endpoint
	// sends or accepts. Default: the network's MaxFrameSize. Tests set it
	// low on one side to exercise the receiver's limit.
	MaxFrameSize int

	// FirstFrameSize is the largest payload, in bytes, of the first frame
	// each of this endpoint's links receives, as the QUIC transport's
	// Config.FirstFrameSize: later frames may reach MaxFrameSize. Default
	// [transport.DefaultFirstFrameSize], or MaxFrameSize if that is
	// smaller.
	FirstFrameSize int
}

// Validate reports the first field out of range, by name.
func (c EndpointConfig) Validate() error {
	if c.MaxFrameSize < 0 {
		return fmt.Errorf("%w: EndpointConfig.MaxFrameSize %d is negative", ErrBadConfig, c.MaxFrameSize)
	}
	if c.FirstFrameSize < 0 {
		return fmt.Errorf("%w: EndpointConfig.FirstFrameSize %d is negative", ErrBadConfig, c.FirstFrameSize)
	}
	return nil
}
