package clustertest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/alicebob/miniredis/v2"
	"github.com/alicebob/miniredis/v2/server"

	"github.com/clusterhop/clusterhop/slotmap"
)

// store holds the data of every shard: one miniredis, one database per
// shard. Nodes run commands on it through its server's Dispatch, with a
// server.Peer per client connection that keeps the connection's MULTI,
// WATCH and pub/sub state.
type store struct {
	m   *miniredis.Miniredis
	srv *server.Server

	mu     sync.Mutex    // protects ctl and ctlOut: the store's own commands
	ctl    *server.Peer  // a connection of the store's own, for MOVE
	ctlOut *bytes.Buffer // what ctl's commands answered
}

func newStore() (*store, error) {
	m := miniredis.NewMiniRedis()
	// Dial starts the server without a listener; its connection is not
	// needed, only the server it brings up.
	pipe, err := m.Dial()
	if err != nil {
		return nil, fmt.Errorf("clustertest: starting the store: %w", err)
	}
	pipe.Close()
	out := new(bytes.Buffer)
	return &store{
		m:      m,
		srv:    m.Server(),
		ctl:    server.NewPeer(bufio.NewWriter(out)),
		ctlOut: out,
	}, nil
}

func (s *store) close() { s.m.Close() }

// exists reports whether key is in shard's database.
func (s *store) exists(shard int, key string) bool {
	return s.m.DB(shard).Exists(key)
}

// keysInSlot returns the keys of slot in shard's database, sorted.
func (s *store) keysInSlot(shard, slot int) []string {
	var keys []string
	for _, k := range s.m.DB(shard).Keys() {
		if slotmap.Slot(k) == slot {
			keys = append(keys, k)
		}
	}
	return keys
}

// move moves key from shard from's database to shard to's, with its TTL,
// as MIGRATE moves it between two nodes. It reports false when key is not
// in from, or is already in to.
func (s *store) move(key string, from, to int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ctlOut.Reset()
	s.srv.Dispatch(s.ctl, []string{"SELECT", strconv.Itoa(from)})
	s.srv.Dispatch(s.ctl, []string{"MOVE", key, strconv.Itoa(to)})
	s.ctl.Flush()
	return bytes.HasSuffix(s.ctlOut.Bytes(), []byte(":1\r\n"))
}

// switchWriter is a connection's output that can be turned into a sink, so
// a command can run without its reply reaching the client (a command
// executed before a dropped connection, the DISCARD behind an aborted EXEC).
type switchWriter struct {
	w       io.Writer
	discard atomic.Bool
}

func (s *switchWriter) Write(p []byte) (int, error) {
	if s.discard.Load() {
		return len(p), nil
	}
	return s.w.Write(p)
}

// offset stands for a replication offset: it grows with every command the
// store runs and is never zero, so clients see replicas in sync and online.
func (s *store) offset() int { return s.m.CommandCount() + 1 }
