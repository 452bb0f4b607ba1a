package workload_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/internal/workload"
)

// runFake runs a short workload through a fake client with fault f, lets
// the fault finish once the workload has stopped, and reads every key back.
func runFake(t *testing.T, f fault) (workload.Verdict, workload.Summary, *fakeClient) {
	t.Helper()
	fc := newFake(f)
	run := workload.Start(context.Background(), fc, workload.Config{Workers: 2, Seed: 7, Ops: 800, CrossSlotMGet: true})
	sum := run.Wait()
	fc.end()
	v, err := run.Verify(context.Background(), fc)
	require.NoError(t, err)
	return v, sum, fc
}

// The faults below each break one promise, once or on one key, and the
// verdict must name exactly that.

// dropAcked acknowledges every SET of one key without running it, from
// the key's first SET on: the key stays empty.
type dropAcked struct{ target string }

func (f *dropAcked) do(s *store, ws []write) error {
	for _, w := range ws {
		if w.op == "set" && f.target == "" {
			f.target = w.key
		}
		if w.op == "set" && w.key == f.target {
			continue
		}
		s.apply(w)
	}
	return nil
}

// dropLaterAcked runs the first SET of each key, and acknowledges every
// later SET of the first key written twice without running it: the key
// keeps an older value.
type dropLaterAcked struct {
	seen   map[string]bool
	target string
}

func (f *dropLaterAcked) do(s *store, ws []write) error {
	for _, w := range ws {
		if w.op == "set" {
			if f.seen[w.key] && f.target == "" {
				f.target = w.key
			}
			f.seen[w.key] = true
			if w.key == f.target {
				continue
			}
		}
		s.apply(w)
	}
	return nil
}

// replayAcked runs every write once and acknowledges it, then, once the
// workload has stopped, runs one acknowledged SET again: the first SET of
// a key that was written again after it, so the replay lands on a newer
// value.
type replayAcked struct {
	first     map[string]write
	rewritten []string // keys written again after their first SET, in order
}

func (f *replayAcked) do(s *store, ws []write) error {
	for _, w := range ws {
		s.apply(w)
		if w.op != "set" {
			continue
		}
		if _, ok := f.first[w.key]; !ok {
			f.first[w.key] = w
		} else {
			f.rewritten = append(f.rewritten, w.key)
		}
	}
	return nil
}

func (f *replayAcked) end(s *store) {
	if len(f.rewritten) > 0 {
		s.apply(f.first[f.rewritten[0]])
	}
}

// lateStale answers the first SET of each key (sent alone) with a timeout
// and holds it; once the workload has stopped, it runs the held SET of one
// key that was written again since — a write the client gave up on, landing
// after a newer one was acknowledged.
type lateStale struct {
	held      map[string]write
	rewritten []string
}

func (f *lateStale) do(s *store, ws []write) error {
	if len(ws) == 1 && ws[0].op == "set" {
		w := ws[0]
		if _, ok := f.held[w.key]; !ok {
			f.held[w.key] = w
			return errInDoubt
		}
	}
	for _, w := range ws {
		if _, ok := f.held[w.key]; ok && w.op == "set" {
			f.rewritten = append(f.rewritten, w.key)
		}
		s.apply(w)
	}
	return nil
}

func (f *lateStale) end(s *store) {
	if len(f.rewritten) > 0 {
		s.apply(f.held[f.rewritten[0]])
	}
}

// setRefusedRan runs the first SET it sees but answers an error reply (a
// definite "did not run"); every later write of that key is refused and
// does not run, so the key is never acknowledged.
type setRefusedRan struct{ target string }

func (f *setRefusedRan) do(s *store, ws []write) error {
	for _, w := range ws {
		if w.key == f.target {
			return errRefused
		}
	}
	if f.target == "" && len(ws) == 1 && ws[0].op == "set" {
		f.target = ws[0].key
		s.apply(ws[0])
		return errRefused
	}
	return honest{}.do(s, ws)
}

// loseIncr acknowledges every increment of one counter without running it.
type loseIncr struct{ target string }

func (f *loseIncr) do(s *store, ws []write) error {
	for _, w := range ws {
		if w.op == "incr" && f.target == "" {
			f.target = w.key
		}
		if w.op == "incr" && w.key == f.target {
			continue
		}
		s.apply(w)
	}
	return nil
}

// incrTwice runs the first increment (sent alone) twice and acknowledges it.
type incrTwice struct{ done bool }

func (f *incrTwice) do(s *store, ws []write) error {
	if !f.done && len(ws) == 1 && ws[0].op == "incr" {
		f.done = true
		s.apply(ws[0])
	}
	return honest{}.do(s, ws)
}

// incrRefusedRan runs the first increment (sent alone) and answers an error
// reply.
type incrRefusedRan struct{ done bool }

func (f *incrRefusedRan) do(s *store, ws []write) error {
	if !f.done && len(ws) == 1 && ws[0].op == "incr" {
		f.done = true
		s.apply(ws[0])
		return errRefused
	}
	return honest{}.do(s, ws)
}

