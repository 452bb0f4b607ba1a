package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/internal/workload"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/retry"
	"github.com/clusterhop/clusterhop/slotmap"
)

type demoConfig struct {
	duration  time.Duration
	clients   int
	seed      uint64
	jsonOut   bool
	addr      string
	opTimeout time.Duration
	slots     int
	reshard   int
	conn      connFlags
}

func demoFlags() (*flag.FlagSet, *demoConfig) {
	cfg := &demoConfig{}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.DurationVar(&cfg.duration, "duration", 15*time.Second, "how long the workload runs")
	fs.IntVar(&cfg.clients, "clients", 16, "concurrent workers sharing one client")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the workload's choices (same seed, same sequence of operations per worker)")
	fs.BoolVar(&cfg.jsonOut, "json", false, "print the report as JSON")
	fs.StringVar(&cfg.addr, "addr", "", "host:port of a real cluster node: run the workload there, without topology operations (but --reshard)")
	fs.IntVar(&cfg.reshard, "reshard", 0, "with --addr: move this many slots from one primary to another during the run, with redis-cli --cluster reshard")
	fs.DurationVar(&cfg.opTimeout, "op-timeout", 8*time.Second, "each operation's deadline, as an application would set it")
	fs.IntVar(&cfg.slots, "migrate-slots", 32, "how many slots (holding workload keys) the demo migrates between shards")
	cfg.conn.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: clusterhop demo [flags]\n\n"+
			"Runs SET/GET/INCR, pipelines, transactions and MGETs through redirect.Client on an\n"+
			"embedded 3-shard fake cluster while, on a timeline, slots migrate (ASK, TRYAGAIN,\n"+
			"MOVED), a primary crashes and its replica takes over (connection errors,\n"+
			"CLUSTERDOWN, MOVED) and a node answers LOADING. Then it reads back every key and\n"+
			"reports lost or duplicated writes.\n\n"+
			"With --addr the workload runs on a real cluster instead (--user, --password,\n"+
			"--tls for its nodes), without topology operations unless --reshard is given.\n\n"+
			"The last line, on stderr, is PASS, or FAIL and the reason (exit status 1): a\n"+
			"write lost or duplicated, a topology operation or the set-up failed.\n\nFlags:")
		printFlags(fs)
	}
	return fs, cfg
}

// report is the demo's outcome; its JSON form is stable for scripts.
type report struct {
	Target   string `json:"target"`
	Duration string `json:"duration"`
	Clients  int    `json:"clients"`
	Seed     uint64 `json:"seed"`
	workload.Summary
	Redirects map[string]int64 `json:"redirects"`
	Retries   map[string]int64 `json:"retries"`
	Refreshes int64            `json:"topology_refreshes"`
	GiveUps   int64            `json:"give_ups"`
	Verdict   workload.Verdict `json:"verdict"`
	Timeline  []string         `json:"timeline"`
}

// counters is the demo's Observer.
type counters struct {
	redirects [64]atomic.Int64
	retries   [64]atomic.Int64
	refreshes atomic.Int64
	giveUps   atomic.Int64
}

func (c *counters) observer() redirect.Observer {
	return redirect.Observer{
		Redirect: func(e redirect.RedirectEvent) { c.redirects[e.Kind%64].Add(1) },
		Retry:    func(e redirect.RetryEvent) { c.retries[e.Kind%64].Add(1) },
		Refresh:  func(slotmap.RefreshEvent) { c.refreshes.Add(1) },
		GiveUp:   func(redirect.GiveUpEvent) { c.giveUps.Add(1) },
	}
}

func byKind(a *[64]atomic.Int64) map[string]int64 {
	out := map[string]int64{}
	for k := range a {
		if n := a[k].Load(); n > 0 {
			out[classify.Kind(k).String()] = n
		}
	}
	return out
}

