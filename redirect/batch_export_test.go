package redirect

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// QueuedOn returns how many commands wait in the batches of the node at
// addr, for tests that arrange a batch before letting it go.
func QueuedOn(c *Client, addr string) int {
	n, err := c.e.nodes.get(addr)
	if err != nil {
		return 0
	}
	n.batch.mu.Lock()
	defer n.batch.mu.Unlock()
	queued := 0
	for _, b := range n.batch.queue {
		queued += len(b.waiters)
	}
	return queued
}

// Batchable reports whether the Client may batch the command args.
func Batchable(c *Client, args ...any) bool {
	return batchable(c.e.table.Flags(redis.NewCmd(context.Background(), args...).Args()))
}
