package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/integration/cluster"
	"github.com/clusterhop/clusterhop/internal/failover"
	"github.com/clusterhop/clusterhop/internal/workload"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/slotmap"
)

// eventResult is one client's figures through a cluster event.
type eventResult struct {
	Client             string `json:"client"`
	Event              string `json:"event"`
	Operations         int64  `json:"operations"`
	Errors             int64  `json:"errors"`
	InDoubt            int64  `json:"in_doubt"`
	MaxErrorsPerWriter int64  `json:"max_errors_per_writer"`
	FailedWrites       int    `json:"failed_writes_on_affected_slots"`
	RecoveryMs         int64  `json:"recovery_ms"` // first successful write on the affected slots begun after the event; -1 if none
	// PromotionMs is, for a failover, when the victim's replica first
	// answered ROLE as primary, after the fault; RecoveryMinusPromotionMs
	// is RecoveryMs minus it (null when the client never recovered).
	PromotionMs              int64  `json:"promotion_ms,omitempty"`
	RecoveryMinusPromotionMs *int64 `json:"recovery_minus_promotion_ms,omitempty"`
	Lost                     int    `json:"lost"`
	Duplicated               int    `json:"duplicated"`
	FirstErrorText           string `json:"first_error,omitempty"`
}

// attachedName is the ClusterClient with redirect.AttachCluster, measured
// in event runs beside the plain one.
const attachedName = "go-redis+attach"

// eventLoad is one client's workload through the event.
type eventLoad struct {
	bc  benchClient
	run *workload.Run
	rec workload.Recovery
}

// runEvent runs a workload, with its own keys, through every client at
// once while the cluster goes through one event: resharding, a primary
// killed with SIGKILL, or one stopped with SIGSTOP until its replica is
// promoted. It then reads back what each acknowledged.
func runEvent(ctx context.Context, lc *cluster.Cluster, clients []benchClient, cfg *benchConfig, log *progress) ([]eventResult, error) {
	attached, closeAttached, err := attachedClient(cfg, clients)
	if err != nil {
		return nil, err
	}
	defer closeAttached()
	clients = append(clients, attached)
	if err := attached.c.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", attached.name, err)
	}
	if err := lc.Refresh(ctx); err != nil {
		return nil, err
	}
	victim := lc.Primaries()[1] // not the node the hook's client is on
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	loads := make([]*eventLoad, len(clients))
	for i, bc := range clients {
		loads[i] = &eventLoad{bc: bc}
		wc := workload.Config{Workers: cfg.eventWorkers, Seed: 1, Prefix: bc.name + ":", Observe: loads[i].rec.Observe}
		if cfg.failover {
			// The failover's shape: single SETs, INCRs and GETs, and one
			// more writer on a key of the victim.
			wc.Mix, wc.Pinned = workload.MixSetIncrGet, []int{tagOn(lc, wc.Prefix, victim)}
		}
		// One seed: every client runs the same sequence of operations and
		// tags, each under its own prefix.
		loads[i].run = workload.Start(runCtx, bc.c, wc)
	}
	time.Sleep(cfg.duration / 4)

	var ev eventOutcome
	if cfg.failover {
		ev, err = failoverEvent(ctx, lc, victim, cfg, loads, log)
	} else {
		ev, err = reshardEvent(ctx, lc, cfg, loads, log)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ev.name, err)
	}
	time.Sleep(cfg.duration)
	stop()
	return collect(ctx, loads, ev)
}

// attachedClient is a go-redis ClusterClient with redirect.AttachCluster,
// with the same pool and credentials as the plain one.
func attachedClient(cfg *benchConfig, clients []benchClient) (benchClient, func(), error) {
	tmpl, err := cfg.conn.options()
	if err != nil {
		return benchClient{}, nil, err
	}
	pool := 10
	for _, bc := range clients {
		if cc, ok := bc.c.(*redis.ClusterClient); ok {
			pool = cc.Options().PoolSize
		}
	}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{cfg.addr}, PoolSize: pool,
		Username: tmpl.Username, Password: tmpl.Password, TLSConfig: tmpl.TLSConfig})
	att, err := redirect.AttachCluster(rdb, redirect.ClusterAttachOptions{})
	if err != nil {
		rdb.Close()
		return benchClient{}, nil, err
	}
	return benchClient{name: attachedName, c: rdb}, func() { att.Close(); rdb.Close() }, nil
}

