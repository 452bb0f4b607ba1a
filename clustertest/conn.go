package clustertest

import (
	"bufio"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/alicebob/miniredis/v2/server"

	"github.com/clusterhop/clusterhop/command"
)

// conn is one client connection to a node. Its fields after peer are owned
// by the goroutine that serves it.
type conn struct {
	n    *node
	nc   net.Conn
	out  *switchWriter
	peer *server.Peer // the store's view of the connection

	asking     bool // ASKING was sent: the next command may be served while the slot is importing
	readonly   bool // READONLY was sent: a replica serves reads of its primary's slots
	inMulti    bool
	dirty      bool     // a command queued in this MULTI was refused: EXEC aborts
	multiWrite bool     // a queued command writes: a replica cannot serve the EXEC
	multiKeys  []string // keys of the queued commands, checked again at EXEC
	subscribed bool     // the connection subscribed: unsubscribe it when it ends
	idx        []int    // scratch for key indexes

	dead atomic.Bool // its node was killed: run nothing more
}

func newConn(n *node, nc net.Conn) *conn {
	out := &switchWriter{w: nc}
	return &conn{n: n, nc: nc, out: out, peer: server.NewPeer(bufio.NewWriter(out))}
}

func (cn *conn) serve() {
	defer cn.n.c.wg.Done()
	defer cn.close()
	cn.silently(func() {
		cn.n.c.store.srv.Dispatch(cn.peer, []string{"SELECT", strconv.Itoa(cn.shard())})
	})
	r := bufio.NewReader(cn.nc)
	for {
		args, err := readCommand(r)
		if err != nil {
			if pe := (*protocolError)(nil); errors.As(err, &pe) {
				cn.peer.WriteError(pe.Error())
				cn.peer.Flush()
			}
			return
		}
		if len(args) == 0 {
			continue
		}
		if !cn.handle(args) || cn.peer.Closed() {
			cn.peer.Flush()
			return
		}
		// Reply to a pipeline in one write, as a real server does when the
		// requests arrived together.
		if r.Buffered() == 0 {
			cn.peer.Flush()
		}
	}
}

func (cn *conn) close() {
	cn.nc.Close()
	cn.n.forget(cn)
	if cn.subscribed {
		// Ending the subscriptions stops the store's delivery goroutines
		// for this connection.
		cn.silently(func() {
			cn.n.c.store.srv.Dispatch(cn.peer, []string{"UNSUBSCRIBE"})
			cn.n.c.store.srv.Dispatch(cn.peer, []string{"PUNSUBSCRIBE"})
		})
	}
}

// silently runs f with the connection's replies thrown away.
func (cn *conn) silently(f func()) {
	cn.peer.Flush()
	cn.out.discard.Store(true)
	f()
	cn.peer.Flush()
	cn.out.discard.Store(false)
}

// shard is the shard the node belongs to; a node never changes shard.
func (cn *conn) shard() int {
	return cn.n.c.topo.Load().nodes[cn.n.idx].shard
}

// handle answers one command; false closes the connection.
func (cn *conn) handle(args []string) bool {
	name := strings.ToUpper(args[0])
	cn.n.stats.command(name, args)
	if !cn.n.c.delay(cn.n.latency()) {
		return false
	}
	if mode, ok := cn.n.takeDrop(args); ok {
		cn.n.stats.add(func(s *Stats) { s.Drops++ })
		if mode == ExecuteThenDrop {
			cn.peer.Flush()
			cn.out.discard.Store(true)
			cn.exec(name, args)
		}
		return false
	}
	if reply, ok := cn.n.takeInjection(args); ok {
		cn.n.stats.add(func(s *Stats) { s.InjectedErrors++ })
		cn.refuse(reply)
	} else {
		cn.exec(name, args)
	}
	// ASKING holds for one command, or for a whole transaction when sent
	// before MULTI.
	if name != "ASKING" && !cn.inMulti {
		cn.asking = false
	}
	return true
}

// refuse answers an error in place of running the command; inside MULTI it
// dooms the transaction, as a real server flags it.
func (cn *conn) refuse(reply string) {
	if cn.inMulti {
		cn.dirty = true
	}
	cn.peer.WriteError(reply)
}

// redirect refuses the command with a cluster-rule error and counts it.
func (cn *conn) redirect(reply string) {
	cn.n.stats.redirect(reply)
	cn.refuse(reply)
}

