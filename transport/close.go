package transport

import (
	"errors"
	"fmt"
	"strconv"
)

// CloseCode is the application code a link closes with. The values are the
// reference implementation's, so logs read the same across implementations.
type CloseCode uint32

// Transport-level close codes.
const (
	CodeInvalidALPN       CloseCode = 100
	CodeDifferentNetwork  CloseCode = 101
	CodeCancelled         CloseCode = 102
	CodeSuccess           CloseCode = 200
	CodeGracefulShutdown  CloseCode = 204
	CodeProtocolViolation CloseCode = 400
	CodeUnknownPeer       CloseCode = 401
)

// Group bond close codes (see package actors and ARCHITECTURE.md section 7).
const (
	CodeBadHandshake  CloseCode = 30_400
	CodeNotAllowed    CloseCode = 30_403
	CodeGroupNotFound CloseCode = 30_404
	CodeInvalidProof  CloseCode = 30_405
	CodeTimeout       CloseCode = 30_408
	CodeAlreadyBonded CloseCode = 30_429
)

// Stream channel close codes (see package streams).
const (
	CodeStreamNotAllowed CloseCode = 10_403
	CodeStreamNotFound   CloseCode = 10_404
	CodeTooSlow          CloseCode = 10_413
	CodeNoCapacity       CloseCode = 10_509
)

var codeNames = map[CloseCode]string{
	CodeInvalidALPN:       "invalid ALPN",
	CodeDifferentNetwork:  "different network",
	CodeCancelled:         "cancelled",
	CodeSuccess:           "success",
	CodeGracefulShutdown:  "graceful shutdown",
	CodeProtocolViolation: "protocol violation",
	CodeUnknownPeer:       "unknown peer",
	CodeBadHandshake:      "bad handshake",
	CodeNotAllowed:        "not allowed",
	CodeGroupNotFound:     "group not found",
	CodeInvalidProof:      "invalid proof",
	CodeTimeout:           "timeout",
	CodeAlreadyBonded:     "already bonded",
	CodeStreamNotAllowed:  "stream not allowed",
	CodeStreamNotFound:    "stream not found",
	CodeTooSlow:           "too slow",
	CodeNoCapacity:        "no capacity",
}

// String names the code, or prints its number if it has no name.
func (c CloseCode) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return "code " + strconv.FormatUint(uint64(c), 10)
}

// CloseError tells why a link closed.
type CloseError struct {
	Code   CloseCode
	Reason string
	// Remote is true when the other side closed the link (or its endpoint
	// went away), false when this side did.
	Remote bool
}

func (e *CloseError) Error() string {
	side := "locally"
	if e.Remote {
		side = "by peer"
	}
	if e.Reason == "" {
		return fmt.Sprintf("transport: link closed %s: %d %s", side, uint32(e.Code), e.Code)
	}
	return fmt.Sprintf("transport: link closed %s: %d %s: %s", side, uint32(e.Code), e.Code, e.Reason)
}

// Is makes errors.Is(err, &CloseError{Code: c}) match any close with code c.
func (e *CloseError) Is(target error) bool {
	t, ok := target.(*CloseError)
	return ok && t.Code == e.Code
}

// CodeOf returns the close code carried by err, if any.
func CodeOf(err error) (CloseCode, bool) {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code, true
	}
	return 0, false
}
