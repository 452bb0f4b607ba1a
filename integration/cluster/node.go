package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// nodeState is what the harness did to a node's process last.
type nodeState int

const (
	stateRunning nodeState = iota
	statePaused            // SIGSTOP: alive, holds its sockets, answers nothing
	stateKilled            // SIGKILL, or never started
)

// node is one server process and its files. The fields set by newNode are
// fixed; cmd, done and state are guarded by Cluster.mu.
type node struct {
	addr    string
	port    int
	busPort int
	dir     string
	conf    string
	log     string
	id      string        // set once at Start; survives restarts in nodes.conf
	client  *redis.Client // admin connection, never retried by go-redis

	cmd   *exec.Cmd
	done  chan struct{} // closed when the process has exited and been reaped
	state nodeState
}

func newNode(root string, port, busPort int, nodeTimeout time.Duration) (*node, error) {
	n := &node{
		addr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		port:    port,
		busPort: busPort,
		dir:     filepath.Join(root, "node-"+strconv.Itoa(port)),
		state:   stateKilled,
	}
	n.conf = filepath.Join(n.dir, "server.conf")
	n.log = filepath.Join(n.dir, "server.log")
	if err := os.MkdirAll(n.dir, 0o755); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	// Loopback only; no persistence but nodes.conf, which is what lets a
	// killed node rejoin with its identity. The replica validity factor is 0
	// so that a replica may always take over: on a loaded machine its data
	// can look stale by the server's clock even when it is not. A full
	// resync starts at once instead of after the default 5s wait for more
	// replicas, so a cluster starts and a restarted node rejoins quickly.
	conf := fmt.Sprintf(`port %d
bind 127.0.0.1
protected-mode no
daemonize no
cluster-enabled yes
cluster-port %d
cluster-config-file nodes.conf
cluster-node-timeout %d
cluster-replica-validity-factor 0
dir %s
logfile ""
appendonly no
save ""
repl-diskless-sync-delay 0
`, port, busPort, nodeTimeout.Milliseconds(), n.dir)
	if err := os.WriteFile(n.conf, []byte(conf), 0o644); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	n.client = redis.NewClient(&redis.Options{
		Addr:                  n.addr,
		Protocol:              2,
		MaxRetries:            -1,
		DialTimeout:           2 * time.Second,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          10 * time.Second,
		ContextTimeoutEnabled: true,
		PoolSize:              4,
	})
	return n, nil
}

// start launches the process with its output appended to the node's log.
// The caller holds Cluster.mu.
func (n *node) start(server string) error {
	logFile, err := os.OpenFile(n.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(server, n.conf)
	cmd.Dir = n.dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cluster: start %s for %s: %w", server, n.addr, err)
	}
	done := make(chan struct{})
	go n.reap(cmd, done)
	n.cmd, n.done, n.state = cmd, done, stateRunning
	return nil
}

// reap waits for the process to exit and closes done. One such goroutine
// runs per server process while it runs (goleak users can ignore it with
// goleak.IgnoreAnyFunction on this method's name).
func (n *node) reap(cmd *exec.Cmd, done chan<- struct{}) {
	_ = cmd.Wait() // killed on purpose, or its log says why
	close(done)
}

// waitReady polls PING until the server answers, its process exits, or ctx
// ends. done is the channel of the process being waited for.
func (n *node) waitReady(ctx context.Context, done <-chan struct{}) error {
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := n.client.Ping(pctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-done:
			log := n.tail(20)
			if strings.Contains(log, "Address already in use") {
				return fmt.Errorf("cluster: server %s: %w", n.addr, errPortInUse)
			}
			return fmt.Errorf("cluster: server %s exited while starting; log:\n%s", n.addr, log)
		case <-ctx.Done():
			return fmt.Errorf("cluster: server %s did not answer PING: %w (last: %v); log:\n%s", n.addr, context.Cause(ctx), err, n.tail(20))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// signal sends sig to the process; the caller holds Cluster.mu.
func (n *node) signal(sig syscall.Signal) error {
	if n.cmd == nil || n.state == stateKilled {
		return fmt.Errorf("cluster: node %s is not running", n.addr)
	}
	if err := n.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("cluster: signal %v to %s: %w", sig, n.addr, err)
	}
	return nil
}

// kill sends SIGKILL (which also ends a stopped process) and waits until
// the process is reaped, so its ports are free when kill returns. The
// caller holds Cluster.mu.
func (n *node) kill() error {
	if n.cmd == nil || n.state == stateKilled {
		return nil
	}
	if err := n.signal(syscall.SIGKILL); err != nil {
		return err
	}
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
		return fmt.Errorf("cluster: node %s (pid %d) did not exit after SIGKILL", n.addr, n.cmd.Process.Pid)
	}
	n.state = stateKilled
	return nil
}

// tail returns the last lines of the node's log.
func (n *node) tail(lines int) string {
	data, err := os.ReadFile(n.log)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	data = bytes.TrimRight(data, "\n")
	parts := strings.Split(string(data), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

func (s nodeState) String() string {
	switch s {
	case stateRunning:
		return "running"
	case statePaused:
		return "paused"
	case stateKilled:
		return "not running"
	}
	return fmt.Sprintf("nodeState(%d)", int(s))
}