func (cn *conn) exec(name string, args []string) {
	switch name {
	case "ASKING", "READONLY", "READWRITE", "CLUSTER", "COMMAND", "INFO", "ROLE":
		if cn.inMulti {
			cn.refuse("ERR " + name + " inside MULTI is not supported by clustertest")
			return
		}
	}
	switch name {
	case "ASKING", "READONLY", "READWRITE":
		if len(args) != 1 {
			cn.refuse("ERR wrong number of arguments for '" + strings.ToLower(name) + "' command")
			return
		}
	}
	switch name {
	case "ASKING":
		cn.asking = true
		cn.peer.WriteOK()
	case "READONLY":
		cn.readonly = true
		cn.peer.WriteOK()
	case "READWRITE":
		cn.readonly = false
		cn.peer.WriteOK()
	case "CLUSTER":
		cn.cluster(args)
	case "COMMAND":
		cn.command(args)
	case "INFO":
		cn.info(args)
	case "ROLE":
		cn.role()
	case "SELECT":
		if len(args) == 2 && args[1] == "0" {
			cn.peer.WriteOK()
		} else {
			cn.refuse("ERR SELECT is not allowed in cluster mode")
		}
	case "SWAPDB":
		cn.refuse("ERR SWAPDB is not allowed in cluster mode")
	case "FLUSHALL":
		// A node flushes only its own data; here that is its shard's
		// database.
		cn.dispatch(append([]string{"FLUSHDB"}, args[1:]...))
	case "MULTI":
		cn.dispatch(args)
		if !cn.inMulti {
			cn.inMulti, cn.dirty, cn.multiWrite, cn.multiKeys = true, false, false, cn.multiKeys[:0]
		}
	case "EXEC":
		cn.execTransaction(args)
	case "DISCARD":
		cn.dispatch(args)
		cn.inMulti = false
	default:
		cn.routed(name, args)
	}
}

// routed runs a command after the cluster rules for its keys allow it here.
func (cn *conn) routed(name string, args []string) {
	idx, flags, known := command.KeysStrings(cn.idx[:0], args)
	cn.idx = idx[:0]
	write := flags&command.FlagReadOnly == 0
	// The check of where the keys are and the command must not be split
	// by a key moving between them, as a real server's single thread
	// never splits them; a blocking command could hold a migration up for
	// its whole timeout, so it runs outside (and may race with a move).
	if flags&command.FlagBlocking == 0 {
		cn.n.c.data.RLock()
		defer cn.n.c.data.RUnlock()
	}
	if known && len(idx) > 0 {
		keys := make([]string, len(idx))
		for i, at := range idx {
			keys[i] = args[at]
		}
		if reply := cn.n.route(cn.n.c.topo.Load(), keys, write, cn.asking, cn.readonly); reply != "" {
			cn.redirect(reply)
			return
		}
		if cn.inMulti {
			cn.multiKeys = append(cn.multiKeys, keys...)
		}
	}
	if name == "MOVE" {
		// A real node routes MOVE by its key first, then refuses it.
		cn.refuse("ERR MOVE is not allowed in cluster mode")
		return
	}
	if cn.inMulti && known && write && name != "WATCH" {
		cn.multiWrite = true
	}
	switch name {
	case "SUBSCRIBE", "PSUBSCRIBE":
		cn.subscribed = true
	}
	cn.dispatch(args)
}

// execTransaction runs EXEC. The queued commands were checked one by one;
// EXEC checks them together against the topology of now, as a real server
// does, since slots may have moved while the client queued.
func (cn *conn) execTransaction(args []string) {
	if !cn.inMulti {
		cn.dispatch(args)
		return
	}
	cn.inMulti = false
	switch {
	case cn.dirty:
		cn.silently(func() { cn.dispatch([]string{"DISCARD"}) })
		cn.n.stats.redirect(ReplyExecAbort)
		cn.peer.WriteError(ReplyExecAbort)
	case len(cn.multiKeys) > 0:
		cn.n.c.data.RLock()
		defer cn.n.c.data.RUnlock()
		if reply := cn.n.route(cn.n.c.topo.Load(), cn.multiKeys, cn.multiWrite, cn.asking, cn.readonly); reply != "" {
			cn.silently(func() { cn.dispatch([]string{"DISCARD"}) })
			cn.redirect(reply)
			return
		}
		cn.dispatch(args)
	default:
		cn.dispatch(args)
	}
}

func (cn *conn) dispatch(args []string) {
	if cn.dead.Load() {
		return
	}
	cn.n.c.store.srv.Dispatch(cn.peer, args)
}
