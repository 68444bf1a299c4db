// Package transporttest is the conformance suite every transport
// implementation passes: the same tests run against the QUIC endpoint on
// loopback and the in-memory network, so code written against
// transport.Endpoint behaves the same on both.
//
// An implementation plugs in through a [Harness] and calls [Run] from one of
// its tests:
//
//	func TestConformance(t *testing.T) { transporttest.Run(t, myHarness{}) }
package transporttest
