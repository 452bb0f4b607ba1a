package workload

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/classify"
)

// outcome is what the caller of a write was told about it.
type outcome uint8

const (
	acked   outcome = iota // it ran
	inDoubt                // it may have run: a timeout or a broken read
	failed                 // it did not run: an error reply, or not sent
)

func outcomeOf(err error) outcome {
	switch {
	case err == nil:
		return acked
	case classify.InDoubt(err):
		return inDoubt
	default:
		return failed
	}
}

// attempt is one SET of a string key: its value is the worker's id and
// seq, so the value a key holds names the one attempt that wrote it.
type attempt struct {
	seq int
	out outcome
}

// tally is what the increments of one counter were told.
type tally struct {
	acked, inDoubt, failed int64
}

// ledger is what one worker was told about every write it attempted: each
// SET of each of its string keys, in order, and the increments of each of
// its counters, whatever the outcome — a write that reported a definite
// error may still have run, and only reading its key back shows it. Only
// its worker touches it until the final check.
type ledger struct {
	id       int
	strs     map[string][]attempt
	ctrs     map[string]*tally
	expiring map[string]bool // counters whose TTL is set
}

func newLedger(id int) *ledger {
	return &ledger{id: id, strs: map[string][]attempt{}, ctrs: map[string]*tally{}, expiring: map[string]bool{}}
}

// value is the value of the worker's write number seq: unique to that
// write, so a SET that runs twice, or late, leaves a value the ledger can
// place.
func value(id, seq int) string {
	return strconv.Itoa(id) + "-" + strconv.Itoa(seq)
}

// parseValue returns the seq of a value of worker id, ok false for a value
// no write of that worker carried.
func parseValue(id int, v string) (seq int, ok bool) {
	w, s, found := strings.Cut(v, "-")
	if !found || w != strconv.Itoa(id) {
		return 0, false
	}
	seq, err := strconv.Atoi(s)
	return seq, err == nil
}

func (l *ledger) set(key string, seq int, err error) {
	l.strs[key] = append(l.strs[key], attempt{seq: seq, out: outcomeOf(err)})
}

func (l *ledger) incr(key string, err error) {
	t := l.ctrs[key]
	if t == nil {
		t = &tally{}
		l.ctrs[key] = t
	}
	switch outcomeOf(err) {
	case acked:
		t.acked++
	case inDoubt:
		t.inDoubt++
	default:
		t.failed++
	}
}

// keys returns every key any attempt touched, sorted.
func (l *ledger) keys() []string {
	keys := make([]string, 0, len(l.strs)+len(l.ctrs))
	for k := range l.strs {
		keys = append(keys, k)
	}
	for k := range l.ctrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Verdict is the final check of what the workload was told.
type Verdict struct {
	// Checked is the number of keys read back.
	Checked int `json:"checked"`
	// Lost counts keys that do not hold their last acknowledged write: a
	// string key that is empty or holds an older value (the acknowledged
	// write was lost, or an older one ran again after it), a counter below
	// its acknowledged increments.
	Lost int `json:"lost"`
	// Duplicated counts writes that ran more often than they could have:
	// a counter above its acknowledged plus in-doubt increments, a key
	// holding the value of a SET that reported a definite error.
	Duplicated int `json:"duplicated"`
	// RanRefused is the part of Duplicated that a write reported with a
	// definite error ("did not run") and run anyway explains: a key holding
	// such a SET's value, a counter above its acknowledged and in-doubt
	// increments by no more than its refused ones. The rest of Duplicated
	// ran twice.
	RanRefused int      `json:"ran_refused"`
	Problems   []string `json:"problems,omitempty"`
}

func (v *Verdict) note(format string, args ...any) {
	if len(v.Problems) < 20 {
		v.Problems = append(v.Problems, fmt.Sprintf(format, args...))
	}
}

// readBatch is how many keys one read-back pipeline asks for.
const readBatch = 128

// verify reads back, through c, every key any attempt touched and checks
// it against what the workers were told (see Verdict).
func verify(ctx context.Context, c redis.UniversalClient, ledgers []*ledger) (Verdict, error) {
	var v Verdict
	for _, l := range ledgers {
		keys := l.keys()
		for len(keys) > 0 {
			batch := keys[:min(readBatch, len(keys))]
			keys = keys[len(batch):]
			got, err := readBack(ctx, c, batch)
			if err != nil {
				return v, err
			}
			for i, k := range batch {
				v.Checked++
				if atts, ok := l.strs[k]; ok {
					l.checkString(&v, k, atts, got[i])
				} else {
					checkCounter(&v, k, l.ctrs[k], got[i])
				}
			}
		}
	}
	return v, nil
}

// readBack GETs keys in one pipeline; a nil entry is a missing key.
func readBack(ctx context.Context, c redis.UniversalClient, keys []string) ([]*string, error) {
	cmds := make([]*redis.StringCmd, len(keys))
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Get(ctx, k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("reading back %d keys from %s: %w", len(keys), keys[0], err)
	}
	out := make([]*string, len(keys))
	for i, cmd := range cmds {
		s, err := cmd.Result()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return nil, fmt.Errorf("reading back %s: %w", keys[i], err)
		default:
			out[i] = &s
		}
	}
	return out, nil
}

// checkString checks that a string key holds its last acknowledged value,
// or the value of an attempt after it that ended in doubt (or nothing, when
// no attempt was acknowledged).
func (l *ledger) checkString(v *Verdict, k string, atts []attempt, got *string) {
	last := -1
	for i, a := range atts {
		if a.out == acked {
			last = i
		}
	}
	lastVal := "nothing"
	if last >= 0 {
		lastVal = strconv.Quote(value(l.id, atts[last].seq))
	}
	if got == nil {
		if last >= 0 {
			v.Lost++
			v.note("%s is empty, but its write of %s was acknowledged", k, lastVal)
		}
		return
	}
	seq, ok := parseValue(l.id, *got)
	i := sort.Search(len(atts), func(i int) bool { return atts[i].seq >= seq })
	switch {
	case !ok || i == len(atts) || atts[i].seq != seq:
		v.Lost++
		v.note("%s holds %q, which no write of it carried (last acknowledged: %s)", k, *got, lastVal)
	case atts[i].out == failed:
		v.Duplicated++
		v.RanRefused++
		v.note("%s holds %q, written by a SET that reported a definite error: it ran", k, *got)
	case i < last:
		v.Lost++
		v.note("%s holds %q, older than its acknowledged write of %s: that write was lost, or the older one ran again after it", k, *got, lastVal)
	}
}

// checkCounter checks that a counter holds at least its acknowledged
// increments and at most those plus the ones in doubt.
func checkCounter(v *Verdict, k string, t *tally, got *string) {
	var n int64
	if got != nil {
		var err error
		if n, err = strconv.ParseInt(*got, 10, 64); err != nil {
			v.Lost++
			v.note("%s holds %q, not a counter", k, *got)
			return
		}
	}
	switch maxN := t.acked + t.inDoubt; {
	case n < t.acked:
		v.Lost++
		v.note("%s = %d, but %d increments were acknowledged", k, n, t.acked)
	case n > maxN+t.failed:
		v.Duplicated++
		v.note("%s = %d, more than %d acknowledged + %d in doubt + %d refused: an increment ran twice", k, n, t.acked, t.inDoubt, t.failed)
	case n > maxN:
		v.Duplicated++
		v.RanRefused++
		v.note("%s = %d, more than %d acknowledged + %d in doubt: an increment that reported a definite error ran (%d refused), or one ran twice",
			k, n, t.acked, t.inDoubt, t.failed)
	}
}
