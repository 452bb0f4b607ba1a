package slotmap

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"
)

// Defaults for the zero values of Config. A fleet of N clients sends at most
// N×Sample topology requests per MinInterval however many MOVED replies and
// connection errors it sees, and the jitter keeps those clients from
// refreshing in lockstep after a shared event such as a failover.
const (
	DefaultMinInterval = time.Second
	DefaultJitter      = 500 * time.Millisecond
	DefaultSample      = 3
	DefaultTimeout     = 2 * time.Second
)

// Config configures a Map. Every zero value is a documented default.
type Config struct {
	// Seeds are asked when the map knows no node (before the first refresh,
	// or when every node asked failed). Each is "host:port".
	Seeds []string

	// Fetch asks the node at addr for its view; required. Fetch (the
	// package function) over a per-node client is the usual body.
	Fetch func(ctx context.Context, addr string) (*Topology, error)

	// MinInterval is the least time between the starts of two fetches;
	// requests in between are served by the next one. Zero means
	// DefaultMinInterval.
	MinInterval time.Duration

	// Jitter is a random extra spacing, uniform in [0, Jitter), added to
	// MinInterval and to Periodic. Zero means DefaultJitter.
	Jitter time.Duration

	// Sample is how many nodes one refresh asks, at random among the known
	// primaries and readable replicas, all at once. Zero means DefaultSample.
	Sample int

	// Timeout bounds one refresh, whoever waits for it. Zero means
	// DefaultTimeout.
	Timeout time.Duration

	// Periodic is the spacing of background refreshes; zero turns them off.
	Periodic time.Duration

	// Observer hears every fetch's outcome, from the goroutine that ran it;
	// it must not block. Nil means no observer.
	Observer func(RefreshEvent)

	// Rand returns a number in [0, n) for jitter and sampling; the map
	// calls it under its lock. Nil means math/rand/v2.IntN. Tests that
	// need time to pass run in testing/synctest.
	Rand func(n int) int
}

// Validate reports the first field that holds a value the map cannot use.
func (c *Config) Validate() error {
	if c.Fetch == nil {
		return errors.New("slotmap: Config.Fetch is required")
	}
	for i, s := range c.Seeds {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return fmt.Errorf("slotmap: Config.Seeds[%d]: %q is not host:port: %w", i, s, err)
		}
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{
		{"MinInterval", c.MinInterval},
		{"Jitter", c.Jitter},
		{"Timeout", c.Timeout},
		{"Periodic", c.Periodic},
	} {
		if f.v < 0 {
			return fmt.Errorf("slotmap: Config.%s is negative (%v)", f.name, f.v)
		}
	}
	if c.Sample < 0 {
		return fmt.Errorf("slotmap: Config.Sample is negative (%d)", c.Sample)
	}
	return nil
}

// withDefaults returns c with its zero values replaced by the defaults.
func (c Config) withDefaults() Config {
	if c.MinInterval == 0 {
		c.MinInterval = DefaultMinInterval
	}
	if c.Jitter == 0 {
		c.Jitter = DefaultJitter
	}
	if c.Sample == 0 {
		c.Sample = DefaultSample
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Rand == nil {
		c.Rand = rand.IntN
	}
	return c
}
