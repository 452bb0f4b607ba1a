// Command clusterhop shows what the clusterhop library does: a demo on an
// embedded fake cluster, a benchmark side by side with go-redis's
// ClusterClient, a look at a live cluster's topology, and a hash-slot
// calculator.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/slotmap"
)

const usage = `clusterhop — a cluster-aware Redis/Valkey client layer, shown working.

Usage:
  clusterhop demo     [flags]    a mixed workload through redirect.Client while slots
                                 migrate, a primary fails over and a node is LOADING;
                                 ends with a report and PASS, or FAIL if a write was
                                 lost or duplicated
  clusterhop bench    [flags]    the same workload through redirect.Client, a plain
                                 go-redis client with redirect.Hook, and go-redis's
                                 ClusterClient, interleaved, side by side
  clusterhop topology --addr host:port [flags]
                                 a live cluster's shards, slot ranges, roles, health,
                                 replication offsets and node ids from CLUSTER SHARDS,
                                 checked like redis-cli --cluster check
  clusterhop slot KEY...         the hash slot of each key (like CLUSTER KEYSLOT)
  clusterhop help [COMMAND]      this text, or a command's flags

demo, bench and topology end with a line on stderr: PASS, or FAIL and the reason.
Exit status: 0 on PASS, 1 on FAIL, 2 for a usage error (unknown command or flag,
bad value).

Run 'clusterhop help COMMAND' for a command's flags.
`

// A command runs with the arguments after its name. On success it returns
// what its PASS line says; a run that fails returns the reason, and a usage
// error returns a usageError.
type command struct {
	run func(args []string, stdout, stderr io.Writer) (string, error)
	// flags returns the command's flag set, for help; nil for a command
	// without flags, whose usage is text.
	flags func() *flag.FlagSet
	text  string
	// verdict: the command ends with a PASS or FAIL line.
	verdict bool
}

var commands = map[string]command{
	"demo":     {run: runDemo, verdict: true, flags: func() *flag.FlagSet { fs, _ := demoFlags(); return fs }},
	"bench":    {run: runBench, verdict: true, flags: func() *flag.FlagSet { fs, _ := benchFlags(); return fs }},
	"topology": {run: runTopology, verdict: true, flags: func() *flag.FlagSet { fs, _ := topologyFlags(); return fs }},
	"slot": {run: runSlot, text: "Usage: clusterhop slot KEY...\n\n" +
		"Prints each key's hash slot: CRC16 of the key, or of its hash tag (the text\n" +
		"between the first '{' and the next '}', when not empty), mod 16384. Keys that\n" +
		"share a hash tag share a slot, so multi-key commands and transactions on them\n" +
		"work in a cluster. The same as CLUSTER KEYSLOT, without a server.\n\n" +
		"  $ clusterhop slot user:1000 '{user1000}.following'\n" +
		"  user:1000\t1649\n" +
		"  {user1000}.following\t3443  (hash tag \"user1000\")\n"},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		return runHelp(rest, stdout, stderr)
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "clusterhop: unknown command %q; run 'clusterhop help' for the commands\n", name)
		return 2
	}
	pass, err := cmd.run(rest, stdout, stderr)
	var uerr usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		printHelp(name, cmd, stdout)
		return 0
	case errors.As(err, &uerr):
		fmt.Fprintf(stderr, "clusterhop %s: %v; run 'clusterhop help %s' for its usage\n", name, uerr.err, name)
		return 2
	case err != nil && cmd.verdict:
		fmt.Fprintf(stderr, "FAIL: %v\n", err)
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "clusterhop %s: %v\n", name, err)
		return 1
	case cmd.verdict:
		fmt.Fprintf(stderr, "PASS: %s\n", pass)
	}
	return 0
}

// usageError is a command line the command cannot run: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }

func usageErrorf(format string, a ...any) error {
	return usageError{fmt.Errorf(format, a...)}
}

func runHelp(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "clusterhop help: unknown command %q; run 'clusterhop help' for the commands\n", args[0])
		return 2
	}
	printHelp(args[0], cmd, stdout)
	return 0
}

func printHelp(name string, cmd command, w io.Writer) {
	if cmd.flags == nil {
		fmt.Fprint(w, cmd.text)
		return
	}
	fs := cmd.flags()
	fs.SetOutput(w)
	fs.Usage()
}

// parseFlags parses a command's flags without printing anything: the caller
// reports one error, or the help on -h. Commands take no positional
// arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return err
	case err != nil:
		msg := strings.Replace(err.Error(), "flag provided but not defined:", "unknown flag", 1)
		return usageError{errors.New(doubleDash(msg))}
	case fs.NArg() > 0:
		return usageErrorf("unexpected arguments %q (flags come as --name value)", fs.Args())
	}
	return nil
}

