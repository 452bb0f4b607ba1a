package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseOpenSlots(t *testing.T) {
	const (
		me    = "07c37dfeb235213a872192d90877d0cd55635b91"
		other = "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1"
	)
	for _, tc := range []struct {
		name, nodes string
		want        []openSlot
	}{
		{"none", me + " 127.0.0.1:30004@31004 myself,master - 0 1426238317239 4 connected 0-5460\n", nil},
		{"migrating and importing",
			other + " 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922 [93-<-" + me + "]\n" +
				me + " 127.0.0.1:30004@31004,node-4.example myself,master - 0 1426238317239 4 connected 0-5460 [93->-" + other + "] [77-<-" + other + "]\n",
			[]openSlot{{Slot: 93, State: "migrating", Peer: other}, {Slot: 77, State: "importing", Peer: other}}},
		{"only the myself line", other + " 127.0.0.1:30002@31002 master - 0 0 2 connected [5->-" + me + "]\n", nil},
		{"CRLF", me + " :0@0 myself,master - 0 0 0 connected [16383->-" + other + "]\r\n",
			[]openSlot{{Slot: 16383, State: "migrating", Peer: other}}},
		{"malformed fields skipped", me + " a myself,master - 0 0 0 connected [x->-y] [16384->-y] [1->-] [2-?-y] [3->-y 4-5 [6-<-z]\n",
			[]openSlot{{Slot: 6, State: "importing", Peer: "z"}}},
		{"short line", me + " a myself\n", nil},
		{"empty", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, parseOpenSlots(tc.nodes))
		})
	}
}

func FuzzParseOpenSlots(f *testing.F) {
	f.Add("07c3 127.0.0.1:30004@31004 myself,master - 0 1 4 connected 0-5460 [93->-67ed] [77-<-67ed]\n")
	f.Add("x y myself z z z z z [")
	f.Fuzz(func(t *testing.T, nodes string) {
		for _, o := range parseOpenSlots(nodes) {
			if o.Slot < 0 || o.Slot >= 16384 || o.Peer == "" || (o.State != stateMigrating && o.State != stateImporting) {
				t.Fatalf("parseOpenSlots(%q) gave %+v", nodes, o)
			}
		}
	})
}
