package retry

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/clusterhop/clusterhop/classify"
)

func TestNextRedirectAllocatesNothing(t *testing.T) {
	var p Policy
	for _, err := range []error{
		reply("MOVED 3999 127.0.0.1:6381"),
		reply("ASK 3999 127.0.0.1:6381"),
		reply("REDIRECT 127.0.0.1:6381"),
		reply("MOVED 3999 127.0.0.1:6379"), // self-MOVED: reconnect
	} {
		allocs := testing.AllocsPerRun(200, func() {
			s := State{Addr: "127.0.0.1:6379", Start: t0}
			p.Next(&s, err, t0, nil)
		})
		assert.Zero(t, allocs, "%v", err)
	}
}

func BenchmarkNext(b *testing.B) {
	benches := []struct {
		name string
		err  error
	}{
		{"moved", reply("MOVED 3999 127.0.0.1:6381")},
		{"ask", reply("ASK 3999 127.0.0.1:6381")},
		{"tryagain", reply("TRYAGAIN Multiple keys request during rehashing of slot")},
		{"clusterdown", reply("CLUSTERDOWN Hash slot not served")},
		{"refused", clientErr(classify.KindConnection, false, "connection refused")},
		{"wrongtype", reply("WRONGTYPE Operation against a key holding the wrong kind of value")},
	}
	var p Policy
	budget := NewBudget(BudgetConfig{})
	rnd := fixed(0.5)
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s := State{Addr: "127.0.0.1:6379", Start: t0, Budget: budget}
				p.Next(&s, bb.err, t0, rnd)
				budget.Success()
			}
		})
	}
}

func BenchmarkBreakerHealthy(b *testing.B) {
	br := NewBreaker(BreakerConfig{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if br.Allow("127.0.0.1:6379", t0) == nil {
				br.Success("127.0.0.1:6379")
			}
		}
	})
}

func BenchmarkIdempotent(b *testing.B) {
	args := []any{"set", "key", "value", "ex", 10}
	b.ReportAllocs()
	for b.Loop() {
		Idempotent(args)
	}
}
