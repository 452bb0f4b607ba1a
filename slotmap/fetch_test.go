package slotmap

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeCmdable answers CLUSTER SHARDS and CLUSTER SLOTS; any other command
// panics (nil embedded interface), which the tests would notice.
type fakeCmdable struct {
	redis.Cmdable
	shards     []redis.ClusterShard
	shardsErr  error
	slots      []redis.ClusterSlot
	slotsErr   error
	slotsAsked bool
}

func (f *fakeCmdable) ClusterShards(ctx context.Context) *redis.ClusterShardsCmd {
	cmd := redis.NewClusterShardsCmd(ctx)
	cmd.SetVal(f.shards)
	cmd.SetErr(f.shardsErr)
	return cmd
}

func (f *fakeCmdable) ClusterSlots(ctx context.Context) *redis.ClusterSlotsCmd {
	f.slotsAsked = true
	cmd := redis.NewClusterSlotsCmd(ctx)
	cmd.SetVal(f.slots)
	cmd.SetErr(f.slotsErr)
	return cmd
}

// replyError is a server error reply as go-redis presents one.
type replyError string

func (e replyError) Error() string { return string(e) }
func (replyError) RedisError()     {}

func TestFetch(t *testing.T) {
	slots := []redis.ClusterSlot{{Start: 0, End: 16383, Nodes: []redis.ClusterNode{{ID: "s", Addr: "10.0.0.5:7000"}}}}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		c        fakeCmdable
		want     string // primary of slot 0
		fellBack bool
		errHas   []string
		errIs    error
	}{
		{name: "CLUSTER SHARDS", c: fakeCmdable{shards: genShards(3, 1)}, want: "10.0.0.0:6379"},
		{name: "unknown subcommand: CLUSTER SLOTS", c: fakeCmdable{shardsErr: replyError("ERR unknown subcommand 'SHARDS'. Try CLUSTER HELP."), slots: slots},
			want: "10.0.0.5:7000", fellBack: true},
		{name: "undecodable reply: CLUSTER SLOTS", c: fakeCmdable{shardsErr: errors.New(`redis: unexpected key "availability-zone" in CLUSTER SHARDS node reply`), slots: slots},
			want: "10.0.0.5:7000", fellBack: true},
		{name: "network error: no fallback", c: fakeCmdable{shardsErr: &net.OpError{Op: "dial", Err: errors.New("connection refused")}, slots: slots},
			errHas: []string{"CLUSTER SHARDS to 10.0.0.0:6379", "connection refused"}},
		{name: "EOF: no fallback", c: fakeCmdable{shardsErr: io.EOF, slots: slots}, errIs: io.EOF},
		{name: "closed client: no fallback", c: fakeCmdable{shardsErr: redis.ErrClosed, slots: slots}, errIs: redis.ErrClosed},
		{name: "context ended: no fallback", ctx: canceled, c: fakeCmdable{shardsErr: context.Canceled, slots: slots}, errIs: context.Canceled},
		{name: "both fail", c: fakeCmdable{shardsErr: replyError("ERR unknown subcommand"), slotsErr: replyError("ERR This instance has cluster support disabled")},
			fellBack: true, errHas: []string{"CLUSTER SLOTS to 10.0.0.0:6379", "unknown subcommand", "cluster support disabled"}},
		{name: "malformed CLUSTER SHARDS", c: fakeCmdable{shards: []redis.ClusterShard{{Slots: []redis.SlotRange{{Start: 0, End: 5}}}}},
			errHas: []string{"shard 0: role: slots 0-5 but no node is a primary"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			c := tt.c
			top, err := Fetch(ctx, &c, "10.0.0.0:6379", false)
			assert.Equal(t, tt.fellBack, c.slotsAsked, "CLUSTER SLOTS asked")
			if tt.want != "" {
				require.NoError(t, err)
				assert.Equal(t, tt.want, must(top.PrimaryAddr(0)))
				return
			}
			require.Error(t, err)
			assert.Nil(t, top)
			for _, s := range tt.errHas {
				assert.ErrorContains(t, err, s)
			}
			if tt.errIs != nil {
				assert.ErrorIs(t, err, tt.errIs)
			}
		})
	}
}