// flagInMessage finds a flag name in the flag package's error texts
// ("unknown flag -x", "invalid value "y" for flag -x: ...").
var flagInMessage = regexp.MustCompile(`(: |flag |for )-([A-Za-z][A-Za-z0-9-]*)`)

// doubleDash spells flags in the flag package's error texts as the help and
// the README do, --name (the command accepts -name too).
func doubleDash(msg string) string {
	return flagInMessage.ReplaceAllString(msg, "$1--$2")
}

// printFlags is flag.PrintDefaults with the flags spelled --name.
func printFlags(fs *flag.FlagSet) {
	w := fs.Output()
	fs.VisitAll(func(f *flag.Flag) {
		arg, text := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if arg != "" {
			line += " " + arg
		}
		fmt.Fprintln(w, line)
		text = strings.ReplaceAll(text, "\n", "\n    \t")
		switch f.DefValue {
		case "", "0", "0s", "false":
		default:
			if g, ok := f.Value.(flag.Getter); ok {
				if _, isString := g.Get().(string); isString {
					text += fmt.Sprintf(" (default %q)", f.DefValue)
					break
				}
			}
			text += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "    \t%s\n", text)
	})
}

// connFlags are how a command reaches a real cluster's nodes: ACL user,
// password and TLS, the same for every node.
type connFlags struct {
	user        string
	password    string
	tls         bool
	tlsCA       string
	tlsInsecure bool
}

func (c *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.user, "user", "", "ACL user `name` of the nodes (default: the default user)")
	fs.StringVar(&c.password, "password", "", "`password` of the nodes; $REDISCLI_AUTH when not given, as for redis-cli")
	fs.BoolVar(&c.tls, "tls", false, "connect to the nodes with TLS (their tls-port)")
	fs.StringVar(&c.tlsCA, "tls-ca", "", "with --tls: PEM `file` of the CA that signed the nodes' certificates (default: the system's)")
	fs.BoolVar(&c.tlsInsecure, "tls-insecure", false, "with --tls: do not verify the nodes' certificates")
}

// set reports whether any connection flag was given.
func (c *connFlags) set() bool {
	return c.user != "" || c.password != "" || c.tls || c.tlsCA != "" || c.tlsInsecure
}

// options returns the connection settings as go-redis options (Username,
// Password, TLSConfig); errors are usage errors.
func (c *connFlags) options() (*redis.Options, error) {
	if !c.tls && (c.tlsCA != "" || c.tlsInsecure) {
		return nil, usageErrorf("--tls-ca and --tls-insecure need --tls")
	}
	if c.tlsCA != "" && c.tlsInsecure {
		return nil, usageErrorf("--tls-ca and --tls-insecure exclude each other")
	}
	o := &redis.Options{Username: c.user, Password: c.password}
	if o.Password == "" {
		o.Password = os.Getenv("REDISCLI_AUTH")
	}
	if !c.tls {
		return o, nil
	}
	o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.tlsInsecure}
	if c.tlsCA != "" {
		pem, err := os.ReadFile(c.tlsCA)
		if err != nil {
			return nil, usageErrorf("--tls-ca: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usageErrorf("--tls-ca: no PEM certificate in %s", c.tlsCA)
		}
		o.TLSConfig.RootCAs = pool
	}
	return o, nil
}

// cliArgs returns the redis-cli (or valkey-cli) options for the same
// connection settings, and the environment that carries the password, as
// REDISCLI_AUTH, out of the process list.
func (c *connFlags) cliArgs() (args, env []string) {
	if c.user != "" {
		args = append(args, "--user", c.user)
	}
	if c.tls {
		args = append(args, "--tls")
		if c.tlsCA != "" {
			args = append(args, "--cacert", c.tlsCA)
		}
		if c.tlsInsecure {
			args = append(args, "--insecure")
		}
	}
	if c.password != "" {
		env = append(env, "REDISCLI_AUTH="+c.password)
	}
	return args, env
}

func runSlot(keys []string, stdout, _ io.Writer) (string, error) {
	if len(keys) == 0 {
		return "", usageErrorf("give at least one key: clusterhop slot KEY [KEY ...]")
	}
	for _, k := range keys {
		s, e := hashTag(k)
		note := ""
		if e > s {
			note = fmt.Sprintf("  (hash tag %q)", k[s:e])
		}
		fmt.Fprintf(stdout, "%s\t%d%s\n", k, slotmap.Slot(k), note)
	}
	return "", nil
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

// writeJSON writes v indented, the --json form of every command's report.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
