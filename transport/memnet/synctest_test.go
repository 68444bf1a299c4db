package memnet_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/transport"
	"github.com/mosaikgo/mosaik/transport/memnet"
)

// TestVirtualTime runs the default five-second idle timeout and a delay
// under testing/synctest: memnet's timers follow the bubble's fake clock,
// so failure-detection tests need not shorten their timeouts or wait.
func TestVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := newNet(t, memnet.Config{})
		_, b, dialed, served := pair(t, net)

		net.SetDelay(250 * time.Millisecond)
		start := time.Now()
		send(t, dialed, &messages.Ping{Nonce: 1})
		recv(t, served)
		if took := time.Since(start); took != 250*time.Millisecond {
			t.Fatalf("delayed frame took %v of virtual time, want exactly 250ms", took)
		}

		killed := time.Now()
		net.Kill(b.PeerID())
		if err := recvErr(t, dialed); !errors.Is(err, transport.ErrTimeout) {
			t.Fatalf("err = %v, want ErrTimeout", err)
		}
		if took := time.Since(killed); took != memnet.DefaultIdleTimeout {
			t.Fatalf("timed out after %v of virtual time, want %v", took, memnet.DefaultIdleTimeout)
		}
		if _, err := net.Listen(id.NewSecretKey(), memnet.EndpointConfig{}); err != nil {
			t.Fatalf("Listen: %v", err)
		}
	})
}
