package command

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzParseCommandInfo decodes arbitrary RESP3-like text into the tree
// go-redis's Do returns and parses it as a COMMAND INFO reply: no panic,
// and whatever key specs it accepts find only positions inside the
// arguments of any command line.
func FuzzParseCommandInfo(f *testing.F) {
	f.Add("*1\n*10\n+mod.get\n:2\n*1\n+readonly\n:1\n:1\n:1\n*0\n*0\n*1\n%3\n+flags\n*0\n+begin_search\n%2\n+type\n+index\n+spec\n%1\n+index\n:1\n+find_keys\n%2\n+type\n+range\n+spec\n%3\n+lastkey\n:0\n+keystep\n:1\n+limit\n:0\n*0\n")
	f.Add("*1\n*10\n+x\n:-3\n*0\n:0\n:0\n:0\n*0\n*0\n*1\n*6\n+flags\n*0\n+begin_search\n*4\n+type\n+keyword\n+spec\n*4\n+keyword\n+STREAMS\n+startfrom\n:-2\n+find_keys\n*4\n+type\n+range\n+spec\n*6\n+lastkey\n:-1\n+keystep\n:1\n+limit\n:2\n*0\n")
	f.Add("*1\n*10\n+x\n:-3\n*0\n:0\n:0\n:0\n*0\n*0\n*1\n%3\n+flags\n*0\n+begin_search\n%2\n+type\n+index\n+spec\n%1\n+index\n:1\n+find_keys\n%2\n+type\n+keynum\n+spec\n%3\n+keynumidx\n:0\n+firstkey\n:-4\n+keystep\n:1\n*0\n")
	f.Add("*1\n*7\n+old\n:-2\n*1\n+write\n:1\n:-1\n:2\n*0\n")
	f.Add("*1\n_\n")
	lines := [][]string{
		split("x a b c d e f"), split("x STREAMS a b 0 0"), split("x 2 a b"), split("x"),
		split("x 5 a"), split("x -1 a b"), split("x a STREAMS"),
	}
	f.Fuzz(func(t *testing.T, text string) {
		reply, rest, ok := decodeTree(text, 0)
		if !ok || rest != "" {
			return
		}
		entries, _ := reply.([]any)
		names := make([]string, len(entries))
		for i := range names {
			names[i] = "n" + strconv.Itoa(i)
		}
		got, err := parseCommandInfo(reply, names)
		if err != nil {
			return
		}
		for _, c := range got {
			if c == nil {
				continue
			}
			for _, args := range lines {
				for _, p := range commandKeys(c, nil, stringArgs(args)) {
					if p < 1 || p >= len(args) {
						t.Fatalf("key position %d of %d args from %q", p, len(args), text)
					}
				}
			}
		}
	})
}

// decodeTree reads one value of a line-based RESP3 subset into go-redis's
// shapes: "*n" an array, "%n" a map, ":n" an int64, "+s" a string, "_" nil.
func decodeTree(text string, depth int) (any, string, bool) {
	line, rest, found := strings.Cut(text, "\n")
	if !found || line == "" || depth > 16 {
		return nil, "", false
	}
	switch line[0] {
	case '+':
		return line[1:], rest, true
	case '_':
		return nil, rest, true
	case ':':
		n, err := strconv.ParseInt(line[1:], 10, 64)
		return n, rest, err == nil
	case '*', '%':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 || n > 64 {
			return nil, "", false
		}
		if line[0] == '*' {
			arr := make([]any, 0, n)
			for range n {
				var v any
				var ok bool
				if v, rest, ok = decodeTree(rest, depth+1); !ok {
					return nil, "", false
				}
				arr = append(arr, v)
			}
			return arr, rest, true
		}
		m := make(map[any]any, n)
		for range n {
			var k, v any
			var ok bool
			if k, rest, ok = decodeTree(rest, depth+1); !ok {
				return nil, "", false
			}
			if v, rest, ok = decodeTree(rest, depth+1); !ok {
				return nil, "", false
			}
			if _, hashable := k.([]any); hashable {
				return nil, "", false
			}
			if _, isMap := k.(map[any]any); isMap {
				return nil, "", false
			}
			m[k] = v
		}
		return m, rest, true
	}
	return nil, "", false
}
