package command

// keySpec is one of a command's key specifications, as Redis 7 reports them
// in COMMAND INFO: where the search for keys begins (an index, or the
// argument after a keyword) and how keys are found from there (a range, or
// a count of keys in an argument).
type keySpec struct {
	// begin_search
	index   int    // the first key's position, for an index search
	keyword string // lower case; the keys follow it, for a keyword search
	from    int    // keyword search: where it starts; negative counts back from the end

	// find_keys
	keynum bool // the keys are counted by an argument (EVAL's numkeys)
	// range: lastKey is the last key relative to the first (0: only the
	// first), or counted from the end when negative (-1: the last argument,
	// -2: all but a trailing timeout); with limit > 0 and lastKey -1 only
	// the first 1/limit of the remaining arguments are keys (XREAD STREAMS).
	lastKey, step, limit int
	// keynum: the count's position relative to the begin search, the first
	// key's position relative to it, and the step between keys.
	numIdx, firstKey int
}

// specKeys appends the positions of the keys s finds in args, following
// the server's getKeysUsingKeySpecs. It reads nothing beyond args: a spec
// whose keys would fall outside, or whose count is not a non-negative
// integer, finds no keys, as the server then rejects the command.
func specKeys[A argList](dst []int, s *keySpec, args A) []int {
	argc := len(args)
	first := s.index
	if s.keyword != "" {
		first = keywordEnd(s, args)
	}
	if first <= 0 || first >= argc {
		return dst
	}
	var last, step int
	if s.keynum {
		at := first + s.numIdx
		if s.numIdx < 0 || at >= argc {
			return dst
		}
		n, ok := args.num(at)
		if !ok || n < 0 || n > argc {
			return dst
		}
		first += s.firstKey
		last = first + n - 1
		step = s.step
	} else {
		switch {
		case s.lastKey >= 0:
			last = first + s.lastKey
		case s.limit > 0:
			last = first + (argc-first)/s.limit + s.lastKey
		default:
			last = argc + s.lastKey
		}
		step = s.step
	}
	if step <= 0 || first < 1 || last >= argc || last < first {
		return dst
	}
	for i := first; i <= last; i += step {
		dst = append(dst, i)
	}
	return dst
}

// keywordEnd returns the position after s's keyword in args, searching
// forward from s.from, or backward from argc+s.from when it is negative;
// 0 when the keyword is absent. Like the server, a forward search does not
// look at the last argument, which could not be followed by a key.
func keywordEnd[A argList](s *keySpec, args A) int {
	argc := len(args)
	if s.from > 0 {
		for i := s.from; i < argc-1; i++ {
			if w, ok := args.text(i); ok && equalFold(w, s.keyword) {
				return i + 1
			}
		}
		return 0
	}
	for i := min(argc+s.from, argc-1); i >= 1; i-- {
		if w, ok := args.text(i); ok && equalFold(w, s.keyword) {
			return i + 1
		}
	}
	return 0
}

// sortKeys finds SORT's keys: the sorted key, and the destination of the
// last STORE option. BY and GET take a pattern and LIMIT two numbers, which
// are skipped so that a pattern spelled "store" is not taken for the option.
func sortKeys[A argList](dst []int, args A) []int {
	if len(args) < 2 {
		return dst
	}
	dst = append(dst, 1)
	store := 0
	for i := 2; i < len(args); i++ {
		w, _ := args.text(i)
		switch {
		case equalFold(w, "limit"):
			i += 2
		case equalFold(w, "get"), equalFold(w, "by"):
			i++
		case equalFold(w, "store") && i+1 < len(args):
			// The server keeps scanning from the destination itself, and the
			// last STORE wins.
			store = i + 1
		}
	}
	if store > 0 {
		dst = append(dst, store)
	}
	return dst
}

// migrateKeys finds MIGRATE's keys: the key argument, or, when it is empty,
// the keys after the KEYS option. AUTH takes a password and AUTH2 a user and
// a password, skipped so that a password spelled "keys" is not the option.
func migrateKeys[A argList](dst []int, args A) []int {
	argc := len(args)
	if argc < 6 {
		return dst
	}
	for i := 6; i < argc; i++ {
		w, _ := args.text(i)
		switch {
		case equalFold(w, "keys"):
			// The server refuses KEYS with a non-empty key argument.
			if k, ok := args.text(3); !ok || k != "" {
				return dst
			}
			for j := i + 1; j < argc; j++ {
				dst = append(dst, j)
			}
			return dst
		case equalFold(w, "auth"):
			i++
		case equalFold(w, "auth2"):
			i += 2
		}
	}
	return append(dst, 3)
}

// geoStoreKeys finds the keys of GEORADIUS and GEORADIUSBYMEMBER: the source
// key, and the destination of the last STORE or STOREDIST option, which
// overrides any earlier one as the command itself does.
func geoStoreKeys[A argList](dst []int, args A) []int {
	if len(args) < 2 {
		return dst
	}
	dst = append(dst, 1)
	store := 0
	for i := 5; i < len(args)-1; i++ {
		if w, ok := args.text(i); ok && (equalFold(w, "store") || equalFold(w, "storedist")) {
			store = i + 1
			i++
		}
	}
	if store > 0 {
		dst = append(dst, store)
	}
	return dst
}
