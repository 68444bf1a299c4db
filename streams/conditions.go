package streams

import (
	"fmt"
	"slices"

	"github.com/mosaikgo/mosaik/id"
)

// ChannelConditions says when a side of a stream is online, from its
// connected channels alone (channels still connecting or terminated never
// count). Build one with MinimumOf or Unmet and narrow it with WithTags and
// WithPredicate; the zero value means "the side's default" (a producer is
// online with one consumer, a consumer at once).
type ChannelConditions struct {
	set   bool
	min   int
	tags  []id.Tag
	preds []func(ChannelInfo) bool
	unmet bool
}

// MinimumOf is met while at least n channels that pass the other
// conditions are connected. MinimumOf(0) is always met.
func MinimumOf(n int) ChannelConditions { return ChannelConditions{set: true, min: max(n, 0)} }

// Unmet is never met: the side stays offline (Send blocks, TrySend hands
// datums back) until it is given other conditions.
func Unmet() ChannelConditions { return ChannelConditions{set: true, unmet: true} }

// WithTags counts only channels whose peer's catalog entry carries every
// one of tags.
func (c ChannelConditions) WithTags(tags ...id.Tag) ChannelConditions {
	c.set = true
	c.tags = append(slices.Clip(c.tags), tags...)
	return c
}

// WithPredicate counts only channels for which f holds. f runs on the
// actor's goroutine and must not block. Predicates chain with AND.
func (c ChannelConditions) WithPredicate(f func(ChannelInfo) bool) ChannelConditions {
	c.set = true
	c.preds = append(slices.Clip(c.preds), f)
	return c
}

// IsZero reports whether c is the zero value (the side's default).
func (c ChannelConditions) IsZero() bool { return !c.set }

func (c ChannelConditions) or(def ChannelConditions) ChannelConditions {
	if c.set {
		return c
	}
	return def
}

// Met evaluates the conditions over a side's channels.
func (c ChannelConditions) Met(channels []ChannelInfo) bool {
	if c.unmet {
		return false
	}
	return c.count(channels) >= c.min
}

// count is the number of connected channels that pass tags and predicates.
func (c ChannelConditions) count(channels []ChannelInfo) int {
	n := 0
	for _, ch := range channels {
		if ch.State != Connected || !c.admits(ch) {
			continue
		}
		n++
	}
	return n
}

func (c ChannelConditions) admits(ch ChannelInfo) bool {
	for _, t := range c.tags {
		if !ch.Entry.HasTag(t) {
			return false
		}
	}
	for _, p := range c.preds {
		if !p(ch) {
			return false
		}
	}
	return true
}

func (c ChannelConditions) String() string {
	switch {
	case !c.set:
		return "default"
	case c.unmet:
		return "unmet"
	}
	return fmt.Sprintf("minimum of %d (%d tags, %d predicates)", c.min, len(c.tags), len(c.preds))
}
