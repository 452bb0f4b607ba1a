package classify

import "errors"

// KindOf returns the kind of err: KindNone for nil, the kind of the first
// typed error in err's chain, and otherwise the kind Classify gives err (so
// a raw go-redis reply or io.EOF has its kind too), KindNil for go-redis's
// redis.Nil, and KindUnknown for an error Classify does not recognise.
func KindOf(err error) Kind {
	// Unwrapped typed errors, the common case, skip errors.As.
	switch e := err.(type) {
	case nil:
		return KindNone
	case *MovedError:
		return KindMoved
	case *AskError:
		return KindAsk
	case *RedirectError:
		return KindRedirect
	case *Error:
		return e.Kind
	case *ClientError:
		return e.Kind
	}
	if k, ok := typedKind(err); ok {
		return k
	}
	if k, ok := typedKind(Classify(err)); ok {
		return k
	}
	if isNil(err) {
		return KindNil
	}
	return KindUnknown
}

// typedKind returns the kind of the first of this package's errors met in
// a depth-first walk of err's chain, the order errors.As searches in: an
// EXECABORT that wraps the MOVED explaining it is an EXECABORT.
func typedKind(err error) (Kind, bool) {
	for err != nil {
		switch e := err.(type) {
		case *MovedError:
			return KindMoved, true
		case *AskError:
			return KindAsk, true
		case *RedirectError:
			return KindRedirect, true
		case *Error:
			return e.Kind, true
		case *ClientError:
			return e.Kind, true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				if k, ok := typedKind(inner); ok {
					return k, true
				}
			}
			return KindNone, false
		default:
			return KindNone, false
		}
	}
	return KindNone, false
}

// InDoubt reports whether the command that failed with err may have been
// executed by the server. It is true only for client-side failures after
// the request may have been written: read and write timeouts, connections
// that broke under a request, and contexts that ended while a request was
// in flight. It is false for nil, for every server error reply (a server
// replies with an error instead of executing), for failures known to
// happen before sending (dial errors, pool timeouts, a closed client,
// NotSent), and for errors Classify does not recognise, which no retry
// policy should retry anyway.
func InDoubt(err error) bool {
	// Unwrapped typed errors, the common case, skip errors.As.
	switch e := err.(type) {
	case nil, *Error, *MovedError, *AskError, *RedirectError:
		return false
	case *ClientError:
		return e.Sent
	}
	var ce *ClientError
	if errors.As(err, &ce) {
		return ce.Sent
	}
	return errors.As(Classify(err), &ce) && ce.Sent
}

// goRedisNil is the text of go-redis's redis.Nil, recognised by text (with
// the reply marker go-redis puts on it) since this package does not import
// go-redis; a test pins it against the real value.
const goRedisNil = "redis: nil"

func isNil(err error) bool {
	var re replyError
	return errors.As(err, &re) && re.Error() == goRedisNil
}