// tagOn returns a tag of the workload with prefix whose slot addr serves.
func tagOn(lc *cluster.Cluster, prefix, addr string) int {
	for n := 0; ; n++ {
		if lc.Owner(slotmap.Slot(workload.TagKey(prefix, n))) == addr {
			return n
		}
	}
}

// eventOutcome is what the event was and, for a failover, its timeline.
type eventOutcome struct {
	name     string
	timeline *failover.Timeline
}

// failoverEvent takes the victim down (kill -9, or SIGSTOP until its
// replica is promoted and every client wrote to its slots again) and waits
// until every client wrote to its slots again, 25 seconds after the fault
// at most.
func failoverEvent(ctx context.Context, lc *cluster.Cluster, victim string, cfg *benchConfig, loads []*eventLoad, log *progress) (eventOutcome, error) {
	fault := failover.Kill
	if cfg.freeze {
		fault = failover.Freeze
	}
	affected := map[int]bool{}
	for _, s := range lc.SlotsOf(victim) {
		affected[s] = true
	}
	ev := eventOutcome{name: fmt.Sprintf("%s of primary %s (%s %s)", fault, victim, serverName(lc), lc.Version())}
	log.line("%s", ev.name)
	evCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	tl, err := failover.Inject(evCtx, lc, victim, fault, failover.Watch{
		AtFault: func(at time.Time) {
			for _, l := range loads {
				l.rec.Mark(at, func(s int) bool { return affected[s] })
			}
		},
		Recovered: func() bool { return allRecovered(loads) },
	})
	if err != nil {
		return ev, err
	}
	ev.timeline = &tl
	log.line("replica %s promoted %s after the fault; cluster healthy after %s", tl.Replica,
		tl.Promotion().Round(time.Millisecond), tl.Healthy.Sub(tl.Fault).Round(time.Millisecond))
	for time.Since(tl.Fault) < 25*time.Second && !allRecovered(loads) {
		time.Sleep(10 * time.Millisecond)
	}
	return ev, nil
}

func allRecovered(loads []*eventLoad) bool {
	for _, l := range loads {
		if _, _, ok := l.rec.Result(); !ok {
			return false
		}
	}
	return true
}

// serverName is the server's name, from its binary's.
func serverName(lc *cluster.Cluster) string {
	if strings.Contains(filepath.Base(lc.Server()), "valkey") {
		return "Valkey"
	}
	return "Redis"
}

// reshardEvent moves cfg.reshard slots between primaries.
func reshardEvent(ctx context.Context, lc *cluster.Cluster, cfg *benchConfig, loads []*eventLoad, log *progress) (eventOutcome, error) {
	from, to := lc.Primaries()[2], lc.Primaries()[0]
	ev := eventOutcome{name: fmt.Sprintf("resharding %d slots from %s to %s", cfg.reshard, from, to)}
	evCtx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	// The affected slots are the ones that move, not every slot of the
	// source: MoveSlots moves the last n the source owns.
	if err := lc.Refresh(evCtx); err != nil {
		return ev, err
	}
	owned := lc.SlotsOf(from)
	if cfg.reshard > len(owned) {
		return ev, fmt.Errorf("%s owns %d slots, fewer than --reshard %d", from, len(owned), cfg.reshard)
	}
	moving := owned[len(owned)-cfg.reshard:]
	affected := map[int]bool{}
	for _, s := range moving {
		affected[s] = true
	}
	start := time.Now()
	for _, l := range loads {
		l.rec.Mark(start, func(s int) bool { return affected[s] })
	}
	log.line("%s", ev.name)
	moved, err := lc.MoveSlots(evCtx, cfg.reshard, from, to)
	if err == nil && !slices.Equal(moved, moving) {
		err = fmt.Errorf("moved slots %v..., not the %v... measured", moved[:min(3, len(moved))], moving[:min(3, len(moving))])
	}
	log.line("resharding done in %s", time.Since(start).Round(time.Millisecond))
	return ev, err
}

