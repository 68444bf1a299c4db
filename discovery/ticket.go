package discovery

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
)

// Errors of ticket validation.
var (
	// ErrNoValidTicket: the entry carries no ticket that the validator
	// accepts (none of its class, or none that passes).
	ErrNoValidTicket = errors.New("discovery: no valid ticket")
	// ErrBadTicket is wrapped by errors of a malformed ticket in an entry.
	ErrBadTicket = errors.New("discovery: malformed ticket")
)

// MaxTicketSize bounds one ticket's data in bytes. Tickets travel in the
// signed entry, which must stay small enough to gossip; a JWT is a few
// hundred bytes.
const MaxTicketSize = 4096

// Ticket is a public credential a peer carries in its signed entry. Class
// names the kind (and so the validators that read it); Data is the
// credential itself, e.g. a JWT.
type Ticket struct {
	Class id.Digest
	Data  []byte
}

// ID names the ticket: its class derived with its data, so equal tickets
// have equal ids on every node.
func (t Ticket) ID() id.Digest { return t.Class.Derive(t.Data) }

func (t Ticket) proto() *messages.Ticket {
	return &messages.Ticket{Class: t.Class.Proto(), Data: t.Data}
}

func ticketFromProto(m *messages.Ticket) (Ticket, error) {
	class, err := id.DigestFromProto(m.GetClass())
	if err != nil {
		return Ticket{}, fmt.Errorf("%w: class: %w", ErrBadTicket, err)
	}
	if len(m.GetData()) > MaxTicketSize {
		return Ticket{}, fmt.Errorf("%w: %d bytes, at most %d", ErrBadTicket, len(m.GetData()), MaxTicketSize)
	}
	return Ticket{Class: class, Data: m.GetData()}, nil
}

// Expiration is until when a ticket holds: Never, or At a time. Never is
// later than any At; the zero value is Never.
type Expiration struct {
	at time.Time // zero: never
}

// Never is the expiration of a ticket that does not expire.
func Never() Expiration { return Expiration{} }

// At is the expiration of a ticket that holds until t (exclusive).
func At(t time.Time) Expiration {
	if t.IsZero() {
		t = time.Unix(0, 1) // the zero time means never; a real one is not zero
	}
	return Expiration{at: t}
}

// IsNever reports whether the expiration is Never.
func (e Expiration) IsNever() bool { return e.at.IsZero() }

// Time is the expiration's time; zero for Never.
func (e Expiration) Time() time.Time { return e.at }

// Before reports whether e comes strictly before o.
func (e Expiration) Before(o Expiration) bool {
	switch {
	case e.IsNever():
		return false
	case o.IsNever():
		return true
	}
	return e.at.Before(o.at)
}

// Equal reports whether e and o are the same expiration (times compared
// as instants, whatever their location).
func (e Expiration) Equal(o Expiration) bool {
	return e.IsNever() == o.IsNever() && e.at.Equal(o.at)
}

// String is "never" or the time in RFC 3339.
func (e Expiration) String() string {
	if e.IsNever() {
		return "never"
	}
	return e.at.UTC().Format(time.RFC3339Nano)
}

// TicketsOf returns the entry's tickets of class.
func (e Entry) TicketsOf(class id.Digest) []Ticket {
	var out []Ticket
	for _, t := range e.Tickets {
		if t.Class == class {
			out = append(out, t)
		}
	}
	return out
}

// ValidateTicket checks the entry's tickets of v's class with v, and
// returns the longest expiration among those that pass, or an error
// matching ErrNoValidTicket (wrapping the last refusal, if any).
func (e Entry) ValidateTicket(v TicketValidator) (Expiration, error) {
	var best Expiration
	var found bool
	var last error
	for _, t := range e.TicketsOf(v.Class()) {
		exp, err := v.Validate(t.Data, e)
		if err != nil {
			last = err
			continue
		}
		if !found || best.Before(exp) {
			best, found = exp, true
		}
	}
	if !found {
		if last != nil {
			return Expiration{}, fmt.Errorf("%w for %s: %w", ErrNoValidTicket, v.Class().Short(), last)
		}
		return Expiration{}, fmt.Errorf("%w for %s: none of its class", ErrNoValidTicket, v.Class().Short())
	}
	return best, nil
}

// HasValidTicket reports whether a ticket of the entry passes v.
func (e Entry) HasValidTicket(v TicketValidator) bool {
	_, err := e.ValidateTicket(v)
	return err == nil
}

// ValidateTickets checks the entry against every validator (each needs a
// ticket of its own that passes) and returns the earliest of their
// expirations: when the first of them lapses, the entry no longer
// qualifies. No validators admit every entry, for good (Never).
func (e Entry) ValidateTickets(vs []TicketValidator) (Expiration, error) {
	until := Never()
	for _, v := range vs {
		exp, err := e.ValidateTicket(v)
		if err != nil {
			return Expiration{}, err
		}
		if exp.Before(until) {
			until = exp
		}
	}
	return until, nil
}

// WithTicket returns a copy of tickets with t added (or kept, if a ticket
// of the same id is there).
func WithTicket(tickets []Ticket, t Ticket) []Ticket {
	if slices.ContainsFunc(tickets, func(o Ticket) bool { return o.ID() == t.ID() }) {
		return slices.Clone(tickets)
	}
	return append(slices.Clone(tickets), Ticket{Class: t.Class, Data: slices.Clone(t.Data)})
}
