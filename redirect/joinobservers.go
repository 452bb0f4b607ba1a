package redirect

import "github.com/clusterhop/clusterhop/slotmap"

// JoinObservers returns an Observer that passes each event to every one of
// obs, in order: to log with SlogObserver and record metrics at once. A
// field none of obs sets stays nil, so it still costs nothing.
func JoinObservers(obs ...Observer) Observer {
	return Observer{
		Redirect: join(obs, func(o Observer) func(RedirectEvent) { return o.Redirect }),
		Retry:    join(obs, func(o Observer) func(RetryEvent) { return o.Retry }),
		Refresh:  join(obs, func(o Observer) func(slotmap.RefreshEvent) { return o.Refresh }),
		GiveUp:   join(obs, func(o Observer) func(GiveUpEvent) { return o.GiveUp }),
		Breaker:  join(obs, func(o Observer) func(BreakerEvent) { return o.Breaker }),
	}
}

// join returns one callback calling the non-nil field of each observer.
func join[E any](obs []Observer, field func(Observer) func(E)) func(E) {
	var fns []func(E)
	for _, o := range obs {
		if f := field(o); f != nil {
			fns = append(fns, f)
		}
	}
	switch len(fns) {
	case 0:
		return nil
	case 1:
		return fns[0]
	}
	return func(e E) {
		for _, f := range fns {
			f(e)
		}
	}
}
