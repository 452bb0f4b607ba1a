package classify_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
)

const movedReply = "MOVED 3999 127.0.0.1:6381"

var sink error

func BenchmarkClassifyNil(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sink = classify.Classify(nil)
	}
}

func BenchmarkClassifyRedisNil(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sink = classify.Classify(redis.Nil)
	}
}

func BenchmarkParseMoved(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sink = classify.Parse(movedReply)
	}
}

// BenchmarkClassifyGoRedisMoved classifies the error value go-redis itself
// returned for a MOVED reply.
func BenchmarkClassifyGoRedisMoved(b *testing.B) {
	raw := goRedisReply(b, movedReply, 3)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		sink = classify.Classify(raw)
	}
}

func BenchmarkClassifyClassified(b *testing.B) {
	moved := classify.Parse(movedReply)
	b.ReportAllocs()
	for b.Loop() {
		sink = classify.Classify(moved)
	}
}

// TestAllocations pins the allocation counts the hot paths promise.
func TestAllocations(t *testing.T) {
	raw := goRedisReply(t, movedReply, 3)
	moved := classify.Parse(movedReply)
	down := classify.Parse("CLUSTERDOWN Hash slot not served")
	tests := []struct {
		name string
		max  float64
		f    func()
	}{
		{"Classify(nil)", 0, func() { sink = classify.Classify(nil) }},
		{"Classify(redis.Nil)", 0, func() { sink = classify.Classify(redis.Nil) }},
		{"Classify(classified)", 0, func() { sink = classify.Classify(moved) }},
		{"InDoubt(classified)", 0, func() { _ = classify.InDoubt(moved) }},
		{"KindOf(classified)", 0, func() { _ = classify.KindOf(moved) }},
		{"DownReasonOf(CLUSTERDOWN)", 0, func() { _ = classify.DownReasonOf(down) }},
		{"Parse(MOVED)", 1, func() { sink = classify.Parse(movedReply) }},
		{"Parse(-MOVED...\\r\\n)", 1, func() { sink = classify.Parse("-" + movedReply + "\r\n") }},
		{"Parse(ASK)", 1, func() { sink = classify.Parse("ASK 3999 10.0.0.1:6381") }},
		// An IPv6 target is rewritten with brackets: one more allocation.
		{"Parse(ASK IPv6)", 2, func() { sink = classify.Parse("ASK 3999 2001:db8::1:6381") }},
		{"Parse(TRYAGAIN)", 1, func() { sink = classify.Parse("TRYAGAIN Multiple keys request during rehashing of slot") }},
		{"Classify(go-redis MOVED)", 1, func() { sink = classify.Classify(raw) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			allocs := testing.AllocsPerRun(100, tt.f)
			assert.LessOrEqual(t, allocs, tt.max)
		})
	}
	require.Equal(t, classify.Parse(movedReply), classify.Classify(raw))
}
