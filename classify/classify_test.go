package classify_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/clusterhop/clusterhop/classify"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestClassifyNil(t *testing.T) {
	assert.NoError(t, classify.Classify(nil))
	assert.Equal(t, classify.KindNone, classify.KindOf(nil))
	assert.False(t, classify.InDoubt(nil))
	assert.Equal(t, classify.DownNone, classify.DownReasonOf(nil))
}

// go-redis's own results that carry the reply marker are not server errors
// and must come back unchanged.
func TestClassifyKeepsGoRedisSentinels(t *testing.T) {
	for _, sentinel := range []error{redis.Nil, redis.TxFailedErr} {
		t.Run(sentinel.Error(), func(t *testing.T) {
			assert.Equal(t, sentinel, classify.Classify(sentinel))
			wrapped := fmt.Errorf("load: %w", sentinel)
			assert.Same(t, wrapped, classify.Classify(wrapped))
			assert.ErrorIs(t, classify.Classify(wrapped), sentinel)
			assert.False(t, classify.InDoubt(sentinel))
		})
	}
	assert.Equal(t, classify.KindNil, classify.KindOf(redis.Nil))
	assert.Equal(t, classify.KindNil, classify.KindOf(fmt.Errorf("load: %w", redis.Nil)))
	assert.Equal(t, "nil", classify.KindNil.String())
	assert.Equal(t, classify.KindUnknown, classify.KindOf(redis.TxFailedErr))
}

// One "closed" for the whole project: go-redis's closed client matches it.
func TestClosed(t *testing.T) {
	assert.ErrorIs(t, classify.Classify(redis.ErrClosed), classify.ErrClosed)
	assert.Equal(t, classify.KindClosed, classify.KindOf(redis.ErrClosed))
	assert.False(t, classify.InDoubt(redis.ErrClosed))
}

// TestClassifyRealGoRedisReplies gets reply errors from go-redis itself,
// over RESP2 and RESP3, and checks they become the same typed errors as
// Parse makes.
func TestClassifyRealGoRedisReplies(t *testing.T) {
	texts := []string{
		"MOVED 3999 127.0.0.1:6381",
		"ASK 3999 2001:db8::1:6381",
		"TRYAGAIN Multiple keys request during rehashing of slot",
		"CLUSTERDOWN Hash slot not served",
		"LOADING Valkey is loading the dataset in memory",
		"WRONGTYPE Operation against a key holding the wrong kind of value",
		"QUANTUMFLUX a code nobody knows",
	}
	for _, protocol := range []int{2, 3} {
		for _, text := range texts {
			t.Run(fmt.Sprintf("RESP%d/%s", protocol, text), func(t *testing.T) {
				raw := goRedisReply(t, text, protocol)
				require.Equal(t, text, raw.Error())
				want := classify.Parse(text)
				got := classify.Classify(raw)
				assert.Equal(t, want, got)
				assert.Equal(t, want, classify.Classify(fmt.Errorf("pipeline: %w", raw)), "wrapped reply")
				assert.Equal(t, classify.KindOf(want), classify.KindOf(raw), "KindOf classifies raw errors")
				assert.False(t, classify.InDoubt(raw))
				assert.Same(t, got, classify.Classify(got), "idempotent")
			})
		}
	}
}

func TestClassifyIdempotent(t *testing.T) {
	for _, err := range []error{
		classify.Parse("MOVED 1 h:1"),
		classify.Parse("ERR x"),
		classify.Parse("ASK 1 h:1"),
		classify.Parse("REDIRECT h:1"),
		classify.Classify(io.EOF),
		classify.NotSent(context.Canceled),
	} {
		t.Run(err.Error(), func(t *testing.T) {
			once := classify.Classify(err)
			assert.Same(t, err, once)
			wrapped := fmt.Errorf("op: %w", once)
			assert.Same(t, wrapped, classify.Classify(wrapped), "a wrapped classified error is returned as is")
		})
	}
}

