package classify_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/alicebob/miniredis/v2/server"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// replyServer starts a miniredis that answers every GET with the error
// reply text, and returns its address.
func replyServer(t testing.TB, text string) string {
	t.Helper()
	m := miniredis.RunT(t)
	m.Server().SetPreHook(func(c *server.Peer, cmd string, _ ...string) bool {
		if strings.EqualFold(cmd, "GET") {
			c.WriteError(text)
			return true
		}
		return false
	})
	return m.Addr()
}

// goRedisReply returns the error go-redis itself returns for a GET that
// the server answers with the error reply text, over RESP2 or RESP3.
func goRedisReply(t testing.TB, text string, protocol int) error {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: replyServer(t, text), Protocol: protocol, MaxRetries: -1})
	defer rdb.Close()
	err := rdb.Get(context.Background(), "k").Err()
	require.Error(t, err)
	return err
}

// freeAddr returns a loopback address where nothing listens.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// silentServer accepts connections and reads from them without ever
// replying, until the test ends.
func silentServer(t testing.TB) string {
	t.Helper()
	return fakeServer(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	})
}

// hangUpServer accepts connections and closes each one as soon as the
// client has written something.
func hangUpServer(t testing.TB) string {
	t.Helper()
	return fakeServer(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		_, _ = c.Read(buf)
	})
}

// fakeServer serves each connection with handle, then closes it; all
// goroutines end with the test.
func fakeServer(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	conns := make(chan net.Conn, 16)
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns <- c
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		<-done
		close(conns)
		for c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}

// shortTimeouts are client options for failures that must come quickly.
func shortTimeouts(addr string) *redis.Options {
	return &redis.Options{
		Addr:         addr,
		Protocol:     2,
		DialTimeout:  time.Second,
		ReadTimeout:  50 * time.Millisecond,
		WriteTimeout: 50 * time.Millisecond,
		MaxRetries:   -1,
		// Above one, so that a single failed dial does not start go-redis's
		// background redial loop, which outlives the test by a second.
		PoolSize:    4,
		PoolTimeout: 50 * time.Millisecond,
	}
}
