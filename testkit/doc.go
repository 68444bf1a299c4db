// Package testkit runs whole mosaik clusters inside one test.
//
// [NewCluster] starts n nodes on an in-memory network (package memnet):
// transport links and memberlist gossip both travel through it, so a test
// can partition nodes, drop or delay traffic, and kill nodes, and failure
// detection notices exactly as it would on a real network. With
// Options.Loopback the same cluster runs on real QUIC and memberlist
// sockets over 127.0.0.1 instead; there Kill can only close a node, which
// peers see as a graceful leave.
//
// Everything a cluster starts is closed in t.Cleanup, after which the kit
// checks that no goroutine started during the test is still running.
//
// Tests never sleep to let the cluster settle: they wait for a condition
// with a deadline, through [WaitFor], [Cluster.DiscoverAll] or the
// catalog's Changed channels.
//
// A Cluster is not safe for concurrent use by several goroutines of one
// test; the nodes in it are. Its leak check counts every goroutine started
// during the test, so tests using the kit must not run with t.Parallel().
package testkit
