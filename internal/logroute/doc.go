// Package logroute carries the log lines of mosaik's libraries
// (dragonboat, memberlist, protoactor-go) into the *slog.Logger of the node
// they belong to, with levels, without touching the process-wide log
// package or slog's default logger.
//
// dragonboat's logger factory is process-global and its package loggers
// do not say which NodeHost they serve, so dragonboat's lines go to a
// process-wide [Router] that forwards each line to every live node's
// logger: with two nodes in one process each receives the lines of both.
// memberlist and protoactor-go take a logger per instance, so their lines
// reach their own node only ([Writer], [Demote]).
//
// Importing this package (cluster does) also undoes the takeover of the
// standard log package that dragonboat's capnslog performs in its init:
// when log's output is still capnslog's, it is set back to the standard
// library's defaults (os.Stderr, log.LstdFlags), so that a program's own
// log.Printf and slog lines keep their usual format. A program that set
// its own log output before is left alone.
//
// Everything here is safe for concurrent use; nothing blocks beyond the
// handlers it forwards to.
package logroute
