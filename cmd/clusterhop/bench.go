package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/integration/cluster"
	"github.com/clusterhop/clusterhop/internal/workload"
	"github.com/clusterhop/clusterhop/redirect"
)

type benchConfig struct {
	addr     string
	local    bool
	duration time.Duration
	rounds   int
	clients  string
	workload string
	jsonOut  bool

	reshard      int  // slots to move during an event run; 0: no resharding
	failover     bool // kill a primary during an event run
	freeze       bool // stop it with SIGSTOP instead, until its replica is promoted
	server       string
	eventWorkers int

	conn connFlags
}

func benchFlags() (*flag.FlagSet, *benchConfig) {
	cfg := &benchConfig{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&cfg.addr, "addr", "", "host:port of a node of the cluster to measure")
	fs.BoolVar(&cfg.local, "local", false, "start a local 3-primary, 3-replica cluster from redis-server/valkey-server (instead of --addr)")
	fs.DurationVar(&cfg.duration, "duration", 2*time.Second, "length of one measurement")
	fs.IntVar(&cfg.rounds, "rounds", 5, "measurements per client and setting, interleaved; the table shows medians")
	fs.StringVar(&cfg.clients, "concurrency", "1,16,64,256", "comma-separated numbers of concurrent goroutines")
	fs.StringVar(&cfg.workload, "workload", "getset,pipeline", "comma-separated: getset (GET and SET, half each), pipeline (100 GETs across slots per pipeline)")
	fs.BoolVar(&cfg.jsonOut, "json", false, "print the results as JSON")
	fs.IntVar(&cfg.reshard, "reshard", 0, "instead of measuring throughput, move this many slots between primaries while every client runs the workload, and report errors and recovery (needs --local)")
	fs.BoolVar(&cfg.failover, "failover", false, "instead of measuring throughput, kill a primary with SIGKILL while every client (and a go-redis ClusterClient with redirect.AttachCluster) runs the workload, and report errors, recovery and recovery − promotion of the replica (needs --local)")
	fs.BoolVar(&cfg.freeze, "freeze", false, "as --failover, but stop the primary with SIGSTOP (a hung process) until its replica is promoted, then SIGCONT it")
	fs.StringVar(&cfg.server, "server", "", "with --local: redis or valkey (or a path to a server binary); default: $CLUSTERHOP_SERVER, else redis-server, else valkey-server")
	fs.IntVar(&cfg.eventWorkers, "event-workers", 32, "goroutines per client during --reshard, --failover or --freeze (a failover adds one on a key of the victim)")
	cfg.conn.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: clusterhop bench (--addr host:port | --local) [flags]\n\n"+
			"Measures the same workload through the clients of one cluster, in one run,\n"+
			"interleaved so that machine noise hits them alike:\n"+
			"  clusterhop   redirect.Client\n"+
			"  hook         a plain go-redis *redis.Client on one node, with redirect.Hook\n"+
			"  go-redis     go-redis's redis.ClusterClient\n"+
			"  valkey-go    valkey-go's cluster client, through its own API (throughput only)\n"+
			"  go-redis AP  the ClusterClient's AutoPipeline, when go-redis has it (v9.22+)\n"+
			"and prints medians of ops/s, latency percentiles, heap allocations per\n"+
			"operation and errors.\n\n"+
			"The last line, on stderr, is PASS, or FAIL and the reason (exit status 1): a\n"+
			"client had errors while measuring throughput, or, with --reshard or\n"+
			"--failover, clusterhop or hook lost or duplicated a write (or, resharding,\n"+
			"surfaced any error).\n\nFlags:")
		printFlags(fs)
	}
	return fs, cfg
}

// benchClient is one of the clients measured: a go-redis UniversalClient,
// or a peer measured through its own API (ops).
type benchClient struct {
	name string
	c    redis.UniversalClient
	ops  benchOps // valkey-go; c is nil
	peer bool     // a batching peer: throughput only, not in event runs
}

// benchResult is one client's figures for one workload and concurrency.
type benchResult struct {
	Client      string  `json:"client"`
	Workload    string  `json:"workload"`
	Concurrency int     `json:"concurrency"`
	OpsPerSec   float64 `json:"ops_per_sec"`
	P50Ms       float64 `json:"p50_ms"`
	P99Ms       float64 `json:"p99_ms"`
	AllocsPerOp float64 `json:"allocs_per_op"`
	Errors      int64   `json:"errors"`
	Rounds      int     `json:"rounds"`
}

