package cluster

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"time"
)

// Reshard moves n slots from the primary at from to the primary at to with
// the server's own tool, "redis-cli --cluster reshard" (valkey-cli beside
// valkey-server), as an operator would: the tool migrates key by key with
// MIGRATING/IMPORTING and MIGRATE, so clients meet ASK, TRYAGAIN and then
// MOVED. The tool connects over TLS and authenticates as the harness's
// admin user when the cluster uses them. Reshard then waits until the
// cluster is healthy again.
func (c *Cluster) Reshard(ctx context.Context, n int, from, to string) error {
	ctx, cancel := c.waitCtx(ctx)
	defer cancel()
	src, err := c.node(from)
	if err != nil {
		return err
	}
	dst, err := c.node(to)
	if err != nil {
		return err
	}
	if c.cfg.Standalone {
		return fmt.Errorf("cluster: Reshard needs a cluster, not a standalone group")
	}
	args := []string{"--cluster", "reshard", c.cfg.Host + ":" + strconv.Itoa(src.port),
		"--cluster-from", src.id, "--cluster-to", dst.id,
		"--cluster-slots", strconv.Itoa(n), "--cluster-yes",
		"--cluster-pipeline", "100", "--cluster-timeout", "10000"}
	args = append(args, c.cliAuth()...)
	began := time.Now()
	cmd := exec.CommandContext(ctx, c.CLI(), args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("cluster: %s %v: %w\n%s", c.CLI(), args, err, tailLines(string(out), 30))
	}
	c.cfg.Logf("cluster: resharded %d slots from %s to %s in %v", n, from, to, time.Since(began).Round(time.Millisecond))
	return c.waitHealthy(ctx)
}

// cliAuth is the TLS and ACL arguments of the command-line client.
func (c *Cluster) cliAuth() []string {
	var args []string
	if c.acc.tls != nil {
		args = append(args, "--tls", "--cacert", c.acc.tls.caFile)
	}
	if c.acc.users != nil {
		args = append(args, "--user", adminUser, "--pass", c.acc.adminPass, "--no-auth-warning")
	}
	return args
}

// CLI is the command-line client that comes with the cluster's server:
// valkey-cli beside valkey-server, else redis-cli.
func (c *Cluster) CLI() string { return cliFor(c.server) }
