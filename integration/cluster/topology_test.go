package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const nodesReply = `07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host-4 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922
292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003 master - 0 1426238318243 3 connected 10923-16383 [10922-<-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]
6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.1:30005@31005 slave,fail? 67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 0 1426238316232 5 connected
824fe116063bc5fcf9f4ffd895bc17aee7731ac3 127.0.0.1:30006@31006 slave,fail 292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 0 1426238317741 6 disconnected
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 [5461->-292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f]
aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa :0@0 master,noaddr,handshake - 0 0 0 disconnected
`

func TestParseNodes(t *testing.T) {
	lines, err := parseNodes(nodesReply)
	require.NoError(t, err)
	require.Len(t, lines, 7)

	tests := []struct {
		i         int
		want      nodeLine
		slotCount int
	}{
		{0, nodeLine{id: "07c37dfeb235213a872192d90877d0cd55635b91", addr: "127.0.0.1:30004", primaryID: "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca", epoch: 4}, 0},
		{1, nodeLine{id: "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1", addr: "127.0.0.1:30002", primary: true, epoch: 2, slots: []slotRange{{5461, 10922}}}, 5462},
		{2, nodeLine{id: "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f", addr: "127.0.0.1:30003", primary: true, epoch: 3, slots: []slotRange{{10923, 16383}}}, 5461},
		{3, nodeLine{id: "6ec23923021cf3ffec47632106199cb7f496ce01", addr: "127.0.0.1:30005", pfail: true, primaryID: "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1", epoch: 5}, 0},
		{4, nodeLine{id: "824fe116063bc5fcf9f4ffd895bc17aee7731ac3", addr: "127.0.0.1:30006", failed: true, primaryID: "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f", epoch: 6}, 0},
		{5, nodeLine{id: "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca", addr: "127.0.0.1:30001", myself: true, primary: true, epoch: 1, slots: []slotRange{{0, 5460}}}, 5461},
		{6, nodeLine{id: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", primary: true, handshake: true}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.want.id[:8], func(t *testing.T) {
			assert.Equal(t, tt.want, lines[tt.i])
		})
	}

	topo := newTopology(lines)
	assert.Equal(t, "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca", topo.self().id)
	assert.Equal(t, "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca", topo.owner[5460])
	assert.Equal(t, "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1", topo.owner[5461], "a migration marker is not ownership")
	assert.Equal(t, "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f", topo.owner[16383])
}

func TestParseNodesErrors(t *testing.T) {
	tests := []struct {
		name, reply, want string
	}{
		{"short line", "abc 127.0.0.1:1@2 master -\n", "has 4 fields"},
		{"bad epoch", "abc 127.0.0.1:1@2 master - 0 0 x connected\n", `config epoch "x"`},
		{"bad slot", "abc 127.0.0.1:1@2 master - 0 0 1 connected 1-x\n", `slot "1-x"`},
		{"slot out of range", "abc 127.0.0.1:1@2 master - 0 0 1 connected 16000-16384\n", "out of range"},
		{"reversed range", "abc 127.0.0.1:1@2 master - 0 0 1 connected 9-3\n", "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseNodes(tt.reply)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestSignature(t *testing.T) {
	lines, err := parseNodes(nodesReply)
	require.NoError(t, err)
	live := []string{"e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca", "07c37dfeb235213a872192d90877d0cd55635b91"}
	a := newTopology(lines).signature(live)
	assert.Equal(t, "0-5460:e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 5461-10922:67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 10923-16383:292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f "+
		"| 07c37dfeb235213a872192d90877d0cd55635b91 replica-of e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca | e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca primary ", a)

	// Another node that already sees slot 5460 moved disagrees.
	moved := newTopology(lines)
	moved.owner[5460] = "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1"
	assert.NotEqual(t, a, moved.signature(live))

	// A live node missing from the view disagrees too.
	assert.Contains(t, newTopology(lines[1:]).signature(live), "07c37dfeb235213a872192d90877d0cd55635b91 unknown")
}

// TestParseNodesIPv6 checks that a node announced on an IPv6 address,
// which CLUSTER NODES writes without brackets, gets the address form the
// harness dials and compares ("[::1]:30001").
func TestParseNodesIPv6(t *testing.T) {
	lines, err := parseNodes("e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca ::1:30001@31001 myself,master - 0 0 1 connected 0-16383\n" +
		"07c37dfeb235213a872192d90877d0cd55635b91 2001:db8::7:30002@31002,host-2 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 0 1 connected\n")
	require.NoError(t, err)
	require.Len(t, lines, 2)
	assert.Equal(t, "[::1]:30001", lines[0].addr)
	assert.Equal(t, "[2001:db8::7]:30002", lines[1].addr)
}