func runBench(args []string, stdout, stderr io.Writer) (string, error) {
	fs, cfg := benchFlags()
	if err := parseFlags(fs, args); err != nil {
		return "", err
	}
	conc, err := parseInts(cfg.clients)
	if err != nil {
		return "", usageErrorf("--concurrency: %w", err)
	}
	workloads := strings.Split(cfg.workload, ",")
	for _, w := range workloads {
		if w != "getset" && w != "pipeline" {
			return "", usageErrorf("--workload: unknown workload %q (want getset or pipeline)", w)
		}
	}
	switch {
	case cfg.addr == "" && !cfg.local:
		return "", usageErrorf("give --addr host:port of a cluster node, or --local to start one")
	case cfg.addr != "" && cfg.local:
		return "", usageErrorf("--addr and --local exclude each other")
	case cfg.duration <= 0 || cfg.rounds <= 0:
		return "", usageErrorf("--duration and --rounds must be positive")
	case cfg.reshard < 0 || cfg.reshard > 16384:
		return "", usageErrorf("--reshard takes a number of slots, 0 to 16384")
	case cfg.reshard > 0 && (cfg.failover || cfg.freeze):
		return "", usageErrorf("--reshard and --failover or --freeze exclude each other: one event per run")
	case (cfg.reshard > 0 || cfg.failover || cfg.freeze) && !cfg.local:
		return "", usageErrorf("--reshard, --failover and --freeze change the cluster: they need --local")
	case cfg.server != "" && !cfg.local:
		return "", usageErrorf("--server chooses the server of --local")
	case cfg.eventWorkers <= 0:
		return "", usageErrorf("--event-workers must be positive")
	case cfg.local && cfg.conn.set():
		return "", usageErrorf("--user, --password and --tls are for the nodes of --addr; --local starts its own cluster")
	}
	// A frozen primary is a failover too, measured the same way.
	cfg.failover = cfg.failover || cfg.freeze
	tmpl, err := cfg.conn.options()
	if err != nil {
		return "", err
	}
	ctx := context.Background()
	log := newProgress(stderr)
	var lc *cluster.Cluster
	if cfg.local {
		stopSignals := cluster.CloseOnSignal()
		defer stopSignals()
		var err error
		lc, err = cluster.Start(ctx, cluster.Config{Primaries: 3, ReplicasPerPrimary: 1, Server: serverBinary(cfg.server)})
		if err != nil {
			return "", fmt.Errorf("starting a local cluster: %w", err)
		}
		defer lc.Close()
		cfg.addr = lc.Primaries()[0]
		log.line("local cluster up: %s", strings.Join(lc.Addrs(), " "))
	}

	clients, closeAll, err := benchClients(cfg.addr, slices.Max(conc), tmpl)
	if err != nil {
		return "", err
	}
	defer closeAll()
	for _, bc := range clients {
		if err := bc.ping(ctx); err != nil {
			return "", fmt.Errorf("%s: %w", bc.name, err)
		}
	}
	if cfg.reshard > 0 || cfg.failover {
		results, err := runEvent(ctx, lc, withoutPeers(clients), cfg, log)
		if err != nil {
			return "", err
		}
		if cfg.jsonOut {
			if err := writeJSON(stdout, results); err != nil {
				return "", err
			}
		} else {
			printEvent(stdout, results)
		}
		return eventVerdict(cfg, results)
	}
	// Keys the GETs find, on every slot range.
	const keys = 10000
	if err := fill(ctx, clients[0].c, keys); err != nil {
		return "", fmt.Errorf("writing the keys: %w", err)
	}
	// An equal warm-up: every client runs each workload once at the
	// highest concurrency (connections dialled, topology learned) before
	// any is measured, so the first measured has no head start.
	for _, wl := range workloads {
		for _, bc := range clients {
			log.status("warm-up  %-10s %-8s ×%d", bc.name, wl, slices.Max(conc))
			measure(ctx, bc, wl, slices.Max(conc), max(cfg.duration/4, 100*time.Millisecond), keys)
		}
	}

	type cell struct{ runs []benchResult }
	cells := map[string]*cell{}
	key := func(client, wl string, n int) string { return client + "|" + wl + "|" + strconv.Itoa(n) }
	total := cfg.rounds * len(workloads) * len(conc) * len(clients)
	done := 0
	for r := 0; r < cfg.rounds; r++ {
		for _, wl := range workloads {
			for _, n := range conc {
				// Rotate the order each round: no client always goes first.
				for i := range clients {
					bc := clients[(i+r)%len(clients)]
					log.status("round %d/%d  %-10s %-8s ×%-3d  (%d/%d)", r+1, cfg.rounds, bc.name, wl, n, done+1, total)
					res := measure(ctx, bc, wl, n, cfg.duration, keys)
					k := key(bc.name, wl, n)
					if cells[k] == nil {
						cells[k] = &cell{}
					}
					cells[k].runs = append(cells[k].runs, res)
					done++
				}
			}
		}
	}
	log.done()
	var results []benchResult
	for _, wl := range workloads {
		for _, n := range conc {
			for _, bc := range clients {
				results = append(results, median(cells[key(bc.name, wl, n)].runs))
			}
		}
	}
	if cfg.jsonOut {
		if err := writeJSON(stdout, results); err != nil {
			return "", err
		}
	} else {
		printBench(stdout, cfg, results)
	}
	return benchVerdict(results)
}

