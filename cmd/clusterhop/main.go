// Command clusterhop shows what the clusterhop library does: a demo on an
// embedded fake cluster, a benchmark side by side with go-redis's
// ClusterClient, and a hash-slot calculator.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/clusterhop/clusterhop/slotmap"
)

const usage = `clusterhop — a cluster-aware Redis/Valkey client layer, shown working.

Usage:
  clusterhop demo  [flags]       a mixed workload through redirect.Client while slots
                                 migrate, a primary fails over and a node is LOADING;
                                 ends with a report (exit status 1 if a write was lost)
  clusterhop bench [flags]       the same workload through redirect.Client, a plain
                                 go-redis client with redirect.Hook, and go-redis's
                                 ClusterClient, interleaved, side by side
  clusterhop slot KEY...         the hash slot of each key (like CLUSTER KEYSLOT)
  clusterhop help [COMMAND]      this text, or a command's flags

Run 'clusterhop help demo' or 'clusterhop help bench' for their flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "demo":
		err = runDemo(rest, stdout, stderr)
	case "bench":
		err = runBench(rest, stdout, stderr)
	case "slot":
		err = runSlot(rest, stdout)
	case "help", "-h", "-help", "--help":
		return runHelp(rest, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "clusterhop: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	var exit exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &exit):
		fmt.Fprintf(stderr, "clusterhop %s: %v\n", cmd, exit.err)
		return exit.code
	default:
		fmt.Fprintf(stderr, "clusterhop %s: %v\n", cmd, err)
		return 1
	}
}

// exitError carries a specific exit status.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }

func runHelp(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return 0
	}
	var fs *flag.FlagSet
	switch args[0] {
	case "demo":
		fs, _ = demoFlags(stdout)
	case "bench":
		fs, _ = benchFlags(stdout)
	case "slot":
		fmt.Fprintln(stdout, "Usage: clusterhop slot KEY...\n\nPrints each key's hash slot (CRC16 of the key or its {hash tag}, mod 16384).")
		return 0
	default:
		fmt.Fprintf(stderr, "clusterhop help: unknown command %q\n", args[0])
		return 2
	}
	fs.SetOutput(stdout)
	fs.Usage()
	return 0
}

func runSlot(keys []string, stdout io.Writer) error {
	if len(keys) == 0 {
		return exitError{code: 2, err: errors.New("give at least one key: clusterhop slot KEY [KEY ...]")}
	}
	for _, k := range keys {
		s, e := hashTag(k)
		note := ""
		if e > s {
			note = fmt.Sprintf("  (hash tag %q)", k[s:e])
		}
		fmt.Fprintf(stdout, "%s\t%d%s\n", k, slotmap.Slot(k), note)
	}
	return nil
}

// hashTag returns the bounds of key's hash tag, for display.
func hashTag(key string) (s, e int) {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return 0, 0
	}
	j := strings.IndexByte(key[i+1:], '}')
	if j <= 0 {
		return 0, 0
	}
	return i + 1, i + 1 + j
}