// collect waits for the workloads to stop and reads back what each client
// acknowledged, through the first client.
func collect(ctx context.Context, loads []*eventLoad, ev eventOutcome) ([]eventResult, error) {
	out := make([]eventResult, len(loads))
	vctx, vcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer vcancel()
	for i, l := range loads {
		sum := l.run.Wait()
		v, err := l.run.Verify(vctx, loads[0].bc.c)
		if err != nil {
			return nil, fmt.Errorf("reading back %s's writes: %w", l.bc.name, err)
		}
		failed, after, ok := l.rec.Result()
		r := eventResult{Client: l.bc.name, Event: ev.name, Operations: sum.Operations, Errors: sum.SurfacedErrors,
			InDoubt: sum.InDoubtErrors, MaxErrorsPerWriter: sum.MaxWorkerErrors, FailedWrites: failed, RecoveryMs: -1,
			Lost: v.Lost, Duplicated: v.Duplicated}
		if ev.timeline != nil {
			r.PromotionMs = ev.timeline.Promotion().Milliseconds()
		}
		if ok {
			r.RecoveryMs = after.Milliseconds()
			if ev.timeline != nil {
				d := (after - ev.timeline.Promotion()).Milliseconds()
				r.RecoveryMinusPromotionMs = &d
			}
		}
		for text := range sum.ErrorSamples {
			r.FirstErrorText = text
			break
		}
		out[i] = r
	}
	return out, nil
}

func printEvent(w io.Writer, results []eventResult) {
	if len(results) == 0 {
		return
	}
	failover := results[0].RecoveryMinusPromotionMs != nil || results[0].PromotionMs > 0
	fmt.Fprintf(w, "\nclusterhop bench — %s, all clients at once\n", results[0].Event)
	if failover {
		fmt.Fprintf(w, "promotion: the replica first answered ROLE as primary %s after the fault\n",
			time.Duration(results[0].PromotionMs)*time.Millisecond)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "client\tops\terrors\tin doubt\tmax per writer\tfailed writes there\tfirst write there after\t"
	if failover {
		head += "recovery − promotion\t"
	}
	fmt.Fprintln(tw, head+"lost\tduplicated\t")
	for _, r := range results {
		rec, minus := "never", "never"
		if r.RecoveryMs >= 0 {
			rec = (time.Duration(r.RecoveryMs) * time.Millisecond).String()
		}
		if r.RecoveryMinusPromotionMs != nil {
			minus = fmt.Sprintf("%+.2fs", float64(*r.RecoveryMinusPromotionMs)/1000)
		}
		row := fmt.Sprintf("%s\t%d\t%d\t%d\t%d\t%d\t%s\t", r.Client, r.Operations, r.Errors, r.InDoubt,
			r.MaxErrorsPerWriter, r.FailedWrites, rec)
		if failover {
			row += minus + "\t"
		}
		fmt.Fprintf(tw, "%s%d\t%d\t\n", row, r.Lost, r.Duplicated)
	}
	tw.Flush()
	for _, r := range results {
		if r.FirstErrorText != "" {
			fmt.Fprintf(w, "  %s, e.g.: %s\n", r.Client, r.FirstErrorText)
		}
	}
	fmt.Fprintln(w, "\n\"there\": the slots the event touched; \"first write there after\": the first write there begun after")
	fmt.Fprintln(w, "the event that succeeded. Lost counts acknowledged writes missing afterwards, duplicated writes that ran twice.")
	if failover {
		fmt.Fprintln(w, "Before the fault the victim paused writes until its replica had every one it acknowledged (CLIENT")
		fmt.Fprintln(w, "PAUSE WRITE, WAIT 1), so a lost write is the client's, not asynchronous replication's.")
	}
}

// serverBinary is the binary --server names: redis and valkey are the
// servers of integration/cluster's table, anything else a binary.
func serverBinary(name string) string {
	for _, s := range cluster.Servers {
		if name == s.Name || name == strings.TrimRight(s.Name, "0123456789") {
			return s.Binary
		}
	}
	return name
}
