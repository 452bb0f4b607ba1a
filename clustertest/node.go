package clustertest

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"sync"
)

// node is one cluster node: a listener and the connections it accepted.
// Its place in the cluster (shard, role, failed) is in the topology.
type node struct {
	c     *Cluster
	idx   int
	id    string
	addr  string
	host  string
	port  int
	stats *nodeStats

	mu     sync.Mutex // protects ln, conns and faults
	ln     net.Listener
	conns  map[*conn]struct{}
	faults faults
}

// newNode listens on a free loopback port.
func newNode(c *Cluster, idx int) (*node, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("clustertest: node %d: %w", idx, err)
	}
	tcp := ln.Addr().(*net.TCPAddr)
	n := &node{
		c:     c,
		idx:   idx,
		addr:  tcp.String(),
		host:  tcp.IP.String(),
		port:  tcp.Port,
		stats: newNodeStats(),
		conns: map[*conn]struct{}{},
	}
	sum := sha1.Sum([]byte("clustertest node " + strconv.Itoa(idx) + " " + n.addr))
	n.id = hex.EncodeToString(sum[:])
	n.serve(ln)
	return n, nil
}

// serve accepts connections on ln until it is closed.
func (n *node) serve(ln net.Listener) {
	n.mu.Lock()
	n.ln = ln
	n.mu.Unlock()
	n.c.wg.Add(1)
	go func() {
		defer n.c.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			n.mu.Lock()
			if n.ln != ln {
				// Killed between Accept and here: refuse, as a dead
				// process would have.
				n.mu.Unlock()
				nc.Close()
				continue
			}
			cn := newConn(n, nc)
			n.conns[cn] = struct{}{}
			n.c.wg.Add(1)
			n.mu.Unlock()
			n.stats.add(func(s *Stats) { s.Connections++ })
			go cn.serve()
		}
	}()
}

// listen reopens the node's listener on its address.
func (n *node) listen() error {
	n.mu.Lock()
	open := n.ln != nil
	n.mu.Unlock()
	if open {
		return nil
	}
	ln, err := net.Listen("tcp", n.addr)
	if err != nil {
		return fmt.Errorf("clustertest: reopening %s: %w", n.addr, err)
	}
	n.serve(ln)
	return nil
}

// closeListener stops accepting connections; new ones are refused.
func (n *node) closeListener() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ln != nil {
		n.ln.Close()
		n.ln = nil
	}
}

// kill closes the listener and every connection, as a crashed process. A
// crashed process runs nothing more: commands already read from a
// connection but not yet run (a pipeline's tail) must not run later, when
// their client has long seen the connection drop and moved on. Holding the
// data lock waits for the commands running now, which finish before the
// crash.
func (n *node) kill() {
	n.c.data.Lock()
	defer n.c.data.Unlock()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ln != nil {
		n.ln.Close()
		n.ln = nil
	}
	for cn := range n.conns {
		cn.dead.Store(true)
		cn.nc.Close()
	}
}

func (n *node) forget(cn *conn) {
	n.mu.Lock()
	delete(n.conns, cn)
	n.mu.Unlock()
}
