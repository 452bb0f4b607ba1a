package redirect_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/slotmap"
)

// autoPipelineFaces are the methods go-redis v9.22 and later add to
// redis.UniversalClient, which the Client inherits from its front client.
var autoPipelineFaces = []string{"AutoPipeline", "AutoPipelineWithOptions", "AsyncAutoPipeline", "AsyncAutoPipelineWithOptions"}

// openFace calls the face named name on cl, found by name (the package
// builds with go-redis releases that have none); for the WithOptions
// faces, with options whose fields set are fields.
func openFace(t *testing.T, cl *redirect.Client, name string, fields map[string]any) redis.UniversalClient {
	t.Helper()
	m := reflect.ValueOf(cl).MethodByName(name)
	var in []reflect.Value
	if m.Type().NumIn() == 1 {
		opts := reflect.New(m.Type().In(0).Elem())
		for f, v := range fields {
			opts.Elem().FieldByName(f).Set(reflect.ValueOf(v))
		}
		in = append(in, opts)
	}
	out := m.Call(in)
	require.True(t, out[1].IsNil(), "%s: %v", name, out[1])
	ap, ok := out[0].Interface().(redis.UniversalClient)
	require.True(t, ok, "%s returns a %s", name, out[0].Type())
	return ap
}

// The AutoPipeline faces route through the Client: each batch is a Client
// pipeline, whose commands follow their own MOVED.
func TestAutoPipelineFacesRouteThroughTheClient(t *testing.T) {
	probe := reflect.ValueOf(&redirect.Client{})
	if !probe.MethodByName("AutoPipeline").IsValid() {
		for _, f := range autoPipelineFaces {
			assert.False(t, probe.MethodByName(f).IsValid(), "%s without AutoPipeline", f)
		}
		t.Skip("NOTICE: this go-redis has no AutoPipeline faces (they came in v9.22); make test-latest runs this test")
	}
	for _, tc := range []struct {
		face   string
		fields map[string]any
	}{
		{"AutoPipeline", nil},
		{"AsyncAutoPipeline", nil},
		{"AutoPipelineWithOptions", map[string]any{"FullDuplex": true}},
		{"AsyncAutoPipelineWithOptions", map[string]any{"Unordered": true, "MaxConcurrentBatches": 4}},
	} {
		t.Run(tc.face, func(t *testing.T) {
			c := clustertest.New(t, clustertest.Config{Shards: 3})
			rec := &recorder{}
			cl := newClient(t, c, redirect.Options{Policy: fastPolicy(), Observer: rec.observer()})
			ap := openFace(t, cl, tc.face, tc.fields)
			defer ap.Close()
			ctx := context.Background()
			keys := []string{keyOn(t, c, 0, "ap"), keyOn(t, c, 1, "ap"), keyOn(t, c, 2, "ap")}
			for _, k := range keys {
				require.NoError(t, ap.Set(ctx, k, "v-"+k, 0).Err())
			}
			require.NoError(t, c.MigrateSlot(slotmap.Slot(keys[1]), c.Primary(2)))
			for _, k := range keys {
				v, err := ap.Get(ctx, k).Result()
				require.NoError(t, err, k)
				assert.Equal(t, "v-"+k, v)
			}
			assert.Equal(t, []string{"redirect MOVED"}, rec.sequence(), "the moved key's GET followed its MOVED")
			err := ap.Watch(ctx, func(*redis.Tx) error { return nil }, keys[0])
			require.Error(t, err)
			assert.Contains(t, err.Error(), "use Client.Watch")
		})
	}
}

// A WATCH that reaches the router (go-redis's Tx on the front client, an
// AutoPipeliner's Watch, Do) is refused: on a pooled connection it would
// watch nothing the transaction could rely on.
func TestClientRefusesWatchOutsideWatch(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	cl := newClient(t, c, redirect.Options{})
	ctx := context.Background()
	k := keyOn(t, c, 0, "w")
	c.ResetStats()
	err := cl.Client.Watch(ctx, func(tx *redis.Tx) error {
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error { p.Set(ctx, k, "v", 0); return nil })
		return err
	}, k)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "use Client.Watch")
	assert.Contains(t, cl.Do(ctx, "watch", k).Err().Error(), "use Client.Watch")
	assert.Zero(t, c.Counters().Commands["WATCH"], "a WATCH was sent")
	assert.Zero(t, c.Counters().Commands["SET"], "the transaction ran")
	// Client.Watch itself is unaffected.
	require.NoError(t, cl.Watch(ctx, func(tx *redis.Tx) error {
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error { p.Set(ctx, k, "v", 0); return nil })
		return err
	}, k))
}