// TestClassifyClientFailures covers failures built the way the net, os and
// context packages build them.
func TestClassifyClientFailures(t *testing.T) {
	dialRefused := &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	dialTimeout := &net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}
	noHost := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "nowhere.invalid", IsNotFound: true}}
	readReset := &net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}
	writePipe := &net.OpError{Op: "write", Net: "tcp", Err: &os.SyscallError{Syscall: "write", Err: syscall.EPIPE}}
	readTimeout := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	readUnreachable := &net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: syscall.EHOSTUNREACH}}

	tests := []struct {
		name string
		err  error
		kind classify.Kind
		sent bool
		is   error // the category errors.Is must find, if any
	}{
		{"dial refused", dialRefused, classify.KindConnection, false, classify.ErrConnection},
		{"dial refused wrapped", fmt.Errorf("node 10.0.0.1:6379: %w", dialRefused), classify.KindConnection, false, classify.ErrConnection},
		{"bare ECONNREFUSED", syscall.ECONNREFUSED, classify.KindConnection, false, classify.ErrConnection},
		{"no such host", noHost, classify.KindConnection, false, classify.ErrConnection},
		{"bare DNS error", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, classify.KindConnection, false, classify.ErrConnection},
		{"dial timeout", dialTimeout, classify.KindTimeout, false, classify.ErrTimeout},
		{"read timeout", readTimeout, classify.KindTimeout, true, classify.ErrTimeout},
		{"deadline exceeded", os.ErrDeadlineExceeded, classify.KindTimeout, true, classify.ErrTimeout},
		{"net.Error timeout", timeoutErr{}, classify.KindTimeout, true, classify.ErrTimeout},
		{"EOF", io.EOF, classify.KindConnection, true, classify.ErrConnection},
		{"unexpected EOF", io.ErrUnexpectedEOF, classify.KindConnection, true, classify.ErrConnection},
		{"reset", readReset, classify.KindConnection, true, classify.ErrConnection},
		{"broken pipe", writePipe, classify.KindConnection, true, classify.ErrConnection},
		{"bare ECONNRESET", syscall.ECONNRESET, classify.KindConnection, true, classify.ErrConnection},
		{"bare ECONNABORTED", syscall.ECONNABORTED, classify.KindConnection, true, classify.ErrConnection},
		{"closed conn", &net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed}, classify.KindConnection, true, classify.ErrConnection},
		{"read unreachable", readUnreachable, classify.KindConnection, true, classify.ErrConnection},
		{"canceled", context.Canceled, classify.KindCanceled, true, context.Canceled},
		{"deadline", context.DeadlineExceeded, classify.KindDeadline, true, context.DeadlineExceeded},
		{"deadline wrapped", fmt.Errorf("get: %w", context.DeadlineExceeded), classify.KindDeadline, true, context.DeadlineExceeded},
		{"canceled while dialling", &net.OpError{Op: "dial", Net: "tcp", Err: context.Canceled}, classify.KindCanceled, false, context.Canceled},
		{"pool timeout", errPoolTimeout, classify.KindPoolExhausted, false, errPoolTimeout},
		{"pool timeout wrapped", fmt.Errorf("x: %w", errPoolTimeout), classify.KindPoolExhausted, false, errPoolTimeout},
		{"pool exhausted", errors.New("redis: connection pool exhausted"), classify.KindPoolExhausted, false, nil},
		{"client closed", redis.ErrClosed, classify.KindClosed, false, redis.ErrClosed},
		{"go-redis protocol", errors.New(`redis: invalid reply: "?x"`), classify.KindProtocol, true, nil},
		{"go-redis parse", fmt.Errorf("redis: can't parse %.100q", "~x"), classify.KindProtocol, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify.Classify(tt.err)
			var ce *classify.ClientError
			require.ErrorAs(t, got, &ce)
			assert.Equal(t, tt.kind, ce.Kind)
			assert.Equal(t, tt.sent, ce.Sent)
			assert.Equal(t, tt.sent, classify.InDoubt(got))
			assert.Equal(t, tt.sent, classify.InDoubt(tt.err), "InDoubt classifies raw errors")
			assert.Equal(t, tt.kind, classify.KindOf(tt.err))
			assert.Equal(t, tt.err.Error(), got.Error(), "the original text")
			assert.ErrorIs(t, got, tt.err, "the original stays in the chain")
			if tt.is != nil {
				assert.ErrorIs(t, got, tt.is)
			}
			assert.Equal(t, tt.is == classify.ErrConnection, errors.Is(got, classify.ErrConnection))
			assert.Equal(t, tt.is == classify.ErrTimeout, errors.Is(got, classify.ErrTimeout))
			assert.False(t, errors.Is(got, classify.ErrTryLater))
			assert.False(t, errors.Is(got, classify.ErrRedirect))
			_, isReply := got.(interface{ RedisError() })
			assert.False(t, isReply, "a client failure is not a reply")
			assert.Same(t, got, classify.Classify(got))
		})
	}
}

