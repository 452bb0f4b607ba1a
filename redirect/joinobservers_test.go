package redirect_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/clusterhop/clusterhop/redirect"
)

func TestJoinObservers(t *testing.T) {
	var got []string
	a := redirect.Observer{
		Redirect: func(e redirect.RedirectEvent) { got = append(got, "a redirect "+e.To) },
		Retry:    func(redirect.RetryEvent) { got = append(got, "a retry") },
	}
	b := redirect.Observer{
		Redirect: func(e redirect.RedirectEvent) { got = append(got, "b redirect "+e.To) },
		Breaker:  func(e redirect.BreakerEvent) { got = append(got, "b breaker "+e.Addr) },
	}
	o := redirect.JoinObservers(a, redirect.Observer{}, b)
	o.Redirect(redirect.RedirectEvent{To: "n:1"})
	o.Retry(redirect.RetryEvent{})
	o.Breaker(redirect.BreakerEvent{Addr: "n:2"})
	assert.Equal(t, []string{"a redirect n:1", "b redirect n:1", "a retry", "b breaker n:2"}, got, "every observer, in order")
	assert.Nil(t, o.Refresh, "a field nobody sets stays nil")
	assert.Nil(t, o.GiveUp)

	empty := redirect.JoinObservers()
	assert.Nil(t, empty.Redirect)
	assert.Nil(t, empty.Refresh)
}
