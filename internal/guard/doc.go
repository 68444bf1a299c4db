// Package guard holds tests that keep the module's layout honest, as a
// linter would: every package says what it is for in a doc.go; examples
// and commands use only what a user's module could import; tests wait for
// conditions instead of sleeping, outside synctest's fake clock; and the
// pure protocol cores never import the shells that do I/O around them.
// It has no code of its own: run it with `go test ./internal/guard`.
package guard
