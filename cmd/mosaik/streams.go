package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/streams"
)

// nodeStream is one stream a node's entry advertises.
type nodeStream struct {
	role   string // "produces" or "consumes"
	stream id.Digest
}

// streamsOf reads a node's streams from its entry. A producer advertises
// the stream id; a consumer streams.ConsumerMark(id), which names the
// stream only when some producer of it is in the catalog (otherwise the
// mark is listed as a stream produced, for want of a name).
func streamsOf(target discovery.Entry, catalog []discovery.Entry) []nodeStream {
	marks := map[id.Digest]id.Digest{}
	for _, e := range catalog {
		for _, s := range e.Streams {
			marks[streams.ConsumerMark(s)] = s
		}
	}
	var out []nodeStream
	for _, s := range target.Streams {
		if stream, ok := marks[s]; ok {
			out = append(out, nodeStream{role: "consumes", stream: stream})
			continue
		}
		out = append(out, nodeStream{role: "produces", stream: s})
	}
	slices.SortFunc(out, func(a, b nodeStream) int {
		if a.role != b.role {
			return -cmp.Compare(a.role, b.role) // produces first
		}
		return a.stream.Compare(b.stream)
	})
	return out
}

// writeStreams prints the streams of the node status was asked about.
func writeStreams(w io.Writer, target discovery.Entry, catalog []discovery.Entry) {
	ss := streamsOf(target, catalog)
	fmt.Fprintf(w, "streams of %s: %d\n", target.Peer.Short(), len(ss))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range ss {
		fmt.Fprintf(tw, "  %s\t%s\n", s.role, s.stream.Short())
	}
	tw.Flush()
}
