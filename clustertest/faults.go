package clustertest

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// FaultSpec makes a node answer an error in place of running commands.
type FaultSpec struct {
	// Reply is the error to answer, without the leading '-', such as
	// ReplyLoading or "MOVED 3999 127.0.0.1:1". It must not be empty.
	Reply string

	// Count is how many matching commands get Reply. Zero means no limit.
	Count int

	// For is how long the fault lasts from InjectError on ("CLUSTERDOWN
	// for 800 ms"). Zero means until Count is spent or ClearFaults.
	For time.Duration

	// Match selects the commands (args[0] is the name, as sent). Nil
	// matches every command but the connection set-up (HELLO, AUTH,
	// CLIENT, SELECT) and the flags that modify the next command (ASKING,
	// READONLY, READWRITE), so that a fault hits the command a client
	// meant to send. Match runs while the node holds its fault lock, so it
	// must not call the Cluster's methods.
	Match func(args []string) bool
}

// DropMode says whether a command whose connection DropAfterRead closes
// runs first.
type DropMode int

const (
	// DropBeforeExecute closes the connection without running the
	// command: a client cannot tell this from ExecuteThenDrop.
	DropBeforeExecute DropMode = iota

	// ExecuteThenDrop runs the command, then closes the connection
	// without replying: the command's outcome is in doubt for the client.
	ExecuteThenDrop
)

// faults is a node's pending faults.
type faults struct {
	errors  []*errorFault
	latency time.Duration
	drops   int
	mode    DropMode
}

type errorFault struct {
	spec  FaultSpec
	left  int       // matching commands still to answer; -1 for no limit
	until time.Time // when the fault ends; zero for never
}

// setup are the commands default matchers leave alone.
var setup = map[string]bool{
	"HELLO": true, "AUTH": true, "CLIENT": true, "SELECT": true,
	"ASKING": true, "READONLY": true, "READWRITE": true,
}

func defaultMatch(args []string) bool { return !setup[strings.ToUpper(args[0])] }

// InjectError makes the node at addr answer f.Reply to the next f.Count
// commands f.Match selects, for f.For. Faults injected earlier answer
// first.
func (c *Cluster) InjectError(addr string, f FaultSpec) error {
	if f.Reply == "" || strings.ContainsAny(f.Reply, "\r\n") {
		return fmt.Errorf("clustertest: FaultSpec.Reply %q must be one non-empty line", f.Reply)
	}
	if f.Count < 0 {
		return fmt.Errorf("clustertest: FaultSpec.Count is %d, want 0 (no limit) or more", f.Count)
	}
	if f.For < 0 {
		return fmt.Errorf("clustertest: FaultSpec.For is %v, want 0 (no limit) or more", f.For)
	}
	n, err := c.node(addr)
	if err != nil {
		return err
	}
	if f.Match == nil {
		f.Match = defaultMatch
	}
	left := f.Count
	if left == 0 {
		left = -1
	}
	n.mu.Lock()
	ef := &errorFault{spec: f, left: left}
	if f.For > 0 {
		ef.until = time.Now().Add(f.For)
	}
	n.faults.errors = append(n.faults.errors, ef)
	n.mu.Unlock()
	return nil
}

// SetLatency makes the node at addr wait d before it handles each command;
// zero removes the delay.
func (c *Cluster) SetLatency(addr string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("clustertest: latency %v is negative", d)
	}
	n, err := c.node(addr)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.faults.latency = d
	n.mu.Unlock()
	return nil
}

// DropAfterRead makes the node at addr close the connection of each of the
// next count commands (those a nil FaultSpec.Match selects) once it has
// read it, running it first or not as mode says.
func (c *Cluster) DropAfterRead(addr string, count int, mode DropMode) error {
	if count < 0 {
		return fmt.Errorf("clustertest: drop count %d is negative", count)
	}
	if mode != DropBeforeExecute && mode != ExecuteThenDrop {
		return fmt.Errorf("clustertest: unknown DropMode %d", mode)
	}
	n, err := c.node(addr)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.faults.drops, n.faults.mode = count, mode
	n.mu.Unlock()
	return nil
}

// CloseListener makes the node at addr refuse new connections; those open
// keep working. RestartNode listens again.
func (c *Cluster) CloseListener(addr string) error {
	n, err := c.node(addr)
	if err != nil {
		return err
	}
	n.closeListener()
	return nil
}

// ClearFaults removes the node's injected errors, latency and drops.
func (c *Cluster) ClearFaults(addr string) error {
	n, err := c.node(addr)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.faults = faults{}
	n.mu.Unlock()
	return nil
}

func (n *node) latency() time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.faults.latency
}

// takeDrop consumes one pending drop if args is a command drops apply to.
func (n *node) takeDrop(args []string) (DropMode, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.faults.drops == 0 || !defaultMatch(args) {
		return 0, false
	}
	n.faults.drops--
	return n.faults.mode, true
}

// takeInjection consumes one use of the first error fault matching args.
func (n *node) takeInjection(args []string) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := time.Now()
	n.faults.errors = slices.DeleteFunc(n.faults.errors, func(f *errorFault) bool {
		return !f.until.IsZero() && !now.Before(f.until)
	})
	for i, f := range n.faults.errors {
		if !f.spec.Match(args) {
			continue
		}
		if f.left > 0 {
			f.left--
			if f.left == 0 {
				n.faults.errors = append(n.faults.errors[:i], n.faults.errors[i+1:]...)
			}
		}
		return f.spec.Reply, true
	}
	return "", false
}
