package fault

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
)

// Code says what went wrong. The values are stable: logs and tests use them.
type Code string

const (
	// Internal: nothing classified the error (a bug, or a failure nobody
	// foresaw). Retried, like every error not marked terminal.
	Internal Code = "Internal"
	// Unavailable: a dependency could not answer now (transport failure,
	// 408, 429, 5xx, a "try again" error code).
	Unavailable Code = "Unavailable"
	// Timeout: a deadline ran out (a try's or the caller's).
	Timeout Code = "Timeout"
	// Canceled: the caller's context was canceled (shutdown, client gone).
	Canceled Code = "Canceled"
	// Conflict: someone else wrote or holds it first (a stale ETag, a row
	// that exists, a claim held by another invocation): re-read, try again.
	Conflict Code = "Conflict"
	// Invalid: bad input that no retry can fix (an invalid argument, a
	// malformed event, a key or value over a Table storage limit).
	Invalid Code = "Invalid"
	// NotFound: the resource or record does not exist.
	NotFound Code = "NotFound"
	// Forbidden: a dependency refused plsgate itself (401/403: its role or token).
	Forbidden Code = "Forbidden"
	// Refused: a dependency refused the request (another 4xx).
	Refused Code = "Refused"
)

// Codes lists every code; the mapping tables are tested to cover them all.
func Codes() []Code {
	return []Code{Internal, Unavailable, Timeout, Canceled, Conflict, Invalid, NotFound, Forbidden, Refused}
}

// Error is plsgate's error. The zero class is retry; Terminal opts out.
type Error struct {
	Code Code
	// Terminal: a retry cannot help; acknowledge, log, do not redeliver.
	Terminal bool
	// Service names the dependency that answered ("Azure Resource Manager",
	// "Table storage"); "" when plsgate itself found the problem.
	Service string
	// Op is what was being done; it prefixes the message.
	Op string
	// Msg is the message of a sentinel (an Error without Err).
	Msg string
	Err error
}

func (e *Error) Error() string {
	msg := e.Msg
	if e.Err != nil {
		if msg != "" {
			msg += ": "
		}
		msg += e.Err.Error()
	}
	if e.Op != "" {
		return e.Op + ": " + msg
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// New returns a retryable sentinel (compare with errors.Is).
func New(code Code, msg string) *Error { return &Error{Code: code, Msg: msg} }

// NewTerminal returns a terminal sentinel.
func NewTerminal(code Code, msg string) *Error { return &Error{Code: code, Terminal: true, Msg: msg} }

// Wrap gives err a code (retry class) and says what was being done; nil stays nil.
func Wrap(code Code, op string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Op: op, Err: err}
}

// Terminal marks err terminal, keeping its code (controller-runtime's
// TerminalError); nil stays nil.
func Terminal(err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: CodeOf(err), Terminal: true, Err: err}
}

// Of returns the outermost *Error in err's chain, nil when there is none.
func Of(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// CodeOf returns the code of the outermost *Error; "" for nil. An error
// without one is Internal, except the standard library's context errors.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	if e := Of(err); e != nil {
		return e.Code
	}
	if c, ok := OfTransport(err); ok && c != Unavailable {
		return c // the caller's context: its own words, wherever it ended
	}
	return Internal
}

// ServiceOf returns the Service of the outermost *Error ("" when none).
func ServiceOf(err error) string {
	if e := Of(err); e != nil {
		return e.Service
	}
	return ""
}

// IsTerminal reports whether a retry cannot help: the outermost mark says
// terminal. In a multi-error (errors.Join, fmt.Errorf with several %w), one
// branch marked retry makes the whole retryable, and a branch with no mark at
// all does not outweigh a marked one: fmt.Errorf("%w: %w", sentinel, cause)
// takes the sentinel's class (Join marks its unmarked parts, so there they
// count as retry). Nil and unmarked errors are not terminal.
func IsTerminal(err error) bool { return markOf(err) == terminal }

// IsRetryable reports whether the trigger should be retried: any non-nil
// error not marked terminal.
func IsRetryable(err error) bool { return err != nil && !IsTerminal(err) }

type mark int

const (
	unmarked mark = iota
	retry
	terminal
)

func markOf(err error) mark {
	switch e := err.(type) {
	case nil:
		return unmarked
	case *Error:
		if e.Terminal { // the outermost mark decides: a retry mark may wrap a terminal cause
			return terminal
		}
		return retry
	case interface{ Unwrap() []error }:
		m := unmarked
		for _, x := range e.Unwrap() {
			switch markOf(x) {
			case retry:
				return retry
			case terminal:
				m = terminal
			}
		}
		return m
	case interface{ Unwrap() error }:
		return markOf(e.Unwrap())
	}
	return unmarked
}

// Join is errors.Join for errors that are each a trigger's failure: an
// unmarked part counts as retry (each part is marked Internal or its context
// code), and the outermost code agrees with the class — the code of the first
// retryable part when there is one (that is what the caller acts on), else
// the first part's. Nils are dropped; no error gives nil.
func Join(errs ...error) error {
	var kept []error
	for _, e := range errs {
		switch {
		case e == nil:
			continue
		case markOf(e) == unmarked:
			e = &Error{Code: CodeOf(e), Err: e}
		}
		kept = append(kept, e)
	}
	if len(kept) == 0 {
		return nil
	}
	joined := errors.Join(kept...)
	for _, e := range kept {
		if IsRetryable(e) {
			return &Error{Code: CodeOf(e), Err: joined}
		}
	}
	return &Error{Code: CodeOf(kept[0]), Terminal: true, Err: joined}
}

// OfTransport classifies an error that came without an answer from the
// service: the caller's context ending (Timeout, Canceled) or the network
// failing (Unavailable: DNS, dial, TLS, reset, truncated answer, client
// timeout). ok is false for anything else.
func OfTransport(err error) (code Code, ok bool) {
	switch {
	case err == nil:
		return "", false
	case errors.Is(err, context.DeadlineExceeded):
		return Timeout, true
	case errors.Is(err, context.Canceled):
		return Canceled, true
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE):
		return Unavailable, true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return Unavailable, true
	}
	return "", false
}
