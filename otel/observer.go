// Package otel records what clusterhop's redirect engine does as
// OpenTelemetry metrics: a redirect.Observer whose events become counters
// and histograms. It is its own module, so that users of clusterhop who do
// not use OpenTelemetry do not download it.
//
//	obs, err := otel.NewObserver(otel.Config{MeterProvider: mp})
//	client, err := redirect.NewClient(redirect.Options{Seeds: seeds, Observer: obs})
//
// Imported next to go.opentelemetry.io/otel, it needs a name of its own:
//
//	import hopotel "github.com/clusterhop/clusterhop/otel"
//
// The commands themselves (latency, errors, connection pools) are what
// redisotel measures on each node's client; see the package example, which
// adds it through redirect.Options.OnNewNode.
//
// # Metrics
//
//	clusterhop.redirects          counter    {redirect}  clusterhop.kind, clusterhop.node
//	clusterhop.retries            counter    {retry}     clusterhop.kind, clusterhop.node
//	clusterhop.retry.delay        histogram  s           clusterhop.kind
//	clusterhop.refreshes          counter    {refresh}   clusterhop.refresh.reason, clusterhop.refresh.outcome
//	clusterhop.refresh.duration   histogram  s           clusterhop.refresh.outcome
//	clusterhop.give_ups           counter    {command}   clusterhop.kind, clusterhop.node, clusterhop.give_up.reason
//	clusterhop.breaker.open       updown     {node}      clusterhop.node
//
// clusterhop.kind is the classify.Kind of the failure ("MOVED", "TRYAGAIN",
// "connection"); clusterhop.node is the address of the node that answered
// (the redirect's source, the failed node). Command names are left out:
// they would multiply the series for little gain, and redisotel already
// has them per node. The refresh outcome is "changed", "unchanged",
// "discarded" (older than the view already held) or "error"; the give-up
// reason is the retry package's: "redirect_budget", "retry_budget",
// "throttled", "deadline", "in_doubt", "canceled", "breaker_open", or the
// redirect package's "addr_not_allowed" (a redirection to a node the
// topology does not know) and "watched" (a transaction under WATCH is
// never re-sent), else "other".
package otel

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	otelglobal "go.opentelemetry.io/otel"

	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/retry"
	"github.com/clusterhop/clusterhop/slotmap"
)

// ScopeName is the instrumentation scope of the meter NewObserver uses.
const ScopeName = "github.com/clusterhop/clusterhop/otel"

// Attribute keys.
const (
	KeyKind          = attribute.Key("clusterhop.kind")
	KeyNode          = attribute.Key("clusterhop.node")
	KeyRefreshReason = attribute.Key("clusterhop.refresh.reason")
	KeyOutcome       = attribute.Key("clusterhop.refresh.outcome")
	KeyGiveUpReason  = attribute.Key("clusterhop.give_up.reason")
)

// Config configures NewObserver. The zero value records with the global
// MeterProvider.
type Config struct {
	// MeterProvider makes the meter. Nil means the global one
	// (go.opentelemetry.io/otel.GetMeterProvider).
	MeterProvider metric.MeterProvider

	// Attributes are added to every measurement (a cluster's name, say).
	Attributes []attribute.KeyValue
}

// waitBuckets are the histogram boundaries, in seconds, for retry waits and
// refresh durations: retry waits run from a few milliseconds (TRYAGAIN) to
// the policy's MaxBackoff (1s by default); a refresh is a round trip, or a
// dial timeout when a node is gone.
var waitBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

type recorder struct {
	attrs       []attribute.KeyValue
	redirects   metric.Int64Counter
	retries     metric.Int64Counter
	retryDelay  metric.Float64Histogram
	refreshes   metric.Int64Counter
	refreshTime metric.Float64Histogram
	giveUps     metric.Int64Counter
	breakerOpen metric.Int64UpDownCounter
}

