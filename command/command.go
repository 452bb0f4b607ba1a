package command

// command is what the table knows about one command or subcommand: its
// flags and where its keys are.
type command struct {
	flags Flags
	specs []keySpec // the key positions, as the server's key specs give them
	proc  keysProc  // for layouts key specs cannot state exactly (SORT STORE)
	// subs holds a container's subcommands (OBJECT ENCODING, XINFO STREAM),
	// by lower-case name.
	subs *commandIndex
	// anySub says an unlisted subcommand of this container is keyless like
	// all the listed ones (a CLUSTER subcommand newer than the table).
	anySub bool
}

// keysProc names a key finder written as code, for the commands whose keys
// the server itself finds with code rather than key specs.
type keysProc uint8

const (
	procSpecs    keysProc = iota // the key specs say it all
	procSort                     // SORT key ... [STORE dest]
	procMigrate                  // MIGRATE host port key|"" db timeout ... [KEYS key...]
	procGeoStore                 // GEORADIUS[BYMEMBER] key ... [STORE|STOREDIST dest]
)

// maxNameLen bounds the command names looked up; longer names are unknown.
const maxNameLen = 64

// commandIndex finds commands by name without regard to ASCII case, as the
// server does, and without allocating: an open-addressing table hashed on
// the names folded to lower case, so that "GET", "get" and "Get" take one
// probe sequence and no lower-cased copy. It is built once and only read.
type commandIndex struct {
	slots []indexSlot // a power of two long, at most half full
}

type indexSlot struct {
	name string // lower case; "" for a free slot
	c    *command
}

func newCommandIndex(cmds []namedCommand) commandIndex {
	n := 8
	for n < 2*len(cmds) {
		n *= 2
	}
	ix := commandIndex{slots: make([]indexSlot, n)}
	for _, nc := range cmds {
		i := foldHash(nc.name) & uint32(n-1)
		for ix.slots[i].name != "" && ix.slots[i].name != nc.name {
			i = (i + 1) & uint32(n-1)
		}
		ix.slots[i] = indexSlot(nc)
	}
	return ix
}

// find returns the command named name in any ASCII case, or nil.
func (ix *commandIndex) find(name string) *command {
	if ix == nil || len(ix.slots) == 0 || len(name) == 0 || len(name) > maxNameLen {
		return nil
	}
	mask := uint32(len(ix.slots) - 1)
	for i := foldHash(name) & mask; ix.slots[i].name != ""; i = (i + 1) & mask {
		if equalFold(name, ix.slots[i].name) {
			return ix.slots[i].c
		}
	}
	return nil
}

// foldHash is FNV-1a over the bytes of s with ASCII letters folded to
// lower case (other bytes may collide with their 0x20 neighbours; find
// compares names exactly after the hash).
func foldHash(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i]|0x20)) * 16777619
	}
	return h
}

// learnedIndex maps lower-case command names, and "container|sub" names,
// to what a server said about them; a nil command records a name the server
// did not know.
type learnedIndex map[string]*command

// find returns the learned command named name in any case, or nil. It does
// not allocate: clients usually send lower-case names, which hit at once,
// and other names are lower-cased into a buffer on the stack.
func (ix learnedIndex) find(name string) *command {
	if len(ix) == 0 {
		return nil
	}
	if c, ok := ix[name]; ok {
		return c
	}
	if len(name) > maxNameLen {
		return nil
	}
	var buf [maxNameLen]byte
	upper := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
			upper = true
		}
		buf[i] = c
	}
	if !upper {
		return nil
	}
	return ix[string(buf[:len(name)])]
}

// findSub returns the subcommand stored flat as "name|sub", in any case, or
// nil; learned subcommands are stored so.
func (ix learnedIndex) findSub(name, sub string) *command {
	var buf [2*maxNameLen + 1]byte
	if len(name)+1+len(sub) > len(buf) || len(ix) == 0 {
		return nil
	}
	n := copy(buf[:], name)
	buf[n] = '|'
	n++
	n += copy(buf[n:], sub)
	for i, c := range buf[:n] {
		if 'A' <= c && c <= 'Z' {
			buf[i] = c + 'a' - 'A'
		}
	}
	return ix[string(buf[:n])]
}

// Builders of the static table. They read like the server's COMMAND INFO:
// a name, flags, then key specs.

// defCmd describes a command whose keys its specs give; with no specs it is
// keyless.
func defCmd(name string, flags Flags, specs ...keySpec) namedCommand {
	if len(specs) == 0 {
		flags |= FlagKeyless
	}
	return namedCommand{name, &command{flags: flags, specs: specs}}
}

// defSpecial describes a command whose keys proc finds.
func defSpecial(name string, flags Flags, proc keysProc) namedCommand {
	return namedCommand{name, &command{flags: flags, proc: proc}}
}

// defGroup describes a container command and its subcommands. flags apply to
// the container named alone (COMMAND) and, when every subcommand is
// keyless, to subcommands the table does not list.
func defGroup(name string, flags Flags, subs ...namedCommand) namedCommand {
	c := &command{flags: flags | FlagKeyless, subs: indexCommands(subs), anySub: true}
	for _, s := range subs {
		if s.c.flags&FlagKeyless == 0 {
			c.anySub = false
		}
	}
	return namedCommand{name, c}
}

// keyAt is a single key at position i.
func keyAt(i int) keySpec { return keySpec{index: i, step: 1} }

// keyRange is the keys from first to last, every step arguments; a negative
// last counts from the end: -1 is the last argument, -2 the one before it
// (BLPOP's trailing timeout).
func keyRange(first, last, step int) keySpec {
	s := keySpec{index: first, lastKey: last, step: step}
	if last >= 0 {
		s.lastKey = last - first
	}
	return s
}

// keyCount is a count of keys at position i, followed by the keys (EVAL).
func keyCount(i int) keySpec {
	return keySpec{index: i, keynum: true, numIdx: 0, firstKey: 1, step: 1}
}

// keyStreams is XREAD's layout: after the STREAMS keyword, searched from
// position from, the first half of the remaining arguments are keys and the
// second half their IDs.
func keyStreams(from int) keySpec {
	return keySpec{keyword: "streams", from: from, lastKey: -1, step: 1, limit: 2}
}

type namedCommand struct {
	name string
	c    *command
}

func indexCommands(cmds []namedCommand) *commandIndex {
	ix := newCommandIndex(cmds)
	return &ix
}
