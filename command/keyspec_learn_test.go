package command

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeServer answers COMMAND INFO from entries, by lower-case name.
type fakeServer struct {
	redis.Cmdable // not used; Learn needs only Do

	entries map[string]any
	err     error         // returned instead of a reply when set
	gate    chan struct{} // when set, Do waits for it to close
	calls   atomic.Int32
	asked   [][]any
	mu      sync.Mutex // protects asked
}

func (f *fakeServer) Do(ctx context.Context, args ...any) *redis.Cmd {
	f.calls.Add(1)
	f.mu.Lock()
	f.asked = append(f.asked, args)
	f.mu.Unlock()
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return redis.NewCmdResult(nil, context.Cause(ctx))
		}
	}
	if f.err != nil {
		return redis.NewCmdResult(nil, f.err)
	}
	reply := make([]any, 0, len(args))
	for _, a := range args[2:] {
		reply = append(reply, f.entries[a.(string)])
	}
	return redis.NewCmdResult(reply, nil)
}

// resp3Spec builds a key spec as go-redis returns a RESP3 map.
func resp3Spec(bsType string, bs map[any]any, fkType string, fk map[any]any) any {
	return map[any]any{
		"flags":        []any{"RW", "access"},
		"begin_search": map[any]any{"type": bsType, "spec": bs},
		"find_keys":    map[any]any{"type": fkType, "spec": fk},
	}
}

// resp2Spec is the same as a flat key-value array, as RESP2 sends maps.
func resp2Spec(bsType string, bs []any, fkType string, fk []any) any {
	return []any{
		"flags", []any{"RW", "access"},
		"begin_search", []any{"type", bsType, "spec", bs},
		"find_keys", []any{"type", fkType, "spec", fk},
	}
}

func entry(name string, flags []any, first, last, step int64, tips []any, specs []any, subs []any) []any {
	return []any{name, int64(-2), flags, first, last, step, []any{"@slow"}, tips, specs, subs}
}

func moduleEntries() map[string]any {
	return map[string]any{
		// FT.SEARCH index query: like a module command whose first
		// argument is no key; key at 1 on purpose in this fake.
		"mod.get": entry("mod.get", []any{"readonly", "fast"}, 1, 1, 1, []any{},
			[]any{resp3Spec("index", map[any]any{"index": int64(1)}, "range",
				map[any]any{"lastkey": int64(0), "keystep": int64(1), "limit": int64(0)})}, []any{}),
		"mod.mset": entry("mod.mset", []any{"write"}, 1, -1, 2,
			[]any{"request_policy:multi_shard", "response_policy:all_succeeded"},
			[]any{resp2Spec("index", []any{"index", int64(1)}, "range",
				[]any{"lastkey", int64(-1), "keystep", int64(2), "limit", int64(0)})}, []any{}),
		"mod.read": entry("mod.read", []any{"readonly", "blocking"}, 0, 0, 0, []any{},
			[]any{resp3Spec("keyword", map[any]any{"keyword": "FROM", "startfrom": int64(1)}, "range",
				map[any]any{"lastkey": int64(-1), "keystep": int64(1), "limit": int64(2)})}, []any{}),
		"mod.eval": entry("mod.eval", []any{"write"}, 0, 0, 0, []any{},
			[]any{resp2Spec("index", []any{"index", int64(2)}, "keynum",
				[]any{"keynumidx", int64(0), "firstkey", int64(1), "keystep", int64(1)})}, []any{}),
		"mod.sort": entry("mod.sort", []any{"write"}, 1, 1, 1, []any{},
			[]any{
				resp3Spec("index", map[any]any{"index": int64(1)}, "range",
					map[any]any{"lastkey": int64(0), "keystep": int64(1), "limit": int64(0)}),
				resp3Spec("unknown", map[any]any{}, "unknown", map[any]any{}),
			}, []any{}),
		"mod.cfg": entry("mod.cfg", []any{}, 0, 0, 0, []any{}, []any{}, []any{
			entry("mod.cfg|get", []any{"readonly"}, 0, 0, 0, []any{}, []any{}, []any{}),
			entry("mod.cfg|set", []any{"write"}, 0, 0, 0, []any{"request_policy:all_nodes"}, []any{}, []any{}),
		}),
		"mod.obj": entry("mod.obj", []any{}, 0, 0, 0, []any{}, []any{}, []any{
			entry("mod.obj|size", []any{"readonly"}, 2, 2, 1, []any{}, []any{
				resp3Spec("index", map[any]any{"index": int64(2)}, "range",
					map[any]any{"lastkey": int64(0), "keystep": int64(1), "limit": int64(0)})}, []any{}),
		}),
		// A Redis 6 entry: first, last and step, no key specs.
		"mod.old": []any{"mod.old", int64(-2), []any{"write"}, int64(1), int64(-1), int64(1), []any{"@write"}},
		// The server's answer for a subcommand asked by its full name.
		"xinfo|newsub": entry("xinfo|newsub", []any{"readonly"}, 2, 2, 1, []any{}, []any{
			resp3Spec("index", map[any]any{"index": int64(2)}, "range",
				map[any]any{"lastkey": int64(0), "keystep": int64(1), "limit": int64(0)})}, []any{}),
	}
}

