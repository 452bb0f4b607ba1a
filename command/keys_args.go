package command

import (
	"math"
	"unsafe"
)

// argList is a command's arguments in one of the two forms callers hold
// them in. Key finding is generic over it so that neither form is boxed or
// copied.
type argList interface {
	anyArgs | stringArgs
	// text returns argument i when it is text (a string or bytes).
	text(i int) (string, bool)
	// num returns argument i as the server would parse an integer from it.
	num(i int) (int, bool)
}

// anyArgs is go-redis's Cmder.Args() form.
type anyArgs []any

// stringArgs is the form a server-side hook receives.
type stringArgs []string

func (a stringArgs) text(i int) (string, bool) { return a[i], true }

func (a stringArgs) num(i int) (int, bool) { return parseInt(a[i]) }

func (a anyArgs) text(i int) (string, bool) {
	switch v := a[i].(type) {
	case string:
		return v, true
	case nil:
		// go-redis writes nil as an empty string (MIGRATE's empty key).
		return "", true
	case []byte:
		// The view lives only while the caller compares it; args is not
		// modified meanwhile.
		return unsafe.String(unsafe.SliceData(v), len(v)), true
	case *string:
		if v != nil {
			return *v, true
		}
	}
	return "", false
}

// num reads an integer argument the way go-redis writes it and the server
// parses it back: numbers as their decimal text, text strictly.
func (a anyArgs) num(i int) (int, bool) {
	switch v := a[i].(type) {
	case int:
		return v, true
	case int8:
		return int(v), true
	case int16:
		return int(v), true
	case int32:
		return int(v), true
	case int64:
		return clampInt64(v), true
	case uint:
		return clampUint64(uint64(v)), true
	case uint8:
		return int(v), true
	case uint16:
		return int(v), true
	case uint32:
		return clampUint64(uint64(v)), true
	case uint64:
		return clampUint64(v), true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	case float64:
		return floatInt(v)
	case float32:
		return floatInt(float64(v))
	}
	if s, ok := a.text(i); ok {
		return parseInt(s)
	}
	if d, ok := deref(a[i]); ok {
		return anyArgs{d}.num(0)
	}
	return 0, false
}

func clampInt64(v int64) int {
	return int(max(min(v, math.MaxInt32), math.MinInt32))
}

func clampUint64(v uint64) int {
	return int(min(v, math.MaxInt32))
}

// floatInt accepts a float that go-redis would write as an integer ("2").
func floatInt(f float64) (int, bool) {
	if f != math.Trunc(f) || f > math.MaxInt32 || f < math.MinInt32 {
		return 0, false
	}
	return int(f), true
}

// parseInt parses a decimal integer as the server's string2ll does: an
// optional '-', no '+', no spaces, no leading zeros. Values beyond int32 are
// clamped, since no argument list is that long.
func parseInt(s string) (int, bool) {
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg, s = true, s[1:]
	}
	if len(s) == 0 || len(s) > 1 && s[0] == '0' || neg && s == "0" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < math.MaxInt32 {
			n = n*10 + int(c-'0')
		}
	}
	n = min(n, math.MaxInt32)
	if neg {
		n = -n
	}
	return n, true
}

// equalFold reports whether s equals the lower-case ASCII word w, ignoring
// ASCII case only: the server compares keywords with strcasecmp, so
// "ſtreams" (long s) is not STREAMS.
func equalFold(s, w string) bool {
	if len(s) != len(w) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}