// NewObserver returns a redirect.Observer that records every event as the
// package documentation lists. Its error is the meter's, when an
// instrument cannot be made.
func NewObserver(cfg Config) (redirect.Observer, error) {
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otelglobal.GetMeterProvider()
	}
	m := mp.Meter(ScopeName)
	r := &recorder{attrs: cfg.Attributes}
	var err, e error
	r.redirects, e = m.Int64Counter("clusterhop.redirects", metric.WithUnit("{redirect}"),
		metric.WithDescription("MOVED, ASK and REDIRECT replies followed"))
	err = errors.Join(err, e)
	r.retries, e = m.Int64Counter("clusterhop.retries", metric.WithUnit("{retry}"),
		metric.WithDescription("Delayed retries of a command after a transient failure"))
	err = errors.Join(err, e)
	r.retryDelay, e = m.Float64Histogram("clusterhop.retry.delay", metric.WithUnit("s"),
		metric.WithDescription("Wait before each delayed retry"), metric.WithExplicitBucketBoundaries(waitBuckets...))
	err = errors.Join(err, e)
	r.refreshes, e = m.Int64Counter("clusterhop.refreshes", metric.WithUnit("{refresh}"),
		metric.WithDescription("Topology fetches"))
	err = errors.Join(err, e)
	r.refreshTime, e = m.Float64Histogram("clusterhop.refresh.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of each topology fetch"), metric.WithExplicitBucketBoundaries(waitBuckets...))
	err = errors.Join(err, e)
	r.giveUps, e = m.Int64Counter("clusterhop.give_ups", metric.WithUnit("{command}"),
		metric.WithDescription("Commands the engine stopped trying; their error went to the caller"))
	err = errors.Join(err, e)
	r.breakerOpen, e = m.Int64UpDownCounter("clusterhop.breaker.open", metric.WithUnit("{node}"),
		metric.WithDescription("Nodes ejected by the breaker"))
	err = errors.Join(err, e)
	if err != nil {
		return redirect.Observer{}, err
	}
	return redirect.Observer{
		Redirect: r.redirect,
		Retry:    r.retry,
		Refresh:  r.refresh,
		GiveUp:   r.giveUp,
		Breaker:  r.breaker,
	}, nil
}

// with returns the measurement option of the configured attributes and kv.
func (r *recorder) with(kv ...attribute.KeyValue) metric.MeasurementOption {
	return metric.WithAttributes(append(kv, r.attrs...)...)
}

func (r *recorder) redirect(e redirect.RedirectEvent) {
	r.redirects.Add(context.Background(), 1, r.with(KeyKind.String(e.Kind.String()), KeyNode.String(e.From)))
}

func (r *recorder) retry(e redirect.RetryEvent) {
	ctx := context.Background()
	r.retries.Add(ctx, 1, r.with(KeyKind.String(e.Kind.String()), KeyNode.String(e.Addr)))
	r.retryDelay.Record(ctx, e.Delay.Seconds(), r.with(KeyKind.String(e.Kind.String())))
}

func (r *recorder) refresh(e slotmap.RefreshEvent) {
	ctx := context.Background()
	outcome := "unchanged"
	switch {
	case e.Err != nil:
		outcome = "error"
	case e.Discarded:
		outcome = "discarded"
	case e.Changed:
		outcome = "changed"
	}
	r.refreshes.Add(ctx, 1, r.with(KeyRefreshReason.String(e.Reason.String()), KeyOutcome.String(outcome)))
	r.refreshTime.Record(ctx, e.Duration.Seconds(), r.with(KeyOutcome.String(outcome)))
}

// giveUpReasons name the retry package's reasons, first match wins: a
// give-up after the breaker refused the node is reported as the reason the
// policy stopped (budget, deadline) when it says one.
var giveUpReasons = []struct {
	err  error
	name string
}{
	{retry.ErrRedirectBudget, "redirect_budget"},
	{retry.ErrRetryBudget, "retry_budget"},
	{retry.ErrThrottled, "throttled"},
	{retry.ErrDeadline, "deadline"},
	{retry.ErrInDoubt, "in_doubt"},
	{retry.ErrCanceled, "canceled"},
	{retry.ErrBreakerOpen, "breaker_open"},
	{redirect.ErrAddrNotAllowed, "addr_not_allowed"},
	{redirect.ErrWatched, "watched"},
}

func (r *recorder) giveUp(e redirect.GiveUpEvent) {
	reason := "other"
	for _, g := range giveUpReasons {
		if errors.Is(e.Err, g.err) {
			reason = g.name
			break
		}
	}
	r.giveUps.Add(context.Background(), 1, r.with(KeyKind.String(e.Kind.String()), KeyNode.String(e.Addr), KeyGiveUpReason.String(reason)))
}

func (r *recorder) breaker(e redirect.BreakerEvent) {
	n := int64(-1)
	if e.Open {
		n = 1
	}
	r.breakerOpen.Add(context.Background(), n, r.with(KeyNode.String(e.Addr)))
}
