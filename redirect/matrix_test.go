package redirect_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/retry"
	"github.com/clusterhop/clusterhop/slotmap"
)

// matrixEnv is one cell's world: a fresh fake cluster, and the key the
// cell writes, served by shard 0.
type matrixEnv struct {
	t    *testing.T
	c    *clustertest.Cluster
	key  string
	rec  *recorder
	six  *scripted // the IPv6 node of the IPv6 cell
	dead string    // an address nothing listens on
}

// deadAddr returns a loopback address whose port was free a moment ago:
// a dial there is refused.
func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// matrixPath is one way a command reaches the engine. open makes the
// client (a Client with its topology loaded, or a plain client with a
// Hook) and returns the operation: write key=v, return the error the
// caller sees. tx says the fault also meets the engine's EXECABORT probe,
// which queues the command once more.
type matrixPath struct {
	name string
	tx   bool
	open func(env *matrixEnv, opts redirect.Options) func(ctx context.Context) error
}

func clientPath(name string, tx bool, set func(ctx context.Context, cl *redirect.Client, key string) error) matrixPath {
	return matrixPath{name: name, tx: tx, open: func(env *matrixEnv, opts redirect.Options) func(ctx context.Context) error {
		cl := newClient(env.t, env.c, opts)
		require.NoError(env.t, cl.Refresh(context.Background()))
		return func(ctx context.Context) error { return set(ctx, cl, env.key) }
	}}
}

func hookPath(name string, tx bool, set func(ctx context.Context, rdb *redis.Client, key string) error) matrixPath {
	return matrixPath{name: name, tx: tx, open: func(env *matrixEnv, opts redirect.Options) func(ctx context.Context) error {
		// The caller's client has the same settings as the per-node
		// clients the hook makes.
		o := &redis.Options{}
		if opts.Template != nil {
			o = opts.Template
		}
		rdb := redis.NewClient(&redis.Options{Addr: env.c.Primary(0), MaxRetries: -1, ReadTimeout: o.ReadTimeout})
		h, err := redirect.Attach(rdb, opts)
		require.NoError(env.t, err)
		env.t.Cleanup(func() {
			require.NoError(env.t, h.Close())
			require.NoError(env.t, rdb.Close())
		})
		// A connection ready before the fault, as a Client has one from
		// loading the topology: the fault meets the command, not the
		// connection's set-up.
		require.NoError(env.t, rdb.Ping(context.Background()).Err())
		return func(ctx context.Context) error { return set(ctx, rdb, env.key) }
	}}
}

var matrixPaths = []matrixPath{
	clientPath("Do", false, func(ctx context.Context, cl *redirect.Client, k string) error {
		return cl.Set(ctx, k, "v", 0).Err()
	}),
	clientPath("Pipeline", false, func(ctx context.Context, cl *redirect.Client, k string) error {
		_, err := cl.Pipelined(ctx, func(p redis.Pipeliner) error { p.Set(ctx, k, "v", 0); return nil })
		return err
	}),
	clientPath("TxPipeline", true, func(ctx context.Context, cl *redirect.Client, k string) error {
		_, err := cl.TxPipelined(ctx, func(p redis.Pipeliner) error { p.Set(ctx, k, "v", 0); return nil })
		return err
	}),
	clientPath("Watch", true, func(ctx context.Context, cl *redirect.Client, k string) error {
		return cl.Watch(ctx, func(tx *redis.Tx) error {
			_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error { p.Set(ctx, k, "v", 0); return nil })
			return err
		}, k)
	}),
	hookPath("Hook", false, func(ctx context.Context, rdb *redis.Client, k string) error {
		return rdb.Set(ctx, k, "v", 0).Err()
	}),
	hookPath("HookPipeline", false, func(ctx context.Context, rdb *redis.Client, k string) error {
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error { p.Set(ctx, k, "v", 0); return nil })
		return err
	}),
	hookPath("HookTx", true, func(ctx context.Context, rdb *redis.Client, k string) error {
		_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error { p.Set(ctx, k, "v", 0); return nil })
		return err
	}),
}

// matrixFault is one failure the command meets, and what every path must
// make of it.
type matrixFault struct {
	name string
	// options, when set, adjusts the client's options.
	options func(env *matrixEnv, opts *redirect.Options)
	// arrange sets the fault up once the client is open; it may change
	// the context, and reports whether the write must be stored.
	arrange func(env *matrixEnv, p matrixPath, ctx *context.Context) (stored bool)
	check   func(t *testing.T, err error)
	// events are the Observer's redirects and retries, by kind, in order;
	// giveUps the number of GiveUp events.
	events  []string
	giveUps int
	inDoubt bool // the error must be in doubt (else it must not)
}

// injectOnSet answers reply to the next SETs on shard 0's primary: one,
// and one more where the engine's probe meets it too.
func injectOnSet(env *matrixEnv, p matrixPath, reply string) {
	n := 1
	if p.tx {
		n = 2
	}
	require.NoError(env.t, env.c.InjectError(env.c.Primary(0), clustertest.FaultSpec{
		Reply: reply, Count: n, Match: func(args []string) bool { return args[0] == "set" || args[0] == "SET" },
	}))
}

