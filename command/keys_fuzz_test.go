package command

import (
	"context"
	"strings"
	"testing"

	"github.com/clusterhop/clusterhop/slotmap"
)

// FuzzKeys feeds arbitrary command lines (arguments separated by spaces) to
// both forms of Keys, on the static table and on learned key specs: no
// panic, every position inside args and never the command name, both forms
// alike, and SlotOf agreeing.
func FuzzKeys(f *testing.F) {
	for _, line := range getkeysLines {
		f.Add(line, false)
	}
	f.Add("mod.read x FROM a b 0 0", true)
	f.Add("mod.eval s 2 a b c", false)
	f.Add("XREAD STREAMS a", false)
	f.Add("EVAL s 2147483647 a", true)
	f.Add("MIGRATE h p '' 0 0 AUTH2", false)
	f.Add("GEORADIUS k 1 2 3 km STORE", true)

	learned := NewTable()
	if err := learned.Learn(context.Background(), &fakeServer{entries: moduleEntries()},
		"mod.get", "mod.mset", "mod.read", "mod.eval", "mod.sort", "mod.cfg", "mod.obj", "mod.old", "xinfo|newsub"); err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, line string, bytes bool) {
		args := strings.Split(line, " ")
		anyArgs := make([]any, len(args))
		for i, a := range args {
			if bytes {
				anyArgs[i] = []byte(a)
			} else {
				anyArgs[i] = a
			}
		}
		for _, tb := range []*Table{DefaultTable, learned} {
			fromStrings, flags, ok := tb.KeysStrings(nil, args)
			fromAny, flags2, ok2 := tb.Keys(nil, anyArgs)
			if ok != ok2 || flags != flags2 || len(fromStrings) != len(fromAny) {
				t.Fatalf("%q: KeysStrings %v %b %v, Keys %v %b %v", line, fromStrings, flags, ok, fromAny, flags2, ok2)
			}
			for i, p := range fromStrings {
				if p < 1 || p >= len(args) || fromAny[i] != p {
					t.Fatalf("%q: key position %d of %d args (Keys says %d)", line, p, len(args), fromAny[i])
				}
			}
			if !ok && len(fromStrings) > 0 {
				t.Fatalf("%q: unknown command with keys %v", line, fromStrings)
			}
			slot, err := tb.SlotOf(anyArgs)
			switch {
			case !ok && err == nil:
				t.Fatalf("%q: SlotOf %d of an unknown command", line, slot)
			case ok && len(fromStrings) == 0 && (err != nil || slot != -1):
				t.Fatalf("%q: SlotOf %d, %v of a command without keys", line, slot, err)
			case err == nil && len(fromStrings) > 0 && slot != slotmap.Slot(args[fromStrings[0]]):
				t.Fatalf("%q: SlotOf %d, want the first key's %d", line, slot, slotmap.Slot(args[fromStrings[0]]))
			}
		}
	})
}
