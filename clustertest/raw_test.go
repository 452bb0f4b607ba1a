package clustertest_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// rawExchange writes req on a new connection and returns all the node
// answered until it closed the connection or went quiet.
func rawExchange(t *testing.T, addr, req string) string {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.Write([]byte(req))
	require.NoError(t, err)
	var out []byte
	buf := make([]byte, 4096)
	for {
		// A short deadline ends the read when the node keeps the
		// connection open after answering.
		require.NoError(t, nc.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
		n, err := nc.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF || (err != nil && len(out) > 0) {
			return string(out)
		}
		require.NoError(t, err)
	}
}
