package classify

import "errors"

// KindOf returns the kind of the first typed error in err's chain: KindNone
// for nil, KindUnknown for an error this package has not classified.
func KindOf(err error) Kind {
	if err == nil {
		return KindNone
	}
	var (
		e  *Error
		m  *MovedError
		a  *AskError
		r  *RedirectError
		ce *ClientError
	)
	switch {
	case errors.As(err, &m):
		return KindMoved
	case errors.As(err, &a):
		return KindAsk
	case errors.As(err, &r):
		return KindRedirect
	case errors.As(err, &e):
		return e.Kind
	case errors.As(err, &ce):
		return ce.Kind
	}
	return KindUnknown
}

// InDoubt reports whether the command that failed with err may have been
// executed by the server: true only for client-side failures after the
// request may have been sent.
func InDoubt(err error) bool {
	var ce *ClientError
	return errors.As(err, &ce) && ce.Sent
}
