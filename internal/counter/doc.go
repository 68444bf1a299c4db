// Package counter is the replicated counter the project's own tests run on
// groups: commands add to a total, queries read it. Tests that need a
// state machine with a visible, order-independent result use it rather
// than writing their own.
package counter