func TestClassifyUnknownUnchanged(t *testing.T) {
	for _, err := range []error{
		errors.New("MOVED 3999 127.0.0.1:6381"), // reply text without the reply marker
		errors.New("redis: unexpected type=int64 for String"),
		fmt.Errorf("tls: %w", errors.New("certificate signed by unknown authority")),
	} {
		t.Run(err.Error(), func(t *testing.T) {
			assert.Same(t, err, classify.Classify(err))
			assert.Equal(t, classify.KindUnknown, classify.KindOf(err))
			assert.False(t, classify.InDoubt(err))
			assert.Same(t, err, classify.NotSent(err))
		})
	}
}

func TestNotSent(t *testing.T) {
	t.Run("in-doubt failure", func(t *testing.T) {
		got := classify.NotSent(context.DeadlineExceeded)
		var ce *classify.ClientError
		require.ErrorAs(t, got, &ce)
		assert.Equal(t, classify.KindDeadline, ce.Kind)
		assert.False(t, ce.Sent)
		assert.False(t, classify.InDoubt(got))
		assert.ErrorIs(t, got, context.DeadlineExceeded)
		assert.Equal(t, context.DeadlineExceeded, ce.Err, "no ClientError nested in a ClientError")
	})
	t.Run("wrapped classified failure keeps its context", func(t *testing.T) {
		wrapped := fmt.Errorf("node a: %w", classify.Classify(io.EOF))
		require.True(t, classify.InDoubt(wrapped))
		got := classify.NotSent(wrapped)
		assert.False(t, classify.InDoubt(got))
		assert.Equal(t, "node a: EOF", got.Error())
		assert.Equal(t, classify.KindConnection, classify.KindOf(got))
	})
	t.Run("already not sent", func(t *testing.T) {
		c := classify.Classify(errPoolTimeout)
		assert.Same(t, c, classify.NotSent(c))
	})
	t.Run("reply error", func(t *testing.T) {
		assert.Equal(t, classify.Parse("ERR x"), classify.NotSent(replyErr("ERR x")))
	})
	t.Run("nil", func(t *testing.T) {
		assert.NoError(t, classify.NotSent(nil))
	})
}

func TestClientErrorWithoutErr(t *testing.T) {
	e := &classify.ClientError{Kind: classify.KindSlotNotCovered}
	assert.Equal(t, "clusterhop: slot not covered", e.Error())
	assert.False(t, classify.InDoubt(e))
	assert.Equal(t, classify.KindSlotNotCovered, classify.KindOf(e))
}