func succeeds(t *testing.T, err error) { require.NoError(t, err) }

var matrixFaults = []matrixFault{
	{
		name: "MOVED",
		arrange: func(env *matrixEnv, p matrixPath, _ *context.Context) bool {
			require.NoError(env.t, env.c.MigrateSlot(slotmap.Slot(env.key), env.c.Primary(1)))
			return true
		},
		check:  succeeds,
		events: []string{"redirect MOVED"},
	},
	{
		name: "ASK",
		arrange: func(env *matrixEnv, p matrixPath, _ *context.Context) bool {
			require.NoError(env.t, env.c.BeginMigration(slotmap.Slot(env.key), env.c.Primary(1)))
			return true
		},
		check:  succeeds,
		events: []string{"redirect ASK"},
	},
	{
		name: "ASK then TRYAGAIN",
		arrange: func(env *matrixEnv, p matrixPath, _ *context.Context) bool {
			require.NoError(env.t, env.c.BeginMigration(slotmap.Slot(env.key), env.c.Primary(1)))
			n := 1
			if p.tx {
				n = 2
			}
			require.NoError(env.t, env.c.InjectError(env.c.Primary(1), clustertest.FaultSpec{
				Reply: "TRYAGAIN Multiple keys request during rehashing of slot", Count: n,
				Match: func(args []string) bool { return args[0] == "set" || args[0] == "SET" },
			}))
			return true
		},
		check:  succeeds,
		events: []string{"redirect ASK", "retry TRYAGAIN", "redirect ASK"},
	},
	{
		name: "TRYAGAIN",
		arrange: func(env *matrixEnv, p matrixPath, _ *context.Context) bool {
			injectOnSet(env, p, "TRYAGAIN Multiple keys request during rehashing of slot")
			return true
		},
		check:  succeeds,
		events: []string{"retry TRYAGAIN"},
	},
	{
		name: "CLUSTERDOWN",
		arrange: func(env *matrixEnv, p matrixPath, _ *context.Context) bool {
			injectOnSet(env, p, clustertest.ReplyClusterDown)
			return true
		},
		check:  succeeds,
		events: []string{"retry CLUSTERDOWN"},
	},
	{
		name: "LOADING",
		arrange: func(env *matrixEnv, p matrixPath, _ *context.Context) bool {
			injectOnSet(env, p, clustertest.ReplyLoading)
			return true
		},
		check:  succeeds,
		events: []string{"retry LOADING"},
	},
	{
		name: "MOVED to a stranger",
		arrange: func(env *matrixEnv, p matrixPath, _ *context.Context) bool {
			stranger := listen(env.t, "tcp4", "127.0.0.1:0", false)
			injectOnSet(env, p, "MOVED "+strconv.Itoa(slotmap.Slot(env.key))+" "+stranger.addr)
			env.t.Cleanup(func() { assert.Zero(env.t, stranger.accepted(), "the stranger was dialled") })
			return false
		},
		check: func(t *testing.T, err error) {
			require.ErrorIs(t, err, redirect.ErrAddrNotAllowed)
			var g *retry.GiveUpError
			require.ErrorAs(t, err, &g)
			var m *classify.MovedError
			require.ErrorAs(t, err, &m)
		},
		giveUps: 1,
	},
	{
		name: "MOVED with an IPv6 target",
		options: func(env *matrixEnv, opts *redirect.Options) {
			env.six = listen(env.t, "tcp6", "[::1]:0", true)
			opts.AllowAddr = func(addr string) bool { return addr == env.six.addr || !isIPv6(addr) }
		},
		arrange: func(env *matrixEnv, p matrixPath, _ *context.Context) bool {
			_, port, _ := net.SplitHostPort(env.six.addr)
			// As Redis and Valkey write it: no brackets.
			injectOnSet(env, p, "MOVED "+strconv.Itoa(slotmap.Slot(env.key))+" ::1:"+port)
			env.t.Cleanup(func() { assert.Positive(env.t, env.six.accepted(), "the IPv6 node was never dialled") })
			return false // the scripted node keeps nothing
		},
		check:  succeeds,
		events: []string{"redirect MOVED"},
	},
	{
		name: "refused dial",
		options: func(env *matrixEnv, opts *redirect.Options) {
			opts.Policy.MaxRetries = 2
			opts.RefreshInterval = time.Millisecond
		},
		arrange: func(env *matrixEnv, p matrixPath, _ *context.Context) bool {
			require.NoError(env.t, env.c.KillNode(env.c.Primary(0)))
			return false
		},
		check: func(t *testing.T, err error) {
			require.ErrorIs(t, err, classify.ErrConnection)
			require.ErrorIs(t, err, retry.ErrRetryBudget)
		},
		events:  []string{"retry connection", "retry connection"},
		giveUps: 1,
	},
	{
		name: "read timeout",
		options: func(env *matrixEnv, opts *redirect.Options) {
			opts.Template = &redis.Options{ReadTimeout: 50 * time.Millisecond}
		},
		arrange: func(env *matrixEnv, p matrixPath, _ *context.Context) bool {
			require.NoError(env.t, env.c.SetLatency(env.c.Primary(0), 300*time.Millisecond))
			return false
		},
		check: func(t *testing.T, err error) {
			require.ErrorIs(t, err, classify.ErrTimeout)
			require.ErrorIs(t, err, retry.ErrInDoubt, "a write whose reply was lost is not re-sent")
		},
		giveUps: 1,
		inDoubt: true,
	},
	{
		name: "redirect to a dead node",
		options: func(env *matrixEnv, opts *redirect.Options) {
			env.dead = deadAddr(env.t)
			opts.AllowAddr = func(string) bool { return true }
			opts.RefreshInterval = time.Millisecond
		},
		arrange: func(env *matrixEnv, p matrixPath, _ *context.Context) bool {
			injectOnSet(env, p, "MOVED "+strconv.Itoa(slotmap.Slot(env.key))+" "+env.dead)
			return true
		},
		check:  succeeds,
		events: []string{"redirect MOVED", "retry connection"},
	},
	{
		name: "canceled context",
		arrange: func(env *matrixEnv, p matrixPath, ctx *context.Context) bool {
			c, cancel := context.WithCancel(*ctx)
			cancel()
			*ctx = c
			return false
		},
		check: func(t *testing.T, err error) {
			require.ErrorIs(t, err, context.Canceled)
			assert.False(t, classify.InDoubt(err), "nothing was sent: %v", err)
		},
		giveUps: 1,
	},
}