func runDemo(args []string, stdout, stderr io.Writer) (string, error) {
	fs, cfg := demoFlags()
	if err := parseFlags(fs, args); err != nil {
		return "", err
	}
	switch {
	case cfg.duration <= 0:
		return "", usageErrorf("--duration must be positive")
	case cfg.clients <= 0:
		return "", usageErrorf("--clients must be positive")
	case cfg.slots < 0:
		return "", usageErrorf("--migrate-slots must not be negative")
	case cfg.reshard < 0 || cfg.reshard > 16384:
		return "", usageErrorf("--reshard takes a number of slots, 0 to 16384")
	case cfg.reshard > 0 && cfg.addr == "":
		return "", usageErrorf("--reshard works on a real cluster: give --addr (the fake cluster migrates slots by itself)")
	case cfg.conn.set() && cfg.addr == "":
		return "", usageErrorf("--user, --password and --tls are for a real cluster's nodes: give --addr")
	}
	tmpl, err := cfg.conn.options()
	if err != nil {
		return "", err
	}
	var cli string
	if cfg.reshard > 0 {
		if cli, err = clusterCLI(); err != nil {
			return "", usageError{err}
		}
	}
	log := newProgress(stderr)

	var fake *clustertest.Cluster
	seed := cfg.addr
	if seed == "" {
		var err error
		fake, err = clustertest.Start(clustertest.Config{Shards: 3, ReplicasPerShard: 1})
		if err != nil {
			return "", fmt.Errorf("starting the fake cluster: %w", err)
		}
		defer fake.Close()
		seed = fake.Primary(0)
		log.line("fake cluster up: 3 primaries, 3 replicas, %s", strings.Join(fake.Addrs(), " "))
	}

	var obs counters
	cl, err := redirect.NewClient(redirect.Options{
		Seeds:    []string{seed},
		Template: tmpl,
		Policy: retry.Policy{
			// A plain SET or GET may run twice harmlessly; an INCR never
			// is re-sent when it may have run.
			InDoubt: retry.InDoubtIdempotent,
		},
		Observer: obs.observer(),
	})
	if err != nil {
		return "", err
	}
	defer cl.Close()
	ctx := context.Background()
	if err := cl.Refresh(ctx); err != nil {
		return "", fmt.Errorf("loading the topology from %s: %w", seed, err)
	}

	runCtx, stop := context.WithTimeout(ctx, cfg.duration)
	defer stop()
	wcfg := workload.Config{Workers: cfg.clients, Seed: cfg.seed, OpTimeout: cfg.opTimeout, CrossSlotMGet: true}
	if fake == nil {
		// A real cluster keeps its data and may serve others: the run
		// writes only keys of its own (a re-run never meets an earlier
		// run's counters), they expire should the run never reach its
		// clean-up, and it deletes them once checked.
		wcfg.Prefix = workload.UniquePrefix("clusterhop-demo")
		wcfg.TTL = cfg.duration + 10*time.Minute
	}
	run := workload.Start(runCtx, cl, wcfg)
	if fake == nil {
		defer func() {
			cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
			defer ccancel()
			n, err := run.Cleanup(cctx, cl)
			if err != nil {
				log.line("deleting the run's keys (prefix %q): %v; they expire within %s", wcfg.Prefix, err, wcfg.TTL)
				return
			}
			log.line("deleted the run's %d keys (prefix %q)", n, wcfg.Prefix)
		}()
	}

	var timeline []string
	event := func(format string, a ...any) {
		line := fmt.Sprintf("%5.1fs  ", time.Since(log.start).Seconds()) + fmt.Sprintf(format, a...)
		timeline = append(timeline, line)
		log.line("%s", line)
	}
	tlDone := make(chan error, 1)
	switch {
	case fake != nil:
		go func() { tlDone <- runTimeline(runCtx, fake, cfg, event) }()
	case cfg.reshard > 0:
		go func() { tlDone <- reshardReal(runCtx, cl, cli, cfg, event) }()
	default:
		tlDone <- nil
		event("real cluster at %s: no topology operations", cfg.addr)
	}
	ticker := time.NewTicker(250 * time.Millisecond)
	for runCtx.Err() == nil {
		select {
		case <-ticker.C:
			log.status("%6.1fs  ops %-8d redirects %-6d retries %-6d refreshes %-4d errors %d",
				time.Since(log.start).Seconds(), run.Ops(), sum(&obs.redirects), sum(&obs.retries),
				obs.refreshes.Load(), run.Errors())
		case <-runCtx.Done():
		}
	}
	ticker.Stop()
	summary := run.Wait()
	tlErr := <-tlDone
	log.done()

	vctx, vcancel := context.WithTimeout(ctx, 60*time.Second)
	defer vcancel()
	v, err := run.Verify(vctx, cl)
	if err != nil {
		return "", fmt.Errorf("verifying the writes: %w", err)
	}
	rep := report{
		Target: "fake cluster (3 primaries, 3 replicas)", Duration: cfg.duration.String(),
		Clients: cfg.clients, Seed: cfg.seed, Summary: summary,
		Redirects: byKind(&obs.redirects), Retries: byKind(&obs.retries),
		Refreshes: obs.refreshes.Load(), GiveUps: obs.giveUps.Load(),
		Verdict: v, Timeline: timeline,
	}
	if fake == nil {
		rep.Target = "real cluster at " + cfg.addr
	}
	if cfg.jsonOut {
		if err := writeJSON(stdout, rep); err != nil {
			return "", err
		}
	} else {
		printReport(stdout, rep)
	}
	return demoVerdict(v, tlErr)
}

