package slotmap

import (
	"net"
	"testing"

	"github.com/redis/go-redis/v9"
)

// fuzzReader turns fuzz bytes into choices; past the end every choice is 0.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fuzzReader) pick(n int) int { return int(r.byte()) % n }

// slot is a slot number near the valid range, negative and too large included.
func (r *fuzzReader) slot() int64 {
	return int64(int16(uint16(r.byte())<<8|uint16(r.byte()))) % 16500
}

func (r *fuzzReader) str(pool ...string) string { return pool[r.pick(len(pool))] }

// shards builds a go-redis CLUSTER SHARDS result: the same structure the
// decoder produces, filled with values that real and broken servers send.
func (r *fuzzReader) shards() []redis.ClusterShard {
	out := make([]redis.ClusterShard, r.pick(5))
	for i := range out {
		for range r.pick(4) {
			start := r.slot()
			end := start + int64(r.pick(3))*int64(r.byte())*8
			if r.pick(8) == 0 {
				end = r.slot()
			}
			out[i].Slots = append(out[i].Slots, redis.SlotRange{Start: start, End: end})
		}
		for range r.pick(4) {
			out[i].Nodes = append(out[i].Nodes, redis.Node{
				ID:                r.str("a", "b", "c", "d", ""),
				Endpoint:          r.str("", "?", "10.0.0.1", "10.0.0.2", "::1", "node.example"),
				IP:                r.str("", "10.0.0.3", "fe80::2", "?"),
				Hostname:          r.str("", "h1.example", "h2.example"),
				Port:              []int64{6379, 6380, 6381, 0, -1, 65536, 7000}[r.pick(7)],
				TLSPort:           []int64{0, 16379, 16380, 99999}[r.pick(4)],
				Role:              r.str("master", "replica", "slave", "primary", "", "arbiter"),
				ReplicationOffset: int64(r.byte()),
				Health:            r.str("online", "loading", "fail", "", "??"),
			})
		}
	}
	return out
}

func FuzzParseShards(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 1, 0, 0, 2, 200, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0})
	f.Add([]byte{4, 3, 0, 10, 1, 255, 1, 0, 3, 2, 1, 1, 1, 2, 1, 0, 2, 1, 3, 3, 3, 3, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &fuzzReader{b: data}
		from := r.str("", "10.0.0.9:7000", "[::1]:7000", "bad")
		useTLS := r.pick(2) == 1
		reply := r.shards()
		top, err := ParseShards(reply, from, useTLS)
		if err != nil {
			if top != nil {
				t.Fatalf("error %v with a topology", err)
			}
			return
		}
		checkInvariants(t, top)
		for _, s := range top.Shards() {
			if s.Primary.Role != RolePrimary {
				t.Fatalf("primary %+v has role %v", s.Primary, s.Primary.Role)
			}
			for _, n := range s.Replicas {
				if n.Role != RoleReplica || !n.Routable() {
					t.Fatalf("replica %+v listed as readable", n)
				}
			}
		}
		for _, a := range top.Addrs() {
			if host, port, err := net.SplitHostPort(a); err != nil || host == "" || host == "?" || port == "" {
				t.Fatalf("address %q is not dialable", a)
			}
		}
	})
}
