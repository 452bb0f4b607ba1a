package cluster_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/integration/cluster"
	"github.com/clusterhop/clusterhop/slotmap"
)

// keysBySlot returns one key per hash slot.
func keysBySlot() []string {
	keys := make([]string, slotmap.SlotCount)
	left := slotmap.SlotCount
	for i := 0; left > 0; i++ {
		k := fmt.Sprintf("key:%d", i)
		if s := slotmap.Slot(k); keys[s] == "" {
			keys[s] = k
			left--
		}
	}
	return keys
}

// nodeClient is a plain single-node client: it never follows a redirect,
// so the server's reply reaches the test as it was sent.
func nodeClient(t *testing.T, addr string, readTimeout time.Duration) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, ReadTimeout: readTimeout, Protocol: 2})
	t.Cleanup(func() { c.Close() })
	return c
}

func replyText(err error) string {
	var rerr redis.Error
	if errors.As(err, &rerr) {
		return rerr.Error()
	}
	return fmt.Sprintf("not a reply error: %v", err)
}

// TestHarness drives one 3+3 cluster through every operation of the
// harness, checking each against what the servers themselves report, and
// checks that Close leaves no process and no directory behind.
func TestHarness(t *testing.T) {
	cluster.Require(t)
	ctx := t.Context()
	c, err := cluster.Start(ctx, cluster.Config{Primaries: 3, ReplicasPerPrimary: 1, NodeTimeout: 2 * time.Second, Logf: t.Logf})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			c.DumpLogs(os.Stderr, 30)
		}
		c.Close()
	})
	dir, addrs := c.Dir(), c.Addrs()
	keys := keysBySlot()

	t.Run("topology", func(t *testing.T) {
		require.Len(t, addrs, 6)
		primaries := c.Primaries()
		require.Len(t, primaries, 3)
		ids := map[string]bool{}
		for _, a := range addrs {
			id := c.NodeID(a)
			require.Len(t, id, 40, "node id of %s", a)
			ids[id] = true
		}
		assert.Len(t, ids, 6, "node ids are distinct")
		var replicas []string
		for _, p := range primaries {
			r := c.Replicas(p)
			require.Len(t, r, 1, "replicas of %s", p)
			replicas = append(replicas, r...)
		}
		assert.ElementsMatch(t, addrs, append(slices.Clone(primaries), replicas...))
		owned := 0
		for _, p := range primaries {
			owned += len(c.SlotsOf(p))
		}
		assert.Equal(t, slotmap.SlotCount, owned)
		assert.Equal(t, "", c.Owner(-1))
		assert.Equal(t, "", c.Owner(slotmap.SlotCount))
	})

	t.Run("write every slot", func(t *testing.T) {
		cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
		defer cc.Close()
		_, err := cc.Pipelined(ctx, func(p redis.Pipeliner) error {
			for s, k := range keys {
				p.Set(ctx, k, fmt.Sprint("v", s), 0)
			}
			return nil
		})
		require.NoError(t, err)
		// Each key is where Owner says, and on its replica too before the
		// failovers below rely on it.
		for _, p := range c.Primaries() {
			pc := nodeClient(t, p, 0)
			var gets []*redis.StringCmd
			_, err := pc.Pipelined(ctx, func(pipe redis.Pipeliner) error {
				for _, s := range c.SlotsOf(p) {
					gets = append(gets, pipe.Get(ctx, keys[s]))
				}
				return nil
			})
			require.NoError(t, err, "every key of %s's slots is served by %s", p, p)
			for i, s := range c.SlotsOf(p) {
				require.Equal(t, fmt.Sprint("v", s), gets[i].Val())
			}
			require.NoError(t, pc.Do(ctx, "WAIT", 1, 5000).Err())
		}
	})

	t.Run("migrate a slot: ASK and TRYAGAIN", func(t *testing.T) {
		a, b := "{mig}a", "{mig}b"
		slot := slotmap.Slot(a)
		src := c.Owner(slot)
		dst := c.Primaries()[0]
		if dst == src {
			dst = c.Primaries()[1]
		}
		srcc, dstc := nodeClient(t, src, 0), nodeClient(t, dst, 0)
		require.NoError(t, srcc.MSet(ctx, a, "A", b, "B").Err())

		// A reader through go-redis's ClusterClient, which follows ASK and
		// MOVED, keeps reading both keys for the whole migration.
		cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
		defer cc.Close()
		var reads, wrong atomic.Int64
		var readErrs []error
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for k, want := range map[string]string{a: "A", b: "B"} {
					v, err := cc.Get(ctx, k).Result()
					if err != nil {
						readErrs = append(readErrs, err)
					} else if v != want {
						wrong.Add(1)
					}
					reads.Add(1)
				}
				time.Sleep(time.Millisecond)
			}
		}()

		require.NoError(t, c.BeginMigration(ctx, slot, dst))
		moved, err := c.MigrateKeys(ctx, slot, 1)
		require.NoError(t, err)
		require.Equal(t, 1, moved)
		gone, stays := a, b
		if srcc.Get(ctx, a).Err() == nil {
			gone, stays = b, a
		}
		want := map[string]string{a: "A", b: "B"}

		err = srcc.Get(ctx, gone).Err()
		assert.Equal(t, fmt.Sprintf("ASK %d %s", slot, dst), replyText(err), "the source sends a key it no longer has to the target")
		assert.True(t, strings.HasPrefix(replyText(srcc.MGet(ctx, a, b).Err()), "TRYAGAIN "), "a multi-key command over split keys: %v", srcc.MGet(ctx, a, b).Err())
		assert.Equal(t, want[stays], srcc.Get(ctx, stays).Val(), "the source still serves the key it has")
		assert.Equal(t, fmt.Sprintf("MOVED %d %s", slot, src), replyText(dstc.Get(ctx, gone).Err()), "the target refuses without ASKING")
		var asked *redis.StringCmd
		_, err = dstc.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Do(ctx, "ASKING")
			asked = p.Get(ctx, gone)
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, want[gone], asked.Val(), "the target serves the key after ASKING")

		// Let the reader go through the ASK redirection a few times while
		// the slot's keys are split between the two nodes.
		split := reads.Load()
		require.Eventually(t, func() bool { return reads.Load() >= split+20 }, 30*time.Second, 5*time.Millisecond)

		for {
			moved, err := c.MigrateKeys(ctx, slot, 10)
			require.NoError(t, err)
			if moved == 0 {
				break
			}
		}
		require.NoError(t, c.FinishMigration(ctx, slot))
		close(stop)
		wg.Wait()

		assert.Equal(t, dst, c.Owner(slot))
		assert.Equal(t, fmt.Sprintf("MOVED %d %s", slot, dst), replyText(srcc.Get(ctx, a).Err()))
		assert.Equal(t, []any{"A", "B"}, dstc.MGet(ctx, a, b).Val())
		assert.Positive(t, reads.Load())
		assert.Zero(t, wrong.Load(), "reads of a wrong value")
		assert.Empty(t, readErrs, "errors surfaced by go-redis's ClusterClient while the slot moved")
		t.Logf("%d reads during the migration", reads.Load())

		err = c.BeginMigration(ctx, slot, dst)
		assert.ErrorContains(t, err, "already on")
		_, err = c.MigrateKeys(ctx, slot, 1)
		assert.ErrorContains(t, err, "not being migrated")
	})

	t.Run("move slots", func(t *testing.T) {
		from, to := c.Primaries()[1], c.Primaries()[2]
		slots, err := c.MoveSlots(ctx, 3, from, to)
		require.NoError(t, err)
		require.Len(t, slots, 3)
		toc := nodeClient(t, to, 0)
		for _, s := range slots {
			assert.Equal(t, to, c.Owner(s))
			assert.Equal(t, fmt.Sprint("v", s), toc.Get(ctx, keys[s]).Val(), "key of slot %d moved with it", s)
		}
	})

	t.Run("failover", func(t *testing.T) {
		for i, mode := range []cluster.FailoverMode{cluster.Graceful, cluster.Force, cluster.Takeover} {
			t.Run(mode.String(), func(t *testing.T) {
				primary := c.Primaries()[i]
				replica := c.Replicas(primary)[0]
				slots := c.SlotsOf(primary)
				require.NoError(t, c.Failover(ctx, replica, mode))
				assert.Contains(t, c.Primaries(), replica)
				assert.NotContains(t, c.Primaries(), primary)
				assert.Equal(t, []string{primary}, c.Replicas(replica), "the old primary follows its replacement")
				assert.Equal(t, slots, c.SlotsOf(replica))
				assert.Equal(t, fmt.Sprint("v", slots[0]), nodeClient(t, replica, 0).Get(ctx, keys[slots[0]]).Val())
			})
		}
		assert.ErrorContains(t, c.Failover(ctx, c.Primaries()[0], cluster.Graceful), "not a replica")
	})

	t.Run("kill -9 and restart a primary", func(t *testing.T) {
		primary := c.Primaries()[0]
		replica := c.Replicas(primary)[0]
		slot := c.SlotsOf(primary)[0]
		require.NoError(t, c.Kill(primary))
		_, err := net.DialTimeout("tcp", primary, time.Second)
		require.Error(t, err, "nothing listens on a killed node's port")
		require.NoError(t, c.WaitHealthy(ctx), "the replica takes over")
		assert.Contains(t, c.Primaries(), replica)
		assert.NotContains(t, c.Primaries(), primary)
		assert.Equal(t, fmt.Sprint("v", slot), nodeClient(t, replica, 0).Get(ctx, keys[slot]).Val())

		require.NoError(t, c.Restart(ctx, primary))
		assert.Equal(t, []string{primary}, c.Replicas(replica), "the restarted node rejoins as a replica")
	})

	t.Run("pause and resume", func(t *testing.T) {
		primary := c.Primaries()[1]
		slot := c.SlotsOf(primary)[0]
		pc := nodeClient(t, primary, 300*time.Millisecond)
		require.NoError(t, c.Pause(primary))
		err := pc.Get(ctx, keys[slot]).Err()
		var nerr net.Error
		require.ErrorAs(t, err, &nerr, "a paused node answers nothing")
		assert.True(t, nerr.Timeout())
		require.NoError(t, c.Resume(primary))
		require.NoError(t, c.WaitHealthy(ctx))
		assert.Equal(t, fmt.Sprint("v", slot), pc.Get(ctx, keys[slot]).Val())
		assert.Error(t, c.Resume(primary), "a running node cannot be resumed")

		// A primary hung for longer than the node timeout is replaced.
		replica := c.Replicas(primary)[0]
		require.NoError(t, c.Pause(primary))
		require.NoError(t, c.WaitHealthy(ctx))
		assert.Contains(t, c.Primaries(), replica)
		require.NoError(t, c.Resume(primary))
		require.NoError(t, c.WaitHealthy(ctx))
		assert.Equal(t, []string{primary}, c.Replicas(replica))
	})

	t.Run("heal", func(t *testing.T) {
		paused, killed := c.Replicas(c.Primaries()[0])[0], c.Replicas(c.Primaries()[1])[0]
		slot := slotmap.Slot("{heal}")
		to := c.Primaries()[0]
		if c.Owner(slot) == to {
			to = c.Primaries()[1]
		}
		require.NoError(t, c.BeginMigration(ctx, slot, to))
		require.NoError(t, c.Pause(paused))
		require.NoError(t, c.Kill(killed))

		require.NoError(t, c.Heal(ctx))
		assert.Equal(t, to, c.Owner(slot), "the open migration was finished")
		for _, a := range []string{paused, killed} {
			assert.Equal(t, "PONG", nodeClient(t, a, time.Second).Ping(ctx).Val(), "%s answers again", a)
		}
		_, err := c.MigrateKeys(ctx, slot, 1)
		assert.ErrorContains(t, err, "not being migrated")
	})

	t.Run("close", func(t *testing.T) {
		require.NoError(t, c.Close())
		require.NoError(t, c.Close(), "Close twice")
		assert.NoDirExists(t, dir)
		for _, a := range addrs {
			conn, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				conn.Close()
			}
			assert.Error(t, err, "%s still listens", a)
		}
		assert.Empty(t, processesUsing(t, dir), "processes left behind")
	})
}

