package redirect_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/redirect"
)

// SlogObserver logs what the engine does: here a command that met
// TRYAGAIN once and was retried. The handler drops the attributes that
// change from run to run (time, addresses, durations).
func ExampleSlogObserver() {
	c, err := clustertest.Start(clustertest.Config{Shards: 3})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelInfo,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			switch a.Key {
			case slog.TimeKey, "addr", "duration", "delay":
				return slog.Attr{}
			}
			return a
		},
	}))
	cl, err := redirect.NewClient(redirect.Options{
		Seeds:    []string{c.Primary(0)},
		Observer: redirect.SlogObserver(logger),
	})
	if err != nil {
		panic(err)
	}
	defer cl.Close()

	ctx := context.Background()
	_ = cl.Ping(ctx).Err() // loads the topology
	_ = c.InjectError(c.SlotOwner(10778), clustertest.FaultSpec{Reply: "TRYAGAIN Multiple keys request during rehashing of slot", Count: 1})
	fmt.Println(cl.Set(ctx, "user:1", "ada", 0).Val()) // slot 10778
	// Output:
	// level=INFO msg="clusterhop: topology refresh" reason=initial changed=true discarded=false
	// level=INFO msg="clusterhop: retry" kind=TRYAGAIN command=set attempt=1 refresh=false
	// OK
}
