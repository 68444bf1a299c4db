// Command mosaik runs and inspects mosaik nodes.
//
//	mosaik demo   [-n 3] [-rate 20] [-kill-after 5s] [-duration 12s] [-plain] [-capture FILE]
//	mosaik beacon [-network NAME] [-secret S] [-gossip ADDR] [-listen ADDR] [-seed ADDR]... [-tag T]...
//	mosaik join   -seed ADDR [-network NAME] [-group SECRET] [-rate 2] [-data DIR]
//	mosaik ping   [-network NAME] ADDR
//	mosaik status [-network NAME] ADDR
//
// demo starts a cluster of nodes in one process, on real QUIC and
// memberlist sockets over 127.0.0.1. The nodes form a group that replicates
// a counter, each node submits increments at a steady rate, and after a
// while the leader's node is killed: the view shows the others elect a new
// leader and commits continue. On a terminal the view is redrawn in place
// with plain ANSI sequences (no terminal queries, so it starts at once);
// otherwise it prints status lines and events. It ends by itself, or on
// Ctrl-C or SIGTERM, and closes every node before it exits.
//
// beacon runs a long-lived node that other nodes bootstrap from: it prints
// its gossip address as "seed: ADDR" and runs until SIGINT or SIGTERM.
// Its identity comes from -secret or $MOSAIK_SECRET, so it keeps its peer
// id across restarts. join runs one node of the demo's counter group
// against such a seed and prints its status every second.
//
// ping and status take a node's gossip address. Gossip carries no peer id
// to dial, so they start a short-lived node of the same network (-network
// must match), force one full state exchange with the target, print what
// it sent (ping: the target's signed entry and the exchange's round trip;
// status: its own view of each group it joined, with leader, term,
// committee and applied index, then its whole catalog and the groups in
// it; -json prints either as one object) and leave.
//
// Exit codes: 0 on success and on a clean stop by signal, 1 on failure, 2
// on bad usage.
package main