// inDoubtIncrTwice answers every increment of one counter with a timeout
// and runs it twice: the counter has no acknowledged increment at all.
type inDoubtIncrTwice struct{ target string }

func (f *inDoubtIncrTwice) do(s *store, ws []write) error {
	hit := false
	for _, w := range ws {
		if w.op == "incr" && f.target == "" {
			f.target = w.key
		}
		if w.op == "incr" && w.key == f.target {
			hit = true
			s.apply(w)
		}
		s.apply(w)
	}
	if hit {
		return errInDoubt
	}
	return nil
}

// foreign runs every write, and once the workload has stopped, overwrites
// one key with a value no write carried.
type foreign struct{ last string }

func (f *foreign) do(s *store, ws []write) error {
	for _, w := range ws {
		if w.op == "set" && f.last == "" {
			f.last = w.key
		}
	}
	return honest{}.do(s, ws)
}

func (f *foreign) end(s *store) { s.data[f.last] = "someone else" }

func TestVerdictReportsEachFault(t *testing.T) {
	for _, tc := range []struct {
		name        string
		fault       fault
		lost, dup   int
		ranRefused  int
		problem     string
		inDoubt     bool // the fault answers some writes in doubt
		refusedSome bool // ... or with an error reply
	}{
		{name: "acknowledged SET never ran", fault: &dropAcked{}, lost: 1, problem: "is empty, but its write of"},
		{name: "later acknowledged SET never ran", fault: &dropLaterAcked{seen: map[string]bool{}}, lost: 1, problem: "older than its acknowledged write"},
		{name: "acknowledged SET ran twice, late", fault: &replayAcked{first: map[string]write{}}, lost: 1, problem: "or the older one ran again after it"},
		{name: "SET given up on ran late", fault: &lateStale{held: map[string]write{}}, lost: 1, problem: "older than its acknowledged write", inDoubt: true},
		{name: "refused SET ran", fault: &setRefusedRan{}, dup: 1, ranRefused: 1, problem: "reported a definite error: it ran", refusedSome: true},
		{name: "acknowledged INCR never ran", fault: &loseIncr{}, lost: 1, problem: "increments were acknowledged"},
		{name: "acknowledged INCR ran twice", fault: &incrTwice{}, dup: 1, problem: "an increment ran twice"},
		{name: "refused INCR ran", fault: &incrRefusedRan{}, dup: 1, ranRefused: 1, problem: "reported a definite error ran (1 refused)", refusedSome: true},
		{name: "INCR in doubt ran twice", fault: &inDoubtIncrTwice{}, dup: 1, problem: "more than 0 acknowledged", inDoubt: true},
		{name: "a value no write carried", fault: &foreign{}, lost: 1, problem: "which no write of it carried"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, sum, _ := runFake(t, tc.fault)
			assert.Positive(t, v.Checked)
			assert.Equal(t, tc.lost, v.Lost, "lost: %v", v.Problems)
			assert.Equal(t, tc.dup, v.Duplicated, "duplicated: %v", v.Problems)
			assert.Equal(t, tc.ranRefused, v.RanRefused, "ran though refused: %v", v.Problems)
			require.Len(t, v.Problems, 1)
			assert.Contains(t, v.Problems[0], tc.problem)
			if !tc.inDoubt && !tc.refusedSome {
				assert.Zero(t, sum.SurfacedErrors, "the fault hid from the caller")
			}
			if tc.inDoubt {
				assert.Positive(t, sum.InDoubtErrors)
			}
		})
	}
}

// benign fails writes in every way a correct client may: answered in doubt
// and run once, answered in doubt and not run, refused and not run. None
// of it is a lost or duplicated write.
type benign struct{ n int }

func (f *benign) do(s *store, ws []write) error {
	f.n++
	switch f.n % 4 {
	case 1:
		honest{}.do(s, ws) //nolint:errcheck // honest never fails
		return errInDoubt
	case 2:
		return errInDoubt
	case 3:
		return errRefused
	}
	return honest{}.do(s, ws)
}

func TestVerdictAcceptsWhatACorrectClientMayDo(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault fault
	}{{"no fault", honest{}}, {"failures in doubt and refusals", &benign{}}} {
		t.Run(tc.name, func(t *testing.T) {
			v, sum, fc := runFake(t, tc.fault)
			assert.Zero(t, v.Lost, "%v", v.Problems)
			assert.Zero(t, v.Duplicated, "%v", v.Problems)
			assert.Empty(t, v.Problems)
			assert.Equal(t, int64(2*800), sum.Operations)
			// Every key any attempt touched is read back, including those
			// whose writes all failed and are therefore absent.
			assert.GreaterOrEqual(t, v.Checked, len(fc.s.data))
			if _, ok := tc.fault.(*benign); ok {
				assert.Greater(t, v.Checked, len(fc.s.data), "keys never written are checked too")
				assert.Positive(t, sum.InDoubtErrors)
				assert.Greater(t, sum.SurfacedErrors, sum.InDoubtErrors)
			}
		})
	}
}