func TestLearn(t *testing.T) {
	f := &fakeServer{entries: moduleEntries()}
	tb := NewTable()
	ctx := context.Background()
	require.NoError(t, tb.Learn(ctx, f, "MOD.GET", "mod.mset", "mod.read", "mod.eval", "mod.sort",
		"mod.cfg", "mod.obj", "mod.old", "xinfo|newsub", "no.such", "get"))
	assert.EqualValues(t, 1, f.calls.Load())
	assert.NotContains(t, f.asked[0], "get", "static commands are not asked for")

	tests := []struct {
		line  string
		want  []int
		flags Flags
	}{
		{"MOD.GET a", k(1), FlagReadOnly},
		{"mod.mset a 1 b 2", k(1, 3), FlagWrite | FlagSplittable},
		{"mod.read x FROM a b 0 0", k(3, 4), FlagReadOnly | FlagBlocking},
		{"mod.eval s 2 a b c", k(3, 4), FlagWrite},
		{"mod.sort a BY x", k(1), FlagWrite},
		{"mod.cfg get x", k(), FlagReadOnly | FlagKeyless},
		{"mod.cfg set x y", k(), FlagWrite | FlagKeyless | FlagAllNodes},
		{"mod.cfg newer x", k(), FlagKeyless},
		{"mod.obj size a", k(2), FlagReadOnly},
		{"mod.old a b c", k(1, 2, 3), FlagWrite},
		{"XINFO NEWSUB s", k(2), FlagReadOnly},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			idx, flags, ok := tb.KeysStrings(nil, split(tt.line))
			require.True(t, ok)
			assert.Equal(t, tt.want, append([]int{}, idx...))
			assert.Equal(t, tt.flags, flags)
		})
	}

	for _, line := range []string{"no.such a", "mod.obj nosub a", "xinfo othersub s", "object newer a"} {
		_, _, ok := tb.KeysStrings(nil, split(line))
		assert.False(t, ok, line)
	}
	// What one table learned, another does not know.
	_, _, known := NewTable().KeysStrings(nil, split("mod.get a"))
	assert.False(t, known)

	// A static container with keys learns its newer subcommands; one
	// whose subcommands are all keyless needs nothing.
	f.entries["object"] = entry("object", []any{}, 0, 0, 0, []any{}, []any{}, []any{
		entry("object|newer", []any{"readonly"}, 2, 2, 1, []any{}, []any{
			resp3Spec("index", map[any]any{"index": int64(2)}, "range",
				map[any]any{"lastkey": int64(0), "keystep": int64(1), "limit": int64(0)})}, []any{}),
	})
	require.NoError(t, tb.Learn(ctx, f, "OBJECT", "cluster"))
	assert.EqualValues(t, 2, f.calls.Load())
	assert.Equal(t, []any{"command", "info", "object"}, f.asked[1])
	idx, _, ok := tb.KeysStrings(nil, split("OBJECT NEWER a"))
	require.True(t, ok)
	assert.Equal(t, []int{2}, idx)
	idx, _, ok = tb.KeysStrings(nil, split("OBJECT ENCODING a"))
	require.True(t, ok, "the static subcommands stay")
	assert.Equal(t, []int{2}, idx)

	// Learned and unknown names alike are not asked for again.
	require.NoError(t, tb.Learn(ctx, f, "mod.get", "NO.SUCH", "mod.cfg|get", "object"))
	assert.EqualValues(t, 2, f.calls.Load())
}

func TestLearnSharesOneFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeServer{entries: moduleEntries(), gate: make(chan struct{})}
		tb := NewTable()
		const callers = 50
		errs := make(chan error, callers)
		for range callers {
			go func() { errs <- tb.Learn(context.Background(), f, "mod.get", "mod.mset") }()
		}
		// Every caller is now either fetching or waiting for the fetch.
		synctest.Wait()
		close(f.gate)
		for range callers {
			require.NoError(t, <-errs)
		}
		assert.EqualValues(t, 1, f.calls.Load())
		_, _, ok := tb.KeysStrings(nil, []string{"mod.get", "a"})
		assert.True(t, ok)
	})
}

func TestLearnWaiterHonoursItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeServer{entries: moduleEntries(), gate: make(chan struct{})}
		tb := NewTable()
		first := make(chan error, 1)
		go func() { first <- tb.Learn(context.Background(), f, "mod.get") }()
		synctest.Wait()

		ctx, cancel := context.WithCancelCause(context.Background())
		cause := errors.New("caller gave up")
		waiter := make(chan error, 1)
		go func() { waiter <- tb.Learn(ctx, f, "mod.get") }()
		synctest.Wait()
		cancel(cause)
		assert.ErrorIs(t, <-waiter, cause)

		close(f.gate)
		require.NoError(t, <-first)
		assert.EqualValues(t, 1, f.calls.Load())
	})
}

