package redirect_test

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/redirect"
)

// benchNode is a one-node cluster of a few lines that allocates nothing
// per command, so that a benchmark's allocations are the client's: it owns
// every slot (CLUSTER SLOTS; CLUSTER SHARDS and HELLO are refused, as by a
// server older than Redis 7), describes GET and SET to COMMAND, answers GET with "v"
// and everything else with +OK, and replies to a pipeline in one write.
type benchNode struct {
	ln    net.Listener
	slots []byte // the CLUSTER SLOTS reply
	wg    sync.WaitGroup
}

func newBenchNode(b *testing.B) *benchNode {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	n := &benchNode{ln: ln, slots: []byte("*1\r\n*3\r\n:0\r\n:16383\r\n*3\r\n$9\r\n127.0.0.1\r\n:" +
		strconv.Itoa(port) + "\r\n$40\r\n0123456789012345678901234567890123456789\r\n")}
	n.wg.Add(1)
	go n.accept()
	b.Cleanup(func() {
		_ = ln.Close()
		n.wg.Wait()
	})
	return n
}

func (n *benchNode) addr() string { return n.ln.Addr().String() }

func (n *benchNode) accept() {
	defer n.wg.Done()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for {
		c, err := n.ln.Accept()
		if err != nil {
			return
		}
		conns = append(conns, c)
		n.wg.Add(1)
		go n.serve(c)
	}
}

var (
	replyOK    = []byte("+OK\r\n")
	replyV     = []byte("$1\r\nv\r\n")
	replyNoCmd = []byte("-ERR unknown command\r\n")
	// COMMAND, as go-redis's ClusterClient asks: GET and SET, as Redis 5
	// describes them.
	replyCommand = []byte("*2\r\n" +
		"*6\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n" +
		"*6\r\n$3\r\nset\r\n:-3\r\n*2\r\n+write\r\n+denyoom\r\n:1\r\n:1\r\n:1\r\n")
	prefixGet   = []byte("get")
	prefixHello = []byte("hello")
)

func (n *benchNode) serve(c net.Conn) {
	defer n.wg.Done()
	r := bufio.NewReaderSize(c, 64<<10)
	w := bufio.NewWriterSize(c, 64<<10)
	for {
		name, sub, err := readCommandName(r)
		if err != nil {
			return
		}
		switch {
		case bytes.EqualFold(name, prefixGet):
			_, _ = w.Write(replyV)
		case bytes.EqualFold(name, prefixHello):
			_, _ = w.Write(replyNoCmd)
		case bytes.EqualFold(name, []byte("cluster")) && bytes.EqualFold(sub, []byte("slots")):
			_, _ = w.Write(n.slots)
		case bytes.EqualFold(name, []byte("cluster")):
			_, _ = w.Write(replyNoCmd)
		case bytes.EqualFold(name, []byte("command")):
			_, _ = w.Write(replyCommand)
		default:
			_, _ = w.Write(replyOK)
		}
		if r.Buffered() == 0 {
			if w.Flush() != nil {
				return
			}
		}
	}
}

// readCommandName reads one command (an array of bulk strings) and
// returns its first two arguments, which are valid until the next read.
func readCommandName(r *bufio.Reader) (name, sub []byte, err error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return nil, nil, err
	}
	count, _ := strconv.Atoi(string(bytes.TrimSpace(line[1:])))
	var first [16]byte
	var nameLen int
	for i := 0; i < count; i++ {
		if _, err := r.ReadSlice('\n'); err != nil { // $len
			return nil, nil, err
		}
		arg, err := r.ReadSlice('\n')
		if err != nil {
			return nil, nil, err
		}
		arg = bytes.TrimSuffix(arg, []byte("\r\n"))
		switch i {
		case 0:
			nameLen = copy(first[:], arg)
		case 1:
			sub = append(sub[:0], arg...)
		}
	}
	return first[:nameLen], sub, nil
}

// benchClients are the clients the batching benchmarks compare, on the
// same one-node cluster.
func benchClients(b *testing.B, addr string) map[string]redis.UniversalClient {
	batched, err := redirect.NewClient(redirect.Options{Seeds: []string{addr}, Template: &redis.Options{PoolSize: 300}})
	if err != nil {
		b.Fatal(err)
	}
	alone, err := redirect.NewClient(redirect.Options{Seeds: []string{addr}, Template: &redis.Options{PoolSize: 300},
		Batch: redirect.BatchOptions{Disabled: true}})
	if err != nil {
		b.Fatal(err)
	}
	gr := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{addr}, PoolSize: 300})
	cs := map[string]redis.UniversalClient{"clusterhop": batched, "clusterhop-unbatched": alone, "go-redis": gr}
	for _, c := range cs {
		b.Cleanup(func() { _ = c.Close() })
		if err := c.Set(context.Background(), "k", "v", 0).Err(); err != nil {
			b.Fatal(err)
		}
	}
	return cs
}

// BenchmarkBatchGetSet runs the bench command's getset workload (GET and
// SET in turn, on one key per goroutine) through the Client with batching,
// without, and through go-redis's ClusterClient, at 1 goroutine and at 16
// and 64 per processor's worth (b.SetParallelism): allocs/op are the
// clients' own, the node allocating nothing per command.
//
//	go test -run '^$' -bench BatchGetSet -benchmem ./redirect
func BenchmarkBatchGetSet(b *testing.B) {
	node := newBenchNode(b)
	clients := benchClients(b, node.addr())
	for _, name := range []string{"clusterhop", "clusterhop-unbatched", "go-redis"} {
		c := clients[name]
		b.Run(name+"/goroutines=1", func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				getSet(ctx, b, c, "k", i)
				i++
			}
		})
		for _, g := range []int{16, 64} {
			b.Run(name+"/goroutines="+strconv.Itoa(g), func(b *testing.B) {
				ctx := context.Background()
				b.ReportAllocs()
				b.SetParallelism(max(1, g/runtime.GOMAXPROCS(0)))
				var seq sync.Mutex
				next := 0
				b.RunParallel(func(pb *testing.PB) {
					seq.Lock()
					key := "k" + strconv.Itoa(next)
					next++
					seq.Unlock()
					i := 0
					for pb.Next() {
						getSet(ctx, b, c, key, i)
						i++
					}
				})
			})
		}
	}
}

func getSet(ctx context.Context, b *testing.B, c redis.UniversalClient, key string, i int) {
	var err error
	if i%2 == 0 {
		err = c.Get(ctx, key).Err()
	} else {
		err = c.Set(ctx, key, "v", 0).Err()
	}
	if err != nil {
		b.Fatal(err)
	}
}
