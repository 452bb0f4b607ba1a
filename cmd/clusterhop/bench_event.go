package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/clusterhop/clusterhop/integration/cluster"
	"github.com/clusterhop/clusterhop/internal/workload"
)

// eventResult is one client's figures through a cluster event.
type eventResult struct {
	Client         string `json:"client"`
	Event          string `json:"event"`
	Operations     int64  `json:"operations"`
	Errors         int64  `json:"errors"`
	InDoubt        int64  `json:"in_doubt"`
	FailedWrites   int    `json:"failed_writes_on_affected_slots"`
	RecoveryMs     int64  `json:"recovery_ms"` // first successful write on the affected slots after the event; -1 if none
	Lost           int    `json:"lost"`
	Duplicated     int    `json:"duplicated"`
	FirstErrorText string `json:"first_error,omitempty"`
}

// runEvent runs the same workload, with its own keys, through every client
// at once while the cluster goes through one event: resharding n slots, or
// a primary killed with SIGKILL. It then reads back what each acknowledged.
func runEvent(ctx context.Context, lc *cluster.Cluster, clients []benchClient, cfg *benchConfig, log *progress) ([]eventResult, error) {
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runs := make([]*workload.Run, len(clients))
	recs := make([]*workload.Recovery, len(clients))
	for i, bc := range clients {
		recs[i] = &workload.Recovery{}
		// One seed: every client runs the same sequence of operations and
		// tags, each under its own prefix.
		runs[i] = workload.Start(runCtx, bc.c, workload.Config{
			Workers: cfg.eventWorkers, Seed: 1, Prefix: bc.name + ":", Observe: recs[i].Observe,
		})
	}
	time.Sleep(cfg.duration / 4)

	var (
		event string
		start time.Time // the event: once the victim is gone, or as the slots start moving
	)
	affected := map[int]bool{}
	evCtx, evCancel := context.WithTimeout(ctx, 10*time.Minute)
	defer evCancel()
	var evErr error
	switch {
	case cfg.failover:
		victim := lc.Primaries()[1] // not the node the hook's client is on
		for _, s := range lc.SlotsOf(victim) {
			affected[s] = true
		}
		event = "kill -9 of primary " + victim
		log.line("%s", event)
		// The measurement starts once the process is gone: a write sent
		// while SIGKILL is on its way may still succeed.
		if evErr = lc.Kill(victim); evErr == nil {
			start = time.Now()
			for _, r := range recs {
				r.Mark(start, func(s int) bool { return affected[s] })
			}
			evErr = lc.WaitHealthy(evCtx)
			log.line("cluster healthy again after %s", time.Since(start).Round(time.Millisecond))
		}
	default:
		from, to := lc.Primaries()[2], lc.Primaries()[0]
		// The affected slots are the ones that move, not every slot of
		// the source: MoveSlots moves the last n the source owns.
		if evErr = lc.Refresh(evCtx); evErr != nil {
			break
		}
		owned := lc.SlotsOf(from)
		if cfg.reshard > len(owned) {
			evErr = fmt.Errorf("%s owns %d slots, fewer than --reshard %d", from, len(owned), cfg.reshard)
			break
		}
		moving := owned[len(owned)-cfg.reshard:]
		for _, s := range moving {
			affected[s] = true
		}
		start = time.Now()
		for _, r := range recs {
			r.Mark(start, func(s int) bool { return affected[s] })
		}
		event = fmt.Sprintf("resharding %d slots from %s to %s", cfg.reshard, from, to)
		log.line("%s", event)
		var moved []int
		moved, evErr = lc.MoveSlots(evCtx, cfg.reshard, from, to)
		if evErr == nil && !slices.Equal(moved, moving) {
			evErr = fmt.Errorf("moved slots %v..., not the %v... measured", moved[:min(3, len(moved))], moving[:min(3, len(moving))])
		}
		log.line("resharding done in %s", time.Since(start).Round(time.Millisecond))
	}
	if evErr != nil {
		return nil, fmt.Errorf("%s: %w", event, evErr)
	}
	time.Sleep(cfg.duration)
	stop()

	out := make([]eventResult, len(clients))
	vctx, vcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer vcancel()
	for i, bc := range clients {
		sum := runs[i].Wait()
		v, err := runs[i].Verify(vctx, clients[0].c)
		if err != nil {
			return nil, fmt.Errorf("reading back %s's writes: %w", bc.name, err)
		}
		failed, after, ok := recs[i].Result()
		r := eventResult{Client: bc.name, Event: event, Operations: sum.Operations, Errors: sum.SurfacedErrors,
			InDoubt: sum.InDoubtErrors, FailedWrites: failed, RecoveryMs: -1, Lost: v.Lost, Duplicated: v.Duplicated}
		if ok {
			r.RecoveryMs = after.Milliseconds()
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
	fmt.Fprintf(w, "\nclusterhop bench — %s, all clients at once\n\n", results[0].Event)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "client\tops\terrors\tin doubt\tfailed writes there\tfirst write there after\tlost\tduplicated\t")
	for _, r := range results {
		rec := "never"
		if r.RecoveryMs >= 0 {
			rec = (time.Duration(r.RecoveryMs) * time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%d\t%d\t\n", r.Client, r.Operations, r.Errors, r.InDoubt,
			r.FailedWrites, rec, r.Lost, r.Duplicated)
	}
	tw.Flush()
	for _, r := range results {
		if r.FirstErrorText != "" {
			fmt.Fprintf(w, "  %s, e.g.: %s\n", r.Client, r.FirstErrorText)
		}
	}
	fmt.Fprintln(w, "\n\"there\": the slots the event touched. Lost counts acknowledged writes missing afterwards; with a")
	fmt.Fprintln(w, "killed primary, writes it acknowledged but had not replicated yet are lost by the cluster itself.")
}
