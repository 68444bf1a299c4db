// Command adversary measures one mosaik node under attack, with victim and
// attacker in separate processes, so that the victim's resident memory is
// its own.
//
//	go run ./adversary/cmd/adversary victim [-secret S] [-group]
//	go run ./adversary/cmd/adversary attack -addr A -gossip G -scenario frames|body|flood|gossip [-conns N] [-entries N]
//
// The victim starts a node on loopback with the default configuration,
// prints its addresses ("transport ADDR", "gossip ADDR", with -group the
// id of the group it joins), then a line of figures every half second:
// resident memory, live heap, goroutines, catalog size. The attacker runs
// one scenario against it and exits:
//
//   - frames: -conns connections on the bond protocol, each announcing a
//     16 MiB first frame and sending nothing more, held for -hold;
//   - body: the same, each also sending the 16 MiB;
//   - flood: -entries entries signed by fresh keys, pushed over catalog
//     syncs of -batch entries each (-sync v1 or v2 picks the protocol
//     version the victim speaks), advertising -group if given;
//   - gossip: the same entries as gossip broadcasts, one packet each.
//
// docs/operations.md records the figures of main before the hardening
// and after, from this command.
package main