func isIPv6(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && net.ParseIP(host) != nil && net.ParseIP(host).To4() == nil
}

// TestMatrix runs every path through every failure and checks, for each
// cell, the result, the error's type, InDoubt, and the exact Observer
// events: one attempt step serves them all, so they must agree.
func TestMatrix(t *testing.T) {
	for _, f := range matrixFaults {
		for _, p := range matrixPaths {
			t.Run(f.name+"/"+p.name, func(t *testing.T) {
				c := clustertest.New(t, clustertest.Config{Shards: 3})
				env := &matrixEnv{t: t, c: c, key: keyOn(t, c, 0, "m"), rec: &recorder{}}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				opts := redirect.Options{Policy: fastPolicy(), Observer: env.rec.observer()}
				if f.options != nil {
					f.options(env, &opts)
				}
				op := p.open(env, opts)
				stored := f.arrange(env, p, &ctx)
				err := op(ctx)
				f.check(t, err)
				if err != nil {
					assert.Equal(t, f.inDoubt, classify.InDoubt(err), "in doubt: %v", err)
				}
				assert.Equal(t, f.events, env.rec.sequence(), "redirects and retries")
				_, _, giveUps := env.rec.counts()
				assert.Equal(t, f.giveUps, giveUps, "give-ups")
				if stored {
					check := newClient(t, c, redirect.Options{})
					v, err := check.Get(context.Background(), env.key).Result()
					require.NoError(t, err)
					assert.Equal(t, "v", v)
				}
			})
		}
	}
}

// scripted is a RESP node of a few lines, for the cells that need a node
// the fake cluster cannot be (one on ::1, a stranger). It counts the
// connections it accepts; when it answers, HELLO gets an error (as from a
// server older than RESP3) and every other command +OK.
type scripted struct {
	addr string
	n    chan struct{}
}

func listen(t *testing.T, network, addr string, answer bool) *scripted {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("NOTICE: cannot listen on %s %s: %v", network, addr, err)
	}
	s := &scripted{addr: ln.Addr().String(), n: make(chan struct{}, 1024)}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			cn, err := ln.Accept()
			if err != nil {
				return
			}
			s.n <- struct{}{}
			if !answer {
				_ = cn.Close()
				continue
			}
			go answerOK(cn)
		}
	}()
	return s
}

func (s *scripted) accepted() int { return len(s.n) }

func answerOK(cn net.Conn) {
	defer cn.Close()
	r := bufio.NewReader(cn)
	queued := -1 // commands queued since MULTI; -1 outside MULTI
	for {
		args, err := readArray(r)
		if err != nil {
			return
		}
		reply := "+OK\r\n"
		switch name := strings.ToLower(args[0]); {
		case name == "hello":
			reply = "-ERR unknown command 'HELLO'\r\n"
		case name == "multi":
			queued = 0
		case name == "exec":
			reply = "*" + strconv.Itoa(queued) + "\r\n" + strings.Repeat("+OK\r\n", queued)
			queued = -1
		case queued >= 0:
			reply = "+QUEUED\r\n"
			queued++
		}
		if _, err := cn.Write([]byte(reply)); err != nil {
			return
		}
	}
}

// readArray reads one command: an array of bulk strings.
func readArray(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "*")))
	if err != nil || n < 1 {
		return nil, fmt.Errorf("not a command: %q", line)
	}
	args := make([]string, n)
	for i := range args {
		if _, err := r.ReadString('\n'); err != nil { // $len
			return nil, err
		}
		arg, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		args[i] = strings.TrimSuffix(arg, "\r\n")
	}
	return args, nil
}
