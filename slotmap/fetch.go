package slotmap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/redis/go-redis/v9"
)

// Fetch asks one node for the topology: CLUSTER SHARDS, falling back to
// CLUSTER SLOTS when the server does not know it (Redis < 7) or sends a
// reply go-redis cannot read (a field added by a newer server). from is the
// node's address, used for endpoints the server does not know.
func Fetch(ctx context.Context, c redis.Cmdable, from string, useTLS bool) (*Topology, error) {
	shards, err := c.ClusterShards(ctx).Result()
	if err == nil {
		return ParseShards(shards, from, useTLS)
	}
	if !replied(ctx, err) {
		return nil, fmt.Errorf("slotmap: CLUSTER SHARDS to %s: %w", from, err)
	}
	slots, err2 := c.ClusterSlots(ctx).Result()
	if err2 != nil {
		return nil, fmt.Errorf("slotmap: CLUSTER SLOTS to %s (after CLUSTER SHARDS failed: %v): %w", from, err, err2)
	}
	return ParseSlots(slots, from)
}

// replied reports whether err came with the node answering: an error reply,
// or a reply go-redis could not decode. Those call for the older command;
// network failures, closed clients and an ended context do not.
func replied(ctx context.Context, err error) bool {
	var ne net.Error
	switch {
	case ctx.Err() != nil,
		errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, redis.ErrClosed),
		errors.As(err, &ne):
		return false
	}
	return true
}
