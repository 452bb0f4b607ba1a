package cluster

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestStartReportsPortInUse checks that a server that loses its port to
// another process is reported as errPortInUse, which Start retries on
// other ports.
func TestStartReportsPortInUse(t *testing.T) {
	Require(t)
	server, err := FindServer("")
	require.NoError(t, err)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	bus, err := freePorts("127.0.0.1", 1)
	require.NoError(t, err)

	cfg, err := Config{NodeTimeout: time.Second}.withDefaults()
	require.NoError(t, err)
	n, err := newNode(t.TempDir(), taken.Addr().(*net.TCPAddr).Port, bus[0], cfg, access{})
	require.NoError(t, err)
	defer n.client.Close()
	require.NoError(t, n.start(server))
	defer n.kill()
	err = n.waitReady(t.Context(), n.done)
	require.ErrorIs(t, err, errPortInUse)
}
