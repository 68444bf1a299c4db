// Package tickets issues and checks the credentials that gate groups and
// streams: public tickets a peer carries in its signed catalog entry, and
// validators that admit a peer by them.
//
// A ticket (discovery.Ticket) has a class and data; a validator
// (discovery.TicketValidator) reads the tickets of its class. This
// package's validator is JWT: it accepts JSON Web Tokens signed by the
// keys it is given (HMAC, ECDSA or ed25519) and checks their claims:
// expiry with no leeway, issuer, audience, the subject (by default the
// holder's own peer id, so a ticket cannot be lent), required claims,
// lifetime and age. JWTBuilder makes such tokens.
//
// A group that requires validators (GroupConfig.Tickets) folds their
// signatures into its id, so only members configured alike ever meet; it
// checks a peer's tickets when a bond is made and again on every change of
// the peer's entry and every group tick, and closes the bond (30 403) once
// they no longer hold: revoked (taken out of the entry) or expired. With
// GroupKeyFromValidator, members that share only a validator's
// configuration find each other without a shared secret.
//
// Everything here is a plain value and safe for concurrent use; a
// validator's Now, if set, must be too.
package tickets
