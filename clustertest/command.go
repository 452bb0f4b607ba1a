package clustertest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/alicebob/miniredis/v2/server"

	"github.com/clusterhop/clusterhop/command"
)

// commandsRedis70 holds the replies of Redis 7.0.15 to COMMAND and to
// COMMAND DOCS in RESP3, kept to the commands the fake serves, so that
// clients that learn key positions and flags from the server learn what a
// real one would tell them.
//
//go:embed commands_redis70.resp.gz
var commandsRedis70 []byte

// commandTable is the parsed commandsRedis70.
type commandTable struct {
	info  []respValue          // COMMAND, in the server's order
	byKey map[string]respValue // lower-case name → COMMAND INFO entry
	docs  map[string]respValue // lower-case name → COMMAND DOCS entry
}

var commands = sync.OnceValue(func() *commandTable {
	zr, err := gzip.NewReader(bytes.NewReader(commandsRedis70))
	if err != nil {
		panic("clustertest: embedded command table: " + err.Error())
	}
	r := bufio.NewReader(zr)
	info, err1 := readValue(r)
	docs, err2 := readValue(r)
	if err1 != nil || err2 != nil {
		panic(fmt.Sprintf("clustertest: embedded command table: %v %v", err1, err2))
	}
	t := &commandTable{info: info.elems, byKey: map[string]respValue{}, docs: map[string]respValue{}}
	for _, e := range info.elems {
		t.byKey[e.elems[0].str] = e
	}
	for i := 0; i+1 < len(docs.elems); i += 2 {
		t.docs[docs.elems[i].str] = docs.elems[i+1]
	}
	return t
})

// command answers COMMAND and its subcommands.
func (cn *conn) command(args []string) {
	t := commands()
	if len(args) == 1 {
		cn.writeValue(respValue{kind: '*', elems: t.info})
		return
	}
	sub := strings.ToUpper(args[1])
	switch sub {
	case "COUNT":
		cn.peer.WriteInt(len(t.info))
	case "LIST":
		names := make([]string, len(t.info))
		for i, e := range t.info {
			names[i] = e.elems[0].str
		}
		cn.peer.WriteStrings(names)
	case "INFO":
		if len(args) == 2 {
			cn.writeValue(respValue{kind: '*', elems: t.info})
			return
		}
		out := respValue{kind: '*'}
		for _, name := range args[2:] {
			e, ok := t.byKey[strings.ToLower(name)]
			if !ok {
				e = respValue{kind: '_'}
			}
			out.elems = append(out.elems, e)
		}
		cn.writeValue(out)
	case "DOCS":
		out := respValue{kind: '%'}
		names := args[2:]
		if len(names) == 0 {
			for _, e := range t.info {
				names = append(names, e.elems[0].str)
			}
		}
		for _, name := range names {
			if d, ok := t.docs[strings.ToLower(name)]; ok {
				out.elems = append(out.elems, respValue{kind: '$', str: strings.ToLower(name)}, d)
			}
		}
		cn.writeValue(out)
	case "GETKEYS":
		if len(args) < 4 {
			cn.peer.WriteError("ERR wrong number of arguments for 'command|getkeys' command")
			return
		}
		e, known := t.byKey[strings.ToLower(args[2])]
		if !known {
			cn.peer.WriteError("ERR Invalid command specified")
			return
		}
		if arity, n := e.elems[1].num, len(args)-2; (arity > 0 && n != arity) || n < -arity {
			cn.peer.WriteError("ERR Invalid number of arguments specified for command")
			return
		}
		idx, _, ok := command.KeysStrings(nil, args[2:])
		switch {
		case !ok:
			cn.peer.WriteError("ERR Invalid command specified")
		case len(idx) == 0:
			cn.peer.WriteError("ERR The command has no key arguments")
		default:
			keys := make([]string, len(idx))
			for i, at := range idx {
				keys[i] = args[2+at]
			}
			cn.peer.WriteStrings(keys)
		}
	default:
		cn.peer.WriteError(fmt.Sprintf("ERR unknown subcommand '%s'. Try COMMAND HELP.", args[1]))
	}
}

// respValue is one RESP3 value of the embedded table.
type respValue struct {
	kind  byte // the RESP3 type byte: * % ~ $ + : _
	str   string
	num   int
	elems []respValue // for maps, keys and values alternate
}

// readValue reads one RESP3 value.
func readValue(r *bufio.Reader) (respValue, error) {
	line, err := readLine(r)
	if err != nil {
		return respValue{}, err
	}
	if line == "" {
		return respValue{}, fmt.Errorf("empty line")
	}
	v := respValue{kind: line[0]}
	head := line[1:]
	switch v.kind {
	case '*', '~', '%':
		n, err := strconv.Atoi(head)
		if err != nil {
			return v, err
		}
		if v.kind == '%' {
			n *= 2
		}
		v.elems = make([]respValue, n)
		for i := range v.elems {
			if v.elems[i], err = readValue(r); err != nil {
				return v, err
			}
		}
	case '$':
		n, err := strconv.Atoi(head)
		if err != nil {
			return v, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return v, err
		}
		v.str = string(buf[:n])
	case ':':
		if v.num, err = strconv.Atoi(head); err != nil {
			return v, err
		}
	case '+':
		v.str = head
	case '_':
	default:
		return v, fmt.Errorf("unexpected RESP type %q", v.kind)
	}
	return v, nil
}

// writeValue writes v in the connection's protocol: maps and sets become
// arrays in RESP2, as a real server writes them.
func (cn *conn) writeValue(v respValue) {
	cn.peer.Block(func(w *server.Writer) { writeValue(w, v) })
}

func writeValue(w *server.Writer, v respValue) {
	switch v.kind {
	case '*':
		w.WriteLen(len(v.elems))
	case '~':
		w.WriteSetLen(len(v.elems))
	case '%':
		w.WriteMapLen(len(v.elems) / 2)
	case '$':
		w.WriteBulk(v.str)
	case '+':
		w.WriteInline(v.str)
	case ':':
		w.WriteInt(v.num)
	case '_':
		w.WriteNull()
	}
	for _, e := range v.elems {
		writeValue(w, e)
	}
}