func TestLearnFailureIsNotRemembered(t *testing.T) {
	f := &fakeServer{entries: moduleEntries(), err: errors.New("connection reset")}
	tb := NewTable()
	err := tb.Learn(context.Background(), f, "mod.get", "mod.mset")
	assert.EqualError(t, err, "command: learning mod.get mod.mset: connection reset")
	f.err = nil
	require.NoError(t, tb.Learn(context.Background(), f, "mod.get"))
	assert.EqualValues(t, 2, f.calls.Load())
}

type noDo struct{ redis.Cmdable }

func TestLearnNeedsDo(t *testing.T) {
	err := NewTable().Learn(context.Background(), noDo{}, "mod.get")
	assert.EqualError(t, err, "command: Learn needs a go-redis client with a Do method, not command.noDo")
}

func TestParseCommandInfoErrors(t *testing.T) {
	good := func() []any { return moduleEntries()["mod.get"].([]any) }
	with := func(i int, v any) []any { e := good(); e[i] = v; return e }
	spec := func(s any) []any { return with(infoKeySpecs, []any{s}) }
	rng := map[any]any{"lastkey": int64(0), "keystep": int64(1), "limit": int64(0)}
	tests := []struct {
		name  string
		reply any
		want  string
	}{
		{"not an array", "OK", "COMMAND INFO reply is string, not an array"},
		{"wrong count", []any{}, "COMMAND INFO replied 0 entries for 1 names"},
		{"short entry", []any{[]any{"x", int64(1)}}, "COMMAND INFO x: entry is []interface {} of 2 fields, want an array of at least 6"},
		{"name", []any{with(infoName, int64(1))}, "COMMAND INFO x: name is int64, not a string"},
		{"flags", []any{with(infoFlags, "readonly")}, "COMMAND INFO x: mod.get: flags: string is not an array"},
		{"flag", []any{with(infoFlags, []any{int64(1)})}, "COMMAND INFO x: mod.get: flags: element int64 is not a string"},
		{"tips", []any{with(infoTips, nil)}, "COMMAND INFO x: mod.get: tips: <nil> is not an array"},
		{"specs", []any{with(infoKeySpecs, "x")}, "COMMAND INFO x: mod.get: key specs are string, not an array"},
		{"spec", []any{spec(int64(3))}, "COMMAND INFO x: mod.get: key spec 0: int64 is not a map"},
		{"odd spec", []any{spec([]any{"flags"})}, "COMMAND INFO x: mod.get: key spec 0: key-value array has odd length 1"},
		{"begin type", []any{spec(resp3Spec("middle", map[any]any{}, "range", rng))}, "COMMAND INFO x: mod.get: key spec 0: begin_search type middle"},
		{"index", []any{spec(resp3Spec("index", map[any]any{"index": "1"}, "range", rng))}, "COMMAND INFO x: mod.get: key spec 0: begin_search: index is string, not an integer"},
		{"huge index", []any{spec(resp3Spec("index", map[any]any{"index": int64(1 << 40)}, "range", rng))}, "COMMAND INFO x: mod.get: key spec 0: begin_search: index 1099511627776 is out of range"},
		{"keyword", []any{spec(resp3Spec("keyword", map[any]any{"keyword": "", "startfrom": int64(1)}, "range", rng))}, "COMMAND INFO x: mod.get: key spec 0: begin_search: keyword is string , not a word"},
		{"find type", []any{spec(resp3Spec("index", map[any]any{"index": int64(1)}, "all", rng))}, "COMMAND INFO x: mod.get: key spec 0: find_keys type all"},
		{"lastkey", []any{spec(resp3Spec("index", map[any]any{"index": int64(1)}, "range", map[any]any{}))}, "COMMAND INFO x: mod.get: key spec 0: find_keys: lastkey is <nil>, not an integer"},
		{"map key", []any{spec(map[any]any{int64(1): "x"})}, "COMMAND INFO x: mod.get: key spec 0: map key is int64, not a string"},
		{"subs", []any{with(infoSubcommands, "x")}, "COMMAND INFO x: mod.get: subcommands are string, not an array"},
		{"sub", []any{with(infoSubcommands, []any{"x"})}, "COMMAND INFO x: mod.get: subcommand: entry is string of 0 fields, want an array of at least 6"},
		{"old positions", []any{[]any{"old", int64(2), []any{}, "1", int64(1), int64(1)}}, "COMMAND INFO x: old: key position 0 is string, not an integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseCommandInfo(tt.reply, []string{"x"})
			assert.EqualError(t, err, tt.want)
		})
	}
}
