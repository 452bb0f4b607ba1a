package classify

import "errors"

// Categories, matched with errors.Is. They carry no data; the typed errors
// below map themselves onto them through their Is methods, the way
// syscall.Errno maps ENOENT onto fs.ErrNotExist.
var (
	// ErrRedirect matches MOVED, ASK and REDIRECT replies: the command did
	// not run and must be sent to another node.
	ErrRedirect = errors.New("clusterhop: redirected to another node")

	// ErrTryLater matches replies the server sends before executing the
	// command (TRYAGAIN, CLUSTERDOWN, LOADING, BUSY, MASTERDOWN): retrying
	// later is safe even for writes.
	ErrTryLater = errors.New("clusterhop: server refused for now; try later")

	// ErrConnection matches failures to dial a node or to keep a connection.
	ErrConnection = errors.New("clusterhop: connection failure")

	// ErrTimeout matches read, write and dial deadlines that passed.
	ErrTimeout = errors.New("clusterhop: timeout")

	// ErrClosed matches a client, hook or slot map used after Close, and
	// go-redis's own "client is closed". It is the one "closed" of the
	// project: redirect.ErrClosed and slotmap.ErrClosed are this value.
	ErrClosed = errors.New("clusterhop: closed")
)

// Error is a server error reply other than a well-formed redirection.
// Error() returns the server's text unchanged.
type Error struct {
	Kind    Kind   // the class of the reply; KindUnknown when Code is not known
	Code    string // the first word of the reply ("ERR", "WRONGTYPE", or an unknown code)
	Message string // the rest of the reply, after the code and one space

	// Malformed says what is wrong with a MOVED, ASK or REDIRECT reply that
	// could not be read (Kind is then KindProtocol); empty otherwise.
	Malformed string

	text string // the whole reply, as the server sent it (without a leading '-')
}

func (e *Error) Error() string { return e.text }

// RedisError marks e as a server reply for go-redis, which then treats it as
// it treats its own reply errors (no retry, no connection reset).
func (e *Error) RedisError() {}

// Is maps the reply onto its category.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrTryLater:
		return e.Kind.tryLater()
	case ErrRedirect:
		return e.Kind == KindMoved || e.Kind == KindAsk || e.Kind == KindRedirect
	}
	return false
}

// AddrForm says what the address of a redirection names.
type AddrForm uint8

const (
	// AddrHost: Addr is the target as net.Dial accepts it, an IPv6 host in
	// brackets ("[2001:db8::1]:6381"), whatever form the server wrote.
	AddrHost AddrForm = iota
	// AddrSameHost: the server sent an empty host ("MOVED 3999 :6380"),
	// meaning the host of the node that replied; Addr is ":6380".
	AddrSameHost
	// AddrUnknown: the server does not know the endpoint ("MOVED 3999 ?"
	// or, with cluster-preferred-endpoint-type unknown-endpoint, "MOVED
	// 3999 ?:6380"); only a fresh topology tells. Addr is empty.
	AddrUnknown
)

// MovedError is a MOVED reply: the slot is served by the node at Addr from
// now on. Addr is in the form net.Dial accepts and that the rest of the
// project compares (see AddrForm for the empty-host and unknown forms);
// Error() keeps the server's text unchanged.
type MovedError struct {
	Slot int
	Addr string
	Form AddrForm
	text string
}

func (e *MovedError) Error() string        { return e.text }
func (e *MovedError) RedisError()          {}
func (e *MovedError) Is(target error) bool { return target == ErrRedirect }

// AskError is an ASK reply: this one command must be sent to Addr preceded
// by ASKING; the slot map does not change. Addr is as in MovedError.
type AskError struct {
	Slot int
	Addr string
	Form AddrForm
	text string
}

func (e *AskError) Error() string        { return e.text }
func (e *AskError) RedisError()          {}
func (e *AskError) Is(target error) bool { return target == ErrRedirect }

// RedirectError is Valkey's "REDIRECT host:port" reply, sent to a client that
// must talk to another node (for example a primary, after a failover).
// Addr is as in MovedError.
type RedirectError struct {
	Addr string
	Form AddrForm
	text string
}

func (e *RedirectError) Error() string        { return e.text }
func (e *RedirectError) RedisError()          {}
func (e *RedirectError) Is(target error) bool { return target == ErrRedirect }

// ClientError is a failure on the client side: no reply was read. It wraps
// the original error, so errors.Is(err, context.DeadlineExceeded) and
// errors.Is(err, io.EOF) still hold. Sent is false only when the request
// certainly did not reach the server (a failed dial, a pool timeout, a
// closed client, NotSent); when that cannot be known it is true.
type ClientError struct {
	Kind Kind  // KindConnection, KindTimeout, KindPoolExhausted, KindCanceled, ...
	Sent bool  // the request may have reached the server
	Err  error // the original error
}

// Error returns the original error's text, or the kind when there is none.
func (e *ClientError) Error() string {
	if e.Err == nil {
		return "clusterhop: " + e.Kind.String()
	}
	return e.Err.Error()
}
func (e *ClientError) Unwrap() error { return e.Err }

// Is maps the failure onto its category.
func (e *ClientError) Is(target error) bool {
	switch target {
	case ErrConnection:
		return e.Kind == KindConnection
	case ErrTimeout:
		return e.Kind == KindTimeout
	case ErrClosed:
		return e.Kind == KindClosed
	}
	return false
}

// tryLater reports whether replies of kind k are sent before the command runs
// and are worth retrying after a pause.
func (k Kind) tryLater() bool {
	switch k {
	case KindTryAgain, KindClusterDown, KindLoading, KindBusy, KindMasterDown:
		return true
	}
	return false
}
