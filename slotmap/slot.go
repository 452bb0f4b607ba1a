package slotmap

import (
	"bytes"
	"strings"
)

// SlotCount is the number of hash slots in a Redis/Valkey Cluster.
const SlotCount = 16384

// Slot returns the hash slot of key: CRC16/XMODEM of the key, or of its hash
// tag, modulo 16384. The hash tag is the text between the first '{' and the
// first '}' after it, when that text is not empty; keys that share a tag
// share a slot ("{user1000}.following" and "{user1000}.followers").
func Slot(key string) int {
	if s := strings.IndexByte(key, '{'); s >= 0 {
		if e := strings.IndexByte(key[s+1:], '}'); e > 0 {
			key = key[s+1 : s+1+e]
		}
	}
	return int(crc16(key)) & (SlotCount - 1)
}

// SlotBytes is Slot for a key held as bytes; it does not allocate.
func SlotBytes(key []byte) int {
	if s := bytes.IndexByte(key, '{'); s >= 0 {
		if e := bytes.IndexByte(key[s+1:], '}'); e > 0 {
			key = key[s+1 : s+1+e]
		}
	}
	return int(crc16(key)) & (SlotCount - 1)
}

// crc16 is CRC16/XMODEM (polynomial 0x1021, initial value 0), as the cluster
// specification defines the key hash. It consumes eight bytes per step
// ("slicing-by-8"): crcTables[n][b] is the CRC of byte b followed by n zero
// bytes, and CRC is linear, so the eight contributions combine with XOR.
func crc16[T string | []byte](s T) uint16 {
	var crc uint16
	for len(s) >= 8 {
		crc = crcTables[7][byte(crc>>8)^s[0]] ^ crcTables[6][byte(crc)^s[1]] ^
			crcTables[5][s[2]] ^ crcTables[4][s[3]] ^
			crcTables[3][s[4]] ^ crcTables[2][s[5]] ^
			crcTables[1][s[6]] ^ crcTables[0][s[7]]
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		crc = crc<<8 ^ crcTables[0][byte(crc>>8)^s[i]]
	}
	return crc
}

var crcTables = func() (t [8][256]uint16) {
	for i := range t[0] {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[0][i] = c
	}
	for n := 1; n < len(t); n++ {
		for i := range t[n] {
			prev := t[n-1][i]
			t[n][i] = prev<<8 ^ t[0][prev>>8]
		}
	}
	return t
}()