// benchClients builds the three clients of the cluster that addr belongs to;
// conn holds the nodes' user, password and TLS settings.
func benchClients(addr string, conc int, conn *redis.Options) ([]benchClient, func(), error) {
	pool := max(10, conc+conc/4)
	node := func() *redis.Options {
		return &redis.Options{PoolSize: pool, Username: conn.Username, Password: conn.Password, TLSConfig: conn.TLSConfig}
	}
	hc, err := redirect.NewClient(redirect.Options{Seeds: []string{addr}, Template: node()})
	if err != nil {
		return nil, nil, err
	}
	po := node()
	po.Addr, po.MaxRetries = addr, -1
	plain := redis.NewClient(po)
	hook, err := redirect.Attach(plain, redirect.Options{Template: node()})
	if err != nil {
		hc.Close()
		plain.Close()
		return nil, nil, err
	}
	gr := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{addr}, PoolSize: pool,
		Username: conn.Username, Password: conn.Password, TLSConfig: conn.TLSConfig})
	peers, closePeers, err := peerClients(addr, conn, gr)
	if err != nil {
		hc.Close()
		hook.Close()
		plain.Close()
		gr.Close()
		return nil, nil, err
	}
	closeAll := func() {
		closePeers()
		hc.Close()
		hook.Close()
		plain.Close()
		gr.Close()
	}
	clients := []benchClient{{name: "clusterhop", c: hc}, {name: "hook", c: plain}, {name: "go-redis", c: gr}}
	for _, p := range peers {
		p.peer = true
		clients = append(clients, p)
	}
	return clients, closeAll, nil
}

