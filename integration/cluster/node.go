package cluster

import (
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

// access is what a cluster's nodes need beyond the defaults: TLS files,
// and ACL users with the admin password the harness uses itself. The zero
// value is plain TCP without access control.
type access struct {
	tls       *tlsFiles // nil: plain TCP
	users     []string  // ACL users besides the admin; nil: no access control
	adminPass string    // the admin user's password when users is not nil
}

// adminUser is the ACL user the harness authenticates as on a cluster with
// Config.Users: every command, every key, every channel.
const adminUser = "clusterhop-admin"

func newNode(root string, port, busPort int, cfg Config, acc access) (*node, error) {
	n := &node{
		addr:    net.JoinHostPort(cfg.Host, strconv.Itoa(port)),
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
	if err := os.WriteFile(n.conf, []byte(nodeConf(n, cfg, acc)), 0o600); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	opts := &redis.Options{
		Addr:                  n.addr,
		Protocol:              2,
		MaxRetries:            -1,
		DialTimeout:           2 * time.Second,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          10 * time.Second,
		ContextTimeoutEnabled: true,
		PoolSize:              4,
		TLSConfig:             acc.tls.clientConfig(),
	}
	if acc.users != nil {
		opts.Username, opts.Password = adminUser, acc.adminPass
	}
	n.client = redis.NewClient(opts)
	return n, nil
}

// nodeConf is the configuration file of node n.
func nodeConf(n *node, cfg Config, acc access) string {
	// Loopback only; no persistence but nodes.conf, which is what lets a
	// killed node rejoin with its identity. The replica validity factor is 0
	// so that a replica may always take over: on a loaded machine its data
	// can look stale by the server's clock even when it is not. A full
	// resync starts at once instead of after the default 5s wait for more
	// replicas, so a cluster starts and a restarted node rejoins quickly.
	var b strings.Builder
	fmt.Fprintf(&b, `bind %s
protected-mode no
daemonize no
dir %s
logfile ""
appendonly no
save ""
repl-diskless-sync-delay 0
`, cfg.Host, n.dir)
	if !cfg.Standalone {
		// The announced address is the one the nodes bind to, so MOVED,
		// ASK and CLUSTER SHARDS name an address clients can dial, also
		// on ::1.
		fmt.Fprintf(&b, `cluster-enabled yes
cluster-port %d
cluster-config-file nodes.conf
cluster-node-timeout %d
cluster-replica-validity-factor 0
cluster-announce-ip %s
`, n.busPort, cfg.NodeTimeout.Milliseconds(), cfg.Host)
	}
	if acc.tls == nil {
		fmt.Fprintf(&b, "port %d\n", n.port)
	} else {
		// TLS only: no plain port. Clients are not asked for a
		// certificate; the nodes present theirs to each other.
		fmt.Fprintf(&b, `port 0
tls-port %d
tls-cert-file %s
tls-key-file %s
tls-ca-cert-file %s
tls-auth-clients no
tls-replication yes
`, n.port, acc.tls.certFile, acc.tls.keyFile, acc.tls.caFile)
		if !cfg.Standalone {
			b.WriteString("tls-cluster yes\n")
		}
	}
	if acc.users != nil {
		// No access without a user: the default user is off. The harness
		// (and replication, which authenticates as masteruser) uses its
		// own admin user.
		fmt.Fprintf(&b, `user default off
user %s on >%s ~* &* +@all
masteruser %s
masterauth %s
`, adminUser, acc.adminPass, adminUser, acc.adminPass)
		for _, u := range acc.users {
			fmt.Fprintf(&b, "user %s\n", u)
		}
	}
	return b.String()
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
	return tailLines(string(data), lines)
}

// tailLines returns the last lines of text.
func tailLines(text string, lines int) string {
	parts := strings.Split(strings.TrimRight(text, "\n"), "\n")
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
