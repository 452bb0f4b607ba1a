package retry

// as reports whether err's chain holds an error of type T, and returns it.
// It walks the tree errors.As walks (Unwrap() error and Unwrap() []error,
// depth first) but, unlike errors.As, needs no heap-allocated target: the
// redirect path of Next must not allocate.
func as[T error](err error) (T, bool) {
	var zero T
	for err != nil {
		if t, ok := err.(T); ok {
			return t, true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if t, ok := as[T](e); ok {
					return t, true
				}
			}
			return zero, false
		default:
			return zero, false
		}
	}
	return zero, false
}
