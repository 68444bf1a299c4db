// Package metrics defines a node's Prometheus metrics and serves them.
//
// Every node owns one [Node]: a set of collectors registered in the
// node's own prometheus.Registry, never in the global default registry,
// so that several nodes in one process (tests, simulations) keep apart.
// The names follow the reference implementation's, with dots turned into
// underscores and counters ending in _total: mosaik.groups.bonds.active
// becomes mosaik_groups_bonds_active. docs/metrics.md lists them all.
//
// The pieces:
//
//   - [Node] holds the node-wide metrics (catalog, groups joined, network
//     traffic) and hands out one [Group] per joined group, whose metrics
//     carry a group label with the group id's short form.
//   - [Node.CountTraffic] wraps a transport.Endpoint so that the payload
//     bytes of every frame its links carry are counted.
//   - [Serve] runs the HTTP listener that exposes a registry at /metrics.
//
// The places that know a fact record it: the discovery actor its catalog
// events, group and bond actors their bonds, leaders, committees and
// traffic. Recording never blocks: counters and gauges are atomic, and
// the few methods that keep state (leader tracking) hold a mutex for a
// few instructions. Every method is safe for concurrent use, and every
// method of a nil *Node or nil *Group does nothing, so that components
// started without metrics (unit tests of the actors) need no checks.
package metrics
