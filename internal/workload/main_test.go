package workload_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The workload starts a goroutine per worker: every test must leave none
// behind once its run has been waited for.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
