package integration_test

import (
	"os"
	"testing"
	"time"

	"github.com/clusterhop/clusterhop/integration/cluster"
)

// shared is the cluster of this package's tests: 3 primaries with one
// replica each, so that failovers have a replica to promote and a majority
// of primaries to elect it.
var shared = cluster.NewShared(cluster.Config{
	Primaries:          3,
	ReplicasPerPrimary: 1,
	NodeTimeout:        2 * time.Second,
})

func TestMain(m *testing.M) { os.Exit(shared.Run(m)) }
