package slotmap

// command is what the table knows about one command or subcommand: its
// flags and where its keys are.
type command struct {
	flags Flags
	specs []keySpec // the key positions, as the server's key specs give them
	proc  keysProc  // for layouts key specs cannot state exactly (SORT STORE)
	// subs holds a container's subcommands (OBJECT ENCODING, XINFO STREAM),
	// by lower-case name.
	subs commandIndex
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

// commandIndex maps lower-case command names to commands.
type commandIndex map[string]*command

// find returns the command named name in any case, or nil. It does not
// allocate: clients usually send lower-case names, which hit at once, and
// other names are lower-cased into a buffer on the stack.
func (ix commandIndex) find(name string) *command {
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
func (ix commandIndex) findSub(name, sub string) *command {
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

func indexCommands(cmds []namedCommand) commandIndex {
	ix := make(commandIndex, len(cmds))
	for _, nc := range cmds {
		ix[nc.name] = nc.c
	}
	return ix
}