// demoVerdict is the demo's PASS or FAIL: every write the workload checked
// is there exactly as often as it was acknowledged, and the topology
// operations ran.
func demoVerdict(v workload.Verdict, timelineErr error) (string, error) {
	var problems []string
	if v.Lost > 0 || v.Duplicated > 0 {
		p := fmt.Sprintf("%d writes lost, %d duplicated (%d keys read back)", v.Lost, v.Duplicated, v.Checked)
		if len(v.Problems) > 0 {
			p += "; first: " + v.Problems[0]
		}
		problems = append(problems, p)
	}
	if v.Checked == 0 {
		problems = append(problems, "no key was read back: the workload acknowledged no write")
	}
	if timelineErr != nil {
		problems = append(problems, fmt.Sprintf("a topology operation failed: %v", timelineErr))
	}
	if len(problems) > 0 {
		return "", errors.New(strings.Join(problems, "; "))
	}
	return fmt.Sprintf("%d keys read back, no write lost or duplicated", v.Checked), nil
}

func sum(a *[64]atomic.Int64) int64 {
	var n int64
	for i := range a {
		n += a[i].Load()
	}
	return n
}

// runTimeline changes the fake cluster while the workload runs: a slot
// migration, a crashed primary, a LOADING burst.
func runTimeline(ctx context.Context, c *clustertest.Cluster, cfg *demoConfig, event func(string, ...any)) error {
	at := func(frac float64) bool {
		t := time.NewTimer(time.Duration(frac * float64(cfg.duration)))
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	// Slots of shard 0 move to shard 1 key by key, so clients meet ASK
	// (a key already moved), TRYAGAIN (a transaction whose keys are split)
	// and, once a slot is done, MOVED.
	if !at(0.10) {
		return nil
	}
	from, to := c.Primary(0), c.Primary(1)
	// The slots of the workload's tags that the first primary serves: each
	// has keys, so clients meet every stage of the migration.
	var slots []int
	seen := map[int]bool{}
	for t := 0; t < workload.Tags && len(slots) < cfg.slots; t++ {
		s := slotmap.Slot(workload.TagKey("", t))
		if c.SlotOwner(s) == from && !seen[s] {
			seen[s] = true
			slots = append(slots, s)
		}
	}
	event("migrating %d slots (%v ...) from %s to %s, key by key", len(slots), slots[:min(4, len(slots))], from, to)
	// The migration takes about a quarter of the run: slot i is due at
	// start + (i+1)/n of that, and keys move one at a time, pausing only
	// while ahead of schedule (a loaded machine moves keys slowly enough).
	budget := time.Duration(0.25 * float64(cfg.duration))
	begin := time.Now()
	for i, s := range slots {
		if err := c.BeginMigration(s, to); err != nil {
			return err
		}
		due := begin.Add(budget * time.Duration(i+1) / time.Duration(len(slots)))
		for {
			n, err := c.MigrateKeys(s, 1)
			if err != nil {
				return err
			}
			if n == 0 {
				break
			}
			if ahead := time.Until(due) / time.Duration(2*cfg.clients); ahead > 0 {
				sleepCtx(ctx, ahead)
			}
		}
		if err := c.FinishMigration(s); err != nil {
			return err
		}
	}
	event("migration done: %d slots now served by %s", len(slots), to)

	if !at(0.15) {
		return nil
	}
	victim := c.Primary(2)
	event("primary %s crashes; its replica takes over after a 500ms CLUSTERDOWN window", victim)
	if err := c.Failover(2, clustertest.FailoverOptions{DownFor: 500 * time.Millisecond, RefuseConns: true}); err != nil {
		return err
	}
	if !at(0.15) {
		return nil
	}
	event("%s is back as a replica; new primary %s", victim, c.Primary(2))

	loading := c.Primary(1)
	event("%s answers LOADING to its next 50 commands", loading)
	// As a loading server does: it refuses data commands, while MULTI,
	// EXEC and DISCARD (flagged "loading" in COMMAND INFO) still run, so a
	// queued command's LOADING turns into EXECABORT.
	return c.InjectError(loading, clustertest.FaultSpec{Reply: "LOADING Redis is loading the dataset in memory", Count: 50,
		Match: func(args []string) bool {
			switch strings.ToUpper(args[0]) {
			case "MULTI", "EXEC", "DISCARD", "ASKING", "READONLY", "HELLO", "CLIENT":
				return false
			}
			return true
		}})
}

// clusterCLI finds redis-cli or valkey-cli, which --reshard drives.
func clusterCLI() (string, error) {
	for _, name := range []string{"redis-cli", "valkey-cli"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("--reshard needs redis-cli or valkey-cli on PATH")
}

// reshardReal moves slots between two primaries of a real cluster with
// redis-cli --cluster reshard, the tool operators use, a tenth into the run.
// The reshard runs to its end even when the run ends first: stopping it
// half-way would leave a slot MIGRATING.
func reshardReal(ctx context.Context, cl *redirect.Client, cli string, cfg *demoConfig, event func(string, ...any)) error {
	t := time.NewTimer(cfg.duration / 10)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return nil
	}
	shards := cl.Topology().Shards()
	if len(shards) < 2 {
		return fmt.Errorf("--reshard needs two primaries; the cluster has %d", len(shards))
	}
	from, to := shards[0].Primary, shards[1].Primary
	event("%s --cluster reshard: %d slots from %s to %s", cli, cfg.reshard, from.Addr, to.Addr)
	rctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// The nodes' user, password and TLS settings go to redis-cli too; a
	// password given by $REDISCLI_AUTH reaches it by inheritance.
	args, env := cfg.conn.cliArgs()
	args = append(args, "--cluster", "reshard", from.Addr,
		"--cluster-from", from.ID, "--cluster-to", to.ID,
		"--cluster-slots", strconv.Itoa(cfg.reshard), "--cluster-yes")
	cmd := exec.CommandContext(rctx, cli, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tail := string(out)
		if len(tail) > 600 {
			tail = tail[len(tail)-600:]
		}
		return fmt.Errorf("redis-cli --cluster reshard: %w: %s", err, tail)
	}
	event("reshard done: %d slots now served by %s", cfg.reshard, to.Addr)
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func printReport(w io.Writer, r report) {
	fmt.Fprintf(w, "\nclusterhop demo — %s, %s, %d clients, seed %d\n\n", r.Target, r.Duration, r.Clients, r.Seed)
	fmt.Fprintf(w, "operations          %d  %s\n", r.Operations, kv(r.ByOperation))
	fmt.Fprintf(w, "redirects followed  %s\n", kvOrNone(r.Redirects))
	fmt.Fprintf(w, "retries             %s\n", kvOrNone(r.Retries))
	fmt.Fprintf(w, "topology refreshes  %d\n", r.Refreshes)
	fmt.Fprintf(w, "latency (ms)        p50 %.2f  p90 %.2f  p99 %.2f  max %.1f\n",
		r.LatencyMs["p50"], r.LatencyMs["p90"], r.LatencyMs["p99"], r.LatencyMs["max"])
	fmt.Fprintf(w, "errors surfaced     %d (in doubt: %d — they may have run; the check below allows for them)\n",
		r.SurfacedErrors, r.InDoubtErrors)
	for text, n := range r.ErrorSamples {
		fmt.Fprintf(w, "  %6d × %s\n", n, text)
	}
	fmt.Fprintf(w, "writes checked      %d: %d lost, %d duplicated\n", r.Verdict.Checked, r.Verdict.Lost, r.Verdict.Duplicated)
	for _, p := range r.Verdict.Problems {
		fmt.Fprintf(w, "  %s\n", p)
	}
	fmt.Fprintln(w, "\ntimeline")
	for _, l := range r.Timeline {
		fmt.Fprintf(w, "  %s\n", l)
	}
}

func kv(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func kvOrNone(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	return kv(m)
}

// progress writes a live status line on a terminal, and plain lines (one a
// second at most) otherwise.
type progress struct {
	w        io.Writer
	tty      bool
	start    time.Time
	lastLine time.Time
	mu       sync.Mutex
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) line(format string, a ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, format+"\n", a...)
}

func (p *progress) status(format string, a ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K"+format, a...)
		return
	}
	if time.Since(p.lastLine) >= time.Second {
		p.lastLine = time.Now()
		fmt.Fprintf(p.w, format+"\n", a...)
	}
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

var _ redis.UniversalClient = (*redirect.Client)(nil)
