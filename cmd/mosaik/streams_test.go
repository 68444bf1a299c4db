package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/streams"
)

func TestWriteStreams(t *testing.T) {
	orders, fills := id.Of("orders"), id.Of("fills")
	target := discovery.Entry{Streams: []id.Digest{orders, streams.ConsumerMark(fills)}}
	producer := discovery.Entry{Streams: []id.Digest{fills}}
	var out bytes.Buffer
	writeStreams(&out, target, []discovery.Entry{target, producer})
	got := out.String()
	for _, want := range []string{"streams of", ": 2", "produces  " + orders.Short(), "consumes  " + fills.Short()} {
		if !strings.Contains(got, want) {
			t.Fatalf("output lacks %q:\n%s", want, got)
		}
	}
}
