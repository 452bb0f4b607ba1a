package slotmap

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCRC16(t *testing.T) {
	// The check value of CRC16/XMODEM, quoted by the cluster specification.
	assert.Equal(t, uint16(0x31C3), crc16("123456789"))
	assert.Equal(t, uint16(0x31C3), crc16([]byte("123456789")))
	assert.Equal(t, uint16(0), crc16(""))
}

func TestSlot(t *testing.T) {
	tests := []struct {
		key  string
		want int
	}{
		{"foo", 12182},
		{"foo{}{bar}", 8363}, // empty tag: the whole key is hashed
		{"{}foo", 9500},
		{"", 0},
		{"123456789", 0x31C3 & (SlotCount - 1)},
		{"{user1000}.following", Slot("user1000")},
		{"foo{{bar}}zap", Slot("{bar")}, // the tag ends at the first '}' after the first '{'
		{"foo{bar}{zap}", Slot("bar")},  // only the first tag counts
		{"foo{bar", Slot("foo{bar")},    // no closing brace: no tag
		{"}{a}", Slot("a")},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			assert.Equal(t, tt.want, Slot(tt.key))
			assert.Equal(t, tt.want, SlotBytes([]byte(tt.key)))
			assert.Equal(t, tt.want, refSlot(tt.key))
		})
	}
	assert.Equal(t, Slot("{user1000}.following"), Slot("{user1000}.followers"))
}

// TestSlotMatchesReference checks the eight-bytes-a-step CRC against the
// byte-at-a-time one on keys of every length around the step size.
func TestSlotMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		b := make([]byte, n%70)
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		key := string(b)
		require.Equal(t, refSlot(key), Slot(key), "key %q", key)
		require.Equal(t, refSlot(key), SlotBytes(b), "key %q", key)
	}
}

func FuzzSlot(f *testing.F) {
	for _, k := range []string{"", "foo", "{a}b", "foo{}{bar}", "foo{{bar}}zap", strings.Repeat("x", 40)} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		s := Slot(key)
		if s != refSlot(key) || s != SlotBytes([]byte(key)) {
			t.Fatalf("Slot(%q) = %d, SlotBytes = %d, reference = %d", key, s, SlotBytes([]byte(key)), refSlot(key))
		}
	})
}

func TestSlotAllocs(t *testing.T) {
	key, b := "{user1000}.following", []byte("some-longer-key-without-tag-0123456789")
	sink := 0
	assert.Zero(t, testing.AllocsPerRun(100, func() { sink += Slot(key) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { sink += SlotBytes(b) }))
	_ = sink
}

// refSlot is written the way go-redis's internal hashtag.Slot is: the tag
// found with strings.IndexByte and a byte-at-a-time CRC16 table. go-redis
// keeps that function in an internal package and offers no public one, so
// the benchmarks compare against this copy of its algorithm. (go-redis
// returns a random slot for the empty key; both return 0 here.)
func refSlot(key string) int {
	if s := strings.IndexByte(key, '{'); s > -1 {
		if e := strings.IndexByte(key[s+1:], '}'); e > 0 {
			key = key[s+1 : s+e+1]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc = (crc << 8) ^ refTable[(byte(crc>>8)^key[i])&0x00ff]
	}
	return int(crc) % SlotCount
}

var refTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

var slotSink int

func BenchmarkSlot(b *testing.B) {
	for _, n := range []int{8, 32, 256} {
		key := strings.Repeat("k", n)
		b.Run("clusterhop/"+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				slotSink += Slot(key)
			}
		})
		b.Run("goredis-style/"+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				slotSink += refSlot(key)
			}
		})
	}
}

func BenchmarkSlotBytes(b *testing.B) {
	key := []byte(strings.Repeat("k", 32))
	b.ReportAllocs()
	for b.Loop() {
		slotSink += SlotBytes(key)
	}
}
