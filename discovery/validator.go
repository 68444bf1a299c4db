package discovery

import "github.com/mosaikgo/mosaik/id"

// TicketValidator decides whether a peer's tickets admit it: to bond with
// a group's members, to subscribe to a stream, to consume one. Validators
// are the extension point of tickets; package tickets has a JWT one.
//
// Contract:
//
//   - Class names the tickets it reads: only those of its class are given
//     to Validate.
//   - Signature names its configuration (class, keys, rules): it is folded
//     into the id of every group that requires the validator, in order, so
//     that nodes configured differently never meet. Equal configurations
//     must give equal signatures on every node.
//   - Validate checks one ticket's data for the peer whose entry carries
//     it, and returns until when it holds. It must be deterministic for a
//     given time, safe for concurrent use, and must not block: it runs on
//     actors' goroutines and in handshakes. A ticket that has expired is
//     an error, not an Expiration in the past.
type TicketValidator interface {
	Class() id.Digest
	Signature() id.Digest
	Validate(data []byte, entry Entry) (Expiration, error)
}