// processesUsing lists the processes whose command line mentions dir or
// whose working directory is in it (a server rewrites its command line
// but keeps its working directory).
func processesUsing(t *testing.T, dir string) []string {
	procs, err := filepath.Glob("/proc/[0-9]*")
	require.NoError(t, err)
	var out []string
	for _, p := range procs {
		cmdline, _ := os.ReadFile(filepath.Join(p, "cmdline"))
		cwd, _ := os.Readlink(filepath.Join(p, "cwd"))
		if strings.Contains(string(cmdline), dir) || strings.HasPrefix(cwd, dir) {
			out = append(out, fmt.Sprintf("%s %q cwd=%s", p, cmdline, cwd))
		}
	}
	return out
}

// TestStartForTest checks that a cluster started for one test, here
// without replicas, is gone once that test has ended.
func TestStartForTest(t *testing.T) {
	cluster.Require(t)
	var dir string
	var addrs []string
	t.Run("inner", func(t *testing.T) {
		c := cluster.StartForTest(t, cluster.Config{Primaries: 3})
		dir, addrs = c.Dir(), c.Addrs()
		require.Len(t, addrs, 3)
		require.Len(t, c.Primaries(), 3)
		assert.Empty(t, c.Replicas(addrs[0]))
		assert.DirExists(t, dir)
		cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
		defer cc.Close()
		require.NoError(t, cc.Set(t.Context(), "k", "v", 0).Err())
	})
	assert.NoDirExists(t, dir)
	assert.Empty(t, processesUsing(t, dir))
}
