package cluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// A cluster directory is named dirPrefix+random and holds ownerFile, the
// pid of the process that started the cluster, so that a later Start can
// tell a directory whose owner died (a panicking or timed-out test binary
// runs no cleanup) from one in use.
const (
	dirPrefix = "clusterhop-cluster-"
	ownerFile = "owner.pid"
)

func makeDir(parent string) (string, error) {
	dir, err := os.MkdirTemp(parent, dirPrefix)
	if err != nil {
		return "", fmt.Errorf("cluster: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("cluster: %w", err)
	}
	return dir, nil
}

// watchdog is a shell process that removes a cluster's directory once the
// process that started the cluster is gone, however it ended: a panic in a
// test goroutine or a go test timeout exits without running deferred
// functions, and the servers then die by their parent-death signal but
// their directory would stay. The shell blocks reading a pipe whose only
// writer is this process; the kernel closes it when this process exits.
type watchdog struct {
	cmd *exec.Cmd
	w   *os.File // the pipe's write end, never written
}

func startWatchdog(dir string) (*watchdog, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("cluster: watchdog: %w", err)
	}
	defer r.Close()
	// The pause lets the servers finish dying before their files go.
	cmd := exec.Command("/bin/sh", "-c", `read -r _; sleep 1; rm -rf -- "$0"`, dir)
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("cluster: watchdog: %w", err)
	}
	return &watchdog{cmd: cmd, w: w}, nil
}

// stop ends the watchdog without letting it remove anything.
func (wd *watchdog) stop() {
	_ = wd.cmd.Process.Kill()
	_ = wd.cmd.Wait() // killed on purpose
	wd.w.Close()
}

// sweepStale removes the cluster directories in parent whose owner process
// no longer exists. Their servers died with it (parent-death signal).
func sweepStale(parent string, logf func(string, ...any)) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), dirPrefix) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // being created, or not a cluster directory
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 || processExists(pid) {
			continue
		}
		if err := os.RemoveAll(dir); err == nil {
			logf("cluster: removed %s, left by process %d", dir, pid)
		}
	}
}

func processExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// open holds every cluster of this process that is not closed yet, for
// CloseOnSignal.
var open struct {
	sync.Mutex // protects m
	m          map[*Cluster]struct{}
}

func register(c *Cluster) {
	open.Lock()
	defer open.Unlock()
	if open.m == nil {
		open.m = make(map[*Cluster]struct{})
	}
	open.m[c] = struct{}{}
}

func unregister(c *Cluster) {
	open.Lock()
	defer open.Unlock()
	delete(open.m, c)
}

// closeAll closes every cluster this process started and has not closed.
func closeAll() {
	open.Lock()
	all := make([]*Cluster, 0, len(open.m))
	for c := range open.m {
		all = append(all, c)
	}
	open.Unlock()
	for _, c := range all {
		if err := c.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
}

// CloseOnSignal closes every cluster of this process and exits with status
// 1 when the process receives SIGINT, SIGTERM or SIGHUP, until stop is
// called. Shared.Run uses it; a command that starts a cluster (a benchmark)
// can too.
func CloseOnSignal() (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case sig := <-ch:
			closeAll()
			fmt.Fprintf(os.Stderr, "cluster: %v: stopped every cluster; exiting\n", sig)
			os.Exit(1)
		case <-done:
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
			wg.Wait()
		})
	}
}
