package redirect

import (
	"context"
	"log/slog"

	"github.com/clusterhop/clusterhop/slotmap"
)

// SlogObserver returns an Observer that writes every event to logger as one
// structured record whose message starts with "clusterhop:". Levels follow
// what an operator must act on:
//
//	redirect                    Debug  routine while slots move
//	retry                       Info   a transient failure the policy rides out
//	topology refresh            Debug; Info when the view changed; Warn when the fetch failed
//	gave up                     Warn   the caller got an error (its answer errors are not events)
//	node ejected / node back    Warn / Info  the breaker opened / closed
//
// Attributes are flat and stable: kind, command, slot, from, to, addr,
// attempt, delay, refresh, reason, duration, changed, discarded, error.
// A nil logger means slog.Default(). A logger that drops Debug records
// costs a redirect one Enabled call.
func SlogObserver(logger *slog.Logger) Observer {
	if logger == nil {
		logger = slog.Default()
	}
	l := slogObserver{logger}
	return Observer{
		Redirect: l.redirect,
		Retry:    l.retry,
		Refresh:  l.refresh,
		GiveUp:   l.giveUp,
		Breaker:  l.breaker,
	}
}

type slogObserver struct{ l *slog.Logger }

// log writes one record. The events carry no context; Background is what
// slog uses without one.
func (o slogObserver) log(level slog.Level, msg string, attrs ...slog.Attr) {
	o.l.LogAttrs(context.Background(), level, msg, attrs...)
}

func (o slogObserver) redirect(e RedirectEvent) {
	// Redirects come by the thousand while slots move: build no attributes
	// for a logger that drops them.
	if !o.l.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	o.log(slog.LevelDebug, "clusterhop: redirect",
		slog.String("kind", e.Kind.String()),
		slog.String("command", e.Command),
		slog.Int("slot", e.Slot),
		slog.String("from", e.From),
		slog.String("to", e.To))
}

func (o slogObserver) retry(e RetryEvent) {
	o.log(slog.LevelInfo, "clusterhop: retry",
		slog.String("kind", e.Kind.String()),
		slog.String("command", e.Command),
		slog.String("addr", e.Addr),
		slog.Int("attempt", e.Attempt),
		slog.Duration("delay", e.Delay),
		slog.Bool("refresh", e.Refresh))
}

func (o slogObserver) refresh(e slotmap.RefreshEvent) {
	level := slog.LevelDebug
	switch {
	case e.Err != nil:
		level = slog.LevelWarn
	case e.Changed:
		level = slog.LevelInfo
	}
	attrs := []slog.Attr{
		slog.String("reason", e.Reason.String()),
		slog.String("addr", e.Addr),
		slog.Duration("duration", e.Duration),
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("error", e.Err.Error()))
	} else {
		attrs = append(attrs, slog.Bool("changed", e.Changed), slog.Bool("discarded", e.Discarded))
	}
	o.log(level, "clusterhop: topology refresh", attrs...)
}

func (o slogObserver) giveUp(e GiveUpEvent) {
	var msg string
	if e.Err != nil {
		msg = e.Err.Error()
	}
	o.log(slog.LevelWarn, "clusterhop: gave up",
		slog.String("kind", e.Kind.String()),
		slog.String("command", e.Command),
		slog.String("addr", e.Addr),
		slog.String("error", msg))
}

func (o slogObserver) breaker(e BreakerEvent) {
	if e.Open {
		o.log(slog.LevelWarn, "clusterhop: node ejected", slog.String("addr", e.Addr))
		return
	}
	o.log(slog.LevelInfo, "clusterhop: node back", slog.String("addr", e.Addr))
}