// TestClassifyRealGoRedisFailures provokes client-side failures through a
// real go-redis client and real sockets.
func TestClassifyRealGoRedisFailures(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T) error
		kind classify.Kind
		sent bool
		text string // the exact text of the raw error, when it is pinned
	}{
		{"connection refused", func(t *testing.T) error {
			rdb := redis.NewClient(shortTimeouts(freeAddr(t)))
			defer rdb.Close()
			return rdb.Get(ctx, "k").Err()
		}, classify.KindConnection, false, ""},
		{"read timeout", func(t *testing.T) error {
			rdb := redis.NewClient(shortTimeouts(silentServer(t)))
			defer rdb.Close()
			return rdb.Get(ctx, "k").Err()
		}, classify.KindTimeout, true, ""},
		{"connection closed by the server", func(t *testing.T) error {
			rdb := redis.NewClient(shortTimeouts(hangUpServer(t)))
			defer rdb.Close()
			return rdb.Get(ctx, "k").Err()
		}, classify.KindConnection, true, ""},
		{"pool timeout", func(t *testing.T) error {
			opt := shortTimeouts(replyServer(t, "ERR x"))
			opt.PoolSize = 1
			rdb := redis.NewClient(opt)
			defer rdb.Close()
			conn := rdb.Conn() // holds the only pooled connection once used
			defer conn.Close()
			require.NoError(t, conn.Ping(ctx).Err())
			return rdb.Get(ctx, "k").Err()
		}, classify.KindPoolExhausted, false, errPoolTimeout.Error()},
		{"client closed", func(t *testing.T) error {
			rdb := redis.NewClient(shortTimeouts(replyServer(t, "ERR x")))
			require.NoError(t, rdb.Close())
			return rdb.Get(ctx, "k").Err()
		}, classify.KindClosed, false, redis.ErrClosed.Error()},
		{"context canceled", func(t *testing.T) error {
			rdb := redis.NewClient(shortTimeouts(replyServer(t, "ERR x")))
			defer rdb.Close()
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			return rdb.Get(cctx, "k").Err()
		}, classify.KindCanceled, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.run(t)
			require.Error(t, raw)
			got := classify.Classify(raw)
			var ce *classify.ClientError
			require.ErrorAs(t, got, &ce, "raw error %T %v", raw, raw)
			assert.Equal(t, tt.kind, ce.Kind, "raw error %T %v", raw, raw)
			assert.Equal(t, tt.sent, classify.InDoubt(got))
			assert.ErrorIs(t, got, raw)
			if tt.text != "" {
				assert.Equal(t, tt.text, raw.Error())
			}
		})
	}
}

// errPoolTimeout stands for go-redis's pool timeout error, which go-redis
// v9.7 keeps in an internal package; TestClassifyRealGoRedisFailures gets
// the real one and pins its text.
var errPoolTimeout = errors.New("redis: connection pool timeout")

// timeoutErr is a net.Error that timed out, like the net package's
// internal timeout errors.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestKindOfIsTheOutermostTypedError(t *testing.T) {
	abort := classify.Parse("EXECABORT Transaction discarded because of previous errors.")
	moved := classify.Parse("MOVED 3999 127.0.0.1:6381")
	err := fmt.Errorf("%w (the transaction did not run: %w)", abort, moved)
	assert.Equal(t, classify.KindExecAbort, classify.KindOf(err))
	var m *classify.MovedError
	assert.True(t, errors.As(err, &m), "the explanation stays reachable")
	assert.Equal(t, classify.KindMoved, classify.KindOf(fmt.Errorf("context: %w", moved)))
	assert.Equal(t, classify.KindMoved, classify.KindOf(errors.Join(errors.New("plain"), moved, abort)))
}

// A certificate the client refuses fails the dial: a connection failure,
// and the command was never sent.
func TestClassifyTLSCertificateFailure(t *testing.T) {
	for _, err := range []error{
		&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}},
		fmt.Errorf("dial: %w", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "node1"}),
	} {
		got := classify.Classify(err)
		assert.Equal(t, classify.KindConnection, classify.KindOf(got), "%v", err)
		assert.False(t, classify.InDoubt(got), "%v", err)
		assert.ErrorIs(t, got, classify.ErrConnection)
	}
}
