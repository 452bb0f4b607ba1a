package classify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
)

// replyError is the marker go-redis puts on server error replies (its
// redis.Error interface): RESP2 and RESP3 errors alike, and this package's
// own reply types.
type replyError interface {
	error
	RedisError()
}

// Classify turns err into a typed error:
//
//   - nil stays nil;
//   - an error this package already classified is returned as is, also when
//     wrapped, so Classify(Classify(err)) is Classify(err);
//   - go-redis's own sentinels that carry the reply marker (redis.Nil,
//     redis.TxFailedErr) are returned unchanged, so errors.Is(err, redis.Nil)
//     keeps working;
//   - a server reply error (anything with go-redis's RedisError() marker,
//     wrapped or not) becomes what Parse makes of its text; the wrapping is
//     dropped, since the reply's text is the error;
//   - client-side failures become a *ClientError wrapping err, with Sent
//     telling whether the request may have reached the server (see
//     ClientError and InDoubt);
//   - anything else is returned unchanged, and KindOf reports KindUnknown.
//
// Classify(nil), Classify(redis.Nil) and Classify of an unwrapped
// classified error do not allocate; an unwrapped go-redis reply costs the
// one allocation of its typed error.
func Classify(err error) error {
	switch err.(type) {
	case nil:
		return nil
	case *Error, *MovedError, *AskError, *RedirectError, *ClientError:
		return err
	}
	// The common case, an unwrapped go-redis reply, skips errors.As.
	if re, ok := err.(replyError); ok {
		return classifyReply(err, re.Error())
	}
	if isClassified(err) {
		return err
	}
	var re replyError
	if errors.As(err, &re) {
		return classifyReply(err, re.Error())
	}
	return classifyClient(err)
}

// isClassified reports whether err wraps one of this package's types.
func isClassified(err error) bool {
	var (
		e  *Error
		m  *MovedError
		a  *AskError
		r  *RedirectError
		ce *ClientError
	)
	return errors.As(err, &e) || errors.As(err, &m) || errors.As(err, &a) ||
		errors.As(err, &r) || errors.As(err, &ce)
}

// goRedisPrefix starts the text of every error go-redis makes up itself.
// No server reply starts with it: server codes are upper case.
const goRedisPrefix = "redis: "

func classifyReply(err error, text string) error {
	// redis.Nil ("redis: nil") and redis.TxFailedErr ("redis: transaction
	// failed") carry the reply marker but are go-redis's own results, not
	// server errors: callers compare them with errors.Is, so they stay.
	if strings.HasPrefix(text, goRedisPrefix) {
		return err
	}
	return Parse(text)
}

// The texts of go-redis's pool and client sentinels (redis.ErrPoolTimeout,
// its pool's ErrPoolExhausted, redis.ErrClosed). They are plain
// errors.New values in an internal package, so this package, which does not
// import go-redis, can only recognise them by their text; the tests pin
// these texts against the real values.
const (
	goRedisPoolTimeout   = "redis: connection pool timeout"
	goRedisPoolExhausted = "redis: connection pool exhausted"
	goRedisClosed        = "redis: client is closed"
)

// The starts of the errors go-redis's RESP reader returns when a reply is
// not valid RESP (redis-py's InvalidResponse).
var goRedisProtocolPrefixes = [...]string{
	"redis: invalid reply",
	"redis: can't parse",
	"redis: invalid line",
}

// classifyClient recognises failures that happen on the client side.
func classifyClient(err error) error {
	dial := isDialFailure(err)
	kind, sent := KindNone, true
	switch {
	// Context errors come first: context.DeadlineExceeded is also a
	// net.Error timeout. A context that ends while a request is in flight
	// leaves it in doubt; one that ends while dialling does not. When the
	// context ended while waiting for a pooled connection nothing was sent
	// either, but that cannot be told from the error: Sent stays true, and
	// callers that know better say so with NotSent.
	case errors.Is(err, context.Canceled):
		kind, sent = KindCanceled, !dial
	case errors.Is(err, context.DeadlineExceeded):
		kind, sent = KindDeadline, !dial
	default:
		kind, sent = goRedisKind(err)
		if kind != KindNone {
			break
		}
		// A dial that fails or times out never carried the request: a
		// connection refused by a node that used to own a slot is a
		// topology signal, and safe to retry elsewhere.
		switch {
		case dial && isTimeout(err):
			kind, sent = KindTimeout, false
		case dial || errors.Is(err, syscall.ECONNREFUSED):
			kind, sent = KindConnection, false
		// A read or write deadline passed: the server may have run the
		// command and its reply may be on its way.
		case isTimeout(err):
			kind, sent = KindTimeout, true
		// The connection broke under a request: it may have run.
		case isBroken(err):
			kind, sent = KindConnection, true
		default:
			return err
		}
	}
	return &ClientError{Kind: kind, Sent: sent, Err: err}
}

// goRedisKind recognises go-redis's own client-side errors by their text,
// anywhere in err's chain. None of them happens after a request was sent
// except the protocol errors, which mean a reply was being read.
func goRedisKind(err error) (Kind, bool) {
	for e := err; e != nil; e = errors.Unwrap(e) {
		text := e.Error()
		if !strings.HasPrefix(text, goRedisPrefix) {
			continue
		}
		switch text {
		case goRedisPoolTimeout, goRedisPoolExhausted:
			return KindPoolExhausted, false
		case goRedisClosed:
			return KindClosed, false
		}
		for _, p := range goRedisProtocolPrefixes {
			if strings.HasPrefix(text, p) {
				return KindProtocol, true
			}
		}
	}
	return KindNone, false
}

// isDialFailure reports whether err comes from establishing a connection:
// the net package's dial errors and failed name lookups.
//
// A TLS handshake that fails on the certificate is one too: the command
// was never written.
func isDialFailure(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var (
		dns     *net.DNSError
		cert    *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
	)
	return errors.As(err, &dns) || errors.As(err, &cert) || errors.As(err, &unknown) ||
		errors.As(err, &host) || errors.As(err, &invalid)
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isBroken reports whether err says an established connection failed.
func isBroken(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED) {
		return true
	}
	// Any other failed read or write on a socket (host unreachable, ...).
	var op *net.OpError
	return errors.As(err, &op)
}

// NotSent returns Classify(err), marked as known not to have reached the
// server when it is a client-side failure: for a caller that checked its
// context, or failed to get a connection, before writing the request.
// InDoubt(NotSent(err)) is false. Reply errors and unrecognised errors are
// returned as Classify returns them.
func NotSent(err error) error {
	c := Classify(err)
	var ce *ClientError
	if !errors.As(c, &ce) || !ce.Sent {
		return c
	}
	inner := c
	if c == error(ce) {
		inner = ce.Err
	}
	return &ClientError{Kind: ce.Kind, Sent: false, Err: inner}
}
