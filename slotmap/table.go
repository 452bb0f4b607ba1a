package slotmap

// The slot table maps each of the 16384 slots to the index of its shard. It
// is split into chunks that topologies share: a MOVED patch copies the array
// of chunk pointers (512 bytes) and the one chunk it changes (512 bytes)
// instead of a whole 32 KiB table, and a lookup is still two loads.
const (
	chunkBits  = 8
	chunkSize  = 1 << chunkBits
	chunkMask  = chunkSize - 1
	chunkCount = SlotCount / chunkSize

	// noShard marks a slot without owner; it also bounds the shard count.
	noShard uint16 = 0xFFFF
)

type chunk [chunkSize]uint16

type slotTable [chunkCount]*chunk

// emptyChunk is shared by every table for chunks with no owned slot. It is
// never written: writers copy a chunk before changing it.
var emptyChunk = func() *chunk {
	var c chunk
	for i := range c {
		c[i] = noShard
	}
	return &c
}()

func newSlotTable() (t slotTable) {
	for i := range t {
		t[i] = emptyChunk
	}
	return t
}

func (t *slotTable) get(slot int) uint16 {
	return t[slot>>chunkBits][slot&chunkMask]
}

// set changes one slot of t, copying the chunk it lives in so that tables
// sharing that chunk do not see the change.
func (t *slotTable) set(slot int, shard uint16) {
	c := *t[slot>>chunkBits]
	c[slot&chunkMask] = shard
	t[slot>>chunkBits] = &c
}

// tableBuilder fills a new table, allocating each chunk once.
type tableBuilder struct {
	owned [chunkCount]bool // chunk i was allocated by this builder and may be written in place
}

// fill gives the slots of r to shard. It stops at the first slot that
// already has an owner and returns it with ok false.
func (b *tableBuilder) fill(t *slotTable, r Range, shard uint16) (conflict int, ok bool) {
	for s := r.Start; s <= r.End; s++ {
		ci := s >> chunkBits
		if !b.owned[ci] {
			c := *t[ci]
			t[ci] = &c
			b.owned[ci] = true
		}
		if t[ci][s&chunkMask] != noShard {
			return s, false
		}
		t[ci][s&chunkMask] = shard
	}
	return 0, true
}
