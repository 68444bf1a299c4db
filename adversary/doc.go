// Package adversary attacks a mosaik node the way an outsider on its
// network could, without any key of the network, and its tests check
// that the node's memory, catalog and goroutines stay within their
// bounds and that it still serves afterwards.
//
// The pieces an attack is made of:
//
//   - [Outsider] is a host with a QUIC socket and a certificate of its own
//     making. It completes handshakes (which anyone can: the certificate
//     proves only a key the outsider made), opens raw links and writes
//     frames by hand: announced lengths it never sends, garbage, bad
//     preambles. Several outsiders on different loopback addresses
//     (127.0.0.2, ...) stand for several hosts.
//   - [Fakes] signs entries with fresh keys (anyone may sign an entry
//     about a key of their own), advertising addresses and groups of the
//     attacker's choice, or breaks their signatures; [Outsider.Push] offers
//     them over a catalog sync link, in either version of the sync
//     protocol (written with protowire, so that this package builds on
//     trees before sync/2 too, for before-and-after measurements).
//   - [Gossiper] sends the same entries as gossip broadcasts to the node's
//     memberlist port.
//   - [HeapAfterGC], [RSS] and [PeakSampler] measure the victim.
//
// # The tests
//
// Each test starts a victim node (package cluster, QUIC on loopback, the
// fast discovery profile), measures it at rest, attacks it, and asserts a
// bound: the live heap grows by less than [HeapBound] (64 MiB) with 100
// hostile connections, the catalog stays within its MaxPeers, goroutines
// return to where they were, refused links get the documented close
// codes, and the victim still syncs catalogs with a friend and commits a
// command in a two-node group afterwards. The attacker runs in the test's
// process, so the heap figures include its own side of every connection:
// they overstate the victim's cost.
//
// At the default sizes the suite takes about 20 s and runs in the normal
// test command. The long run raises every size tenfold or more (1,000
// connections, 100,000 flooded entries) and logs the figures:
//
//	go test -run . -count=1 -timeout 30m -v ./adversary -adversary.long
//
// Command adversary (adversary/cmd/adversary) runs the victim and the
// attacks in separate processes, for RSS figures of one node under
// attack; docs/operations.md records them.
package adversary
