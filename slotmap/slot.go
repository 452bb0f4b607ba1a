package slotmap

// SlotCount is the number of hash slots in a Redis/Valkey Cluster.
const SlotCount = 16384

// Slot returns the hash slot of key: CRC16/XMODEM of the key, or of its hash
// tag, modulo 16384. The hash tag is the text between the first '{' and the
// first '}' after it, when that text is not empty; keys that share a tag
// share a slot ("{user1000}.following" and "{user1000}.followers").
func Slot(key string) int {
	if s, e := hashTag(key); e > s {
		key = key[s:e]
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc = crc<<8 ^ crcTable[byte(crc>>8)^key[i]]
	}
	return int(crc) & (SlotCount - 1)
}

// SlotBytes is Slot for a key held as bytes; it does not allocate.
func SlotBytes(key []byte) int {
	if s, e := hashTagBytes(key); e > s {
		key = key[s:e]
	}
	var crc uint16
	for _, c := range key {
		crc = crc<<8 ^ crcTable[byte(crc>>8)^c]
	}
	return int(crc) & (SlotCount - 1)
}

// hashTag returns the bounds of key's hash tag, or s == e when it has none.
func hashTag(key string) (s, e int) {
	for i := 0; i < len(key); i++ {
		if key[i] == '{' {
			for j := i + 1; j < len(key); j++ {
				if key[j] == '}' {
					return i + 1, j
				}
			}
			return 0, 0
		}
	}
	return 0, 0
}

func hashTagBytes(key []byte) (s, e int) {
	for i := 0; i < len(key); i++ {
		if key[i] == '{' {
			for j := i + 1; j < len(key); j++ {
				if key[j] == '}' {
					return i + 1, j
				}
			}
			return 0, 0
		}
	}
	return 0, 0
}

// crcTable is the CRC16/XMODEM table (polynomial 0x1021), as the cluster
// specification defines the key hash.
var crcTable = func() (t [256]uint16) {
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