func fill(ctx context.Context, c redis.UniversalClient, n int) error {
	for i := 0; i < n; i += 100 {
		_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for j := i; j < i+100 && j < n; j++ {
				p.Set(ctx, "bench:"+strconv.Itoa(j), j, 0)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// measure runs one workload at one concurrency through one client. Every
// client runs the same key sequence; ops/s counts the commands that
// succeeded, and the failed ones are counted beside.
func measure(ctx context.Context, bc benchClient, wl string, conc int, d time.Duration, keys int) benchResult {
	var (
		ops  atomic.Int64
		errs atomic.Int64
		stop atomic.Bool
		wg   sync.WaitGroup
		mu   sync.Mutex
		lat  []time.Duration
	)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<14)
			for i := g; !stop.Load(); i += conc {
				t0 := time.Now()
				var ok, failed int64
				count := func(err error) {
					if err != nil && !errors.Is(err, redis.Nil) {
						failed++
					} else {
						ok++
					}
				}
				switch {
				case bc.ops != nil:
					o, f := bc.opsRound(ctx, wl, i, keys)
					ok, failed = ok+o, failed+f
				case wl == "getset":
					k := "bench:" + strconv.Itoa((i*7919)%keys)
					if i%2 == 0 {
						count(bc.c.Get(ctx, k).Err())
					} else {
						count(bc.c.Set(ctx, k, i, 0).Err())
					}
				case wl == "pipeline":
					const size = pipelineSize
					cmds, _ := bc.c.Pipelined(ctx, func(p redis.Pipeliner) error {
						for j := 0; j < size; j++ {
							p.Get(ctx, "bench:"+strconv.Itoa((i*size+j)*7919%keys))
						}
						return nil
					})
					for _, c := range cmds {
						count(c.Err())
					}
					// Commands the client did not hand back failed too.
					if len(cmds) < size {
						failed += int64(size - len(cmds))
					}
				}
				local = append(local, time.Since(t0))
				ops.Add(ok)
				errs.Add(failed)
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	p50, _, p99, _ := workload.Percentiles(lat)
	o := ops.Load()
	return benchResult{
		Client: bc.name, Workload: wl, Concurrency: conc,
		OpsPerSec:   float64(o) / elapsed.Seconds(),
		P50Ms:       p50,
		P99Ms:       p99,
		AllocsPerOp: float64(after.Mallocs-before.Mallocs) / float64(max(o+errs.Load(), 1)),
		Errors:      errs.Load(),
		Rounds:      1,
	}
}

// median takes the median of each figure over the rounds (errors add up).
func median(runs []benchResult) benchResult {
	out := runs[0]
	out.Rounds = len(runs)
	pick := func(f func(benchResult) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	out.OpsPerSec = pick(func(r benchResult) float64 { return r.OpsPerSec })
	out.P50Ms = pick(func(r benchResult) float64 { return r.P50Ms })
	out.P99Ms = pick(func(r benchResult) float64 { return r.P99Ms })
	out.AllocsPerOp = pick(func(r benchResult) float64 { return r.AllocsPerOp })
	out.Errors = 0
	for _, r := range runs {
		out.Errors += r.Errors
	}
	return out
}

func printBench(w io.Writer, cfg *benchConfig, results []benchResult) {
	fmt.Fprintf(w, "\nclusterhop bench — cluster at %s, medians of %d rounds of %s, interleaved\n\n", cfg.addr, cfg.rounds, cfg.duration)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tgoroutines\tclient\tops/s\tvs go-redis\tp50 ms\tp99 ms\tallocs/op\terrors\t")
	base := map[string]float64{}
	for _, r := range results {
		if r.Client == "go-redis" {
			base[r.Workload+strconv.Itoa(r.Concurrency)] = r.OpsPerSec
		}
	}
	for _, r := range results {
		ratio := "-"
		if b := base[r.Workload+strconv.Itoa(r.Concurrency)]; b > 0 {
			ratio = fmt.Sprintf("%.2f×", r.OpsPerSec/b)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.0f\t%s\t%.3f\t%.3f\t%.1f\t%d\t\n",
			r.Workload, r.Concurrency, r.Client, r.OpsPerSec, ratio, r.P50Ms, r.P99Ms, r.AllocsPerOp, r.Errors)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nops/s counts the commands that succeeded (a 100-command pipeline is 100); errors counts those that failed. allocs/op includes the benchmark's own key formatting, the same for every client.")
}

// benchVerdict fails a throughput run in which any client had errors: its
// figures would not compare like with like.
func benchVerdict(results []benchResult) (string, error) {
	var problems []string
	for _, r := range results {
		if r.Errors > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d errors (%s ×%d)", r.Client, r.Errors, r.Workload, r.Concurrency))
		}
	}
	if len(problems) > 0 {
		return "", errors.New(strings.Join(problems, "; "))
	}
	return fmt.Sprintf("%d measurements, no client had errors", len(results)), nil
}

// eventVerdict fails an event run in which clusterhop's Client or Hook lost
// or duplicated a write, or surfaced an error while slots moved (a
// resharding needs no error to reach the application; a killed primary may
// leave commands in doubt). go-redis's figures are the comparison, not the
// verdict.
func eventVerdict(cfg *benchConfig, results []eventResult) (string, error) {
	var problems []string
	for _, r := range results {
		if r.Client != "clusterhop" && r.Client != "hook" {
			continue
		}
		if r.Lost > 0 || r.Duplicated > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d writes lost, %d duplicated", r.Client, r.Lost, r.Duplicated))
		}
		if cfg.reshard > 0 && r.Errors > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d errors during the resharding (first: %s)", r.Client, r.Errors, r.FirstErrorText))
		}
	}
	if len(problems) > 0 {
		return "", errors.New(strings.Join(problems, "; "))
	}
	return "clusterhop and hook lost and duplicated no write", nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}
