package main

import (
	"context"
	"reflect"
	"strconv"

	"github.com/redis/go-redis/v9"
	"github.com/valkey-io/valkey-go"
)

// benchOps runs the workload's operations through a client that is not a
// go-redis UniversalClient: valkey-go, the batching peer, measured through
// its own API. Only this command imports it; the library does not.
type benchOps interface {
	get(ctx context.Context, key string) error
	set(ctx context.Context, key string, v int) error
	// getMany reads keys in one pipeline and counts the replies.
	getMany(ctx context.Context, keys []string) (ok, failed int64)
	ping(ctx context.Context) error
	close()
}

// valkeyPeer is valkey-go's cluster client with its defaults: one
// connection per node whose writer flushes when it runs out of queued
// commands, replies matched in order.
type valkeyPeer struct{ c valkey.Client }

func newValkeyPeer(addr string, conn *redis.Options) (*valkeyPeer, error) {
	c, err := valkey.NewClient(valkey.ClientOption{
		InitAddress: []string{addr},
		Username:    conn.Username,
		Password:    conn.Password,
		TLSConfig:   conn.TLSConfig,
	})
	if err != nil {
		return nil, err
	}
	return &valkeyPeer{c: c}, nil
}

func (p *valkeyPeer) get(ctx context.Context, key string) error {
	err := p.c.Do(ctx, p.c.B().Get().Key(key).Build()).Error()
	if valkey.IsValkeyNil(err) {
		return nil
	}
	return err
}

func (p *valkeyPeer) set(ctx context.Context, key string, v int) error {
	return p.c.Do(ctx, p.c.B().Set().Key(key).Value(strconv.Itoa(v)).Build()).Error()
}

func (p *valkeyPeer) getMany(ctx context.Context, keys []string) (ok, failed int64) {
	cmds := make(valkey.Commands, len(keys))
	for i, k := range keys {
		cmds[i] = p.c.B().Get().Key(k).Build()
	}
	for _, r := range p.c.DoMulti(ctx, cmds...) {
		if err := r.Error(); err != nil && !valkey.IsValkeyNil(err) {
			failed++
		} else {
			ok++
		}
	}
	return ok, failed
}

func (p *valkeyPeer) ping(ctx context.Context) error {
	return p.c.Do(ctx, p.c.B().Ping().Build()).Error()
}

func (p *valkeyPeer) close() { p.c.Close() }

// autoPipeliner returns go-redis's own batching face of gr, the
// ClusterClient's AutoPipeline (go-redis v9.22 and later), or nil when
// the go-redis this command is built with has none. It is found by name
// so that the command builds with every go-redis v9 release.
func autoPipeliner(gr *redis.ClusterClient) redis.UniversalClient {
	m := reflect.ValueOf(gr).MethodByName("AutoPipeline")
	if !m.IsValid() || m.Type().NumIn() != 0 || m.Type().NumOut() != 2 {
		return nil
	}
	out := m.Call(nil)
	if !out[1].IsNil() {
		return nil
	}
	ap, _ := out[0].Interface().(redis.UniversalClient)
	return ap
}

// peerClients adds the batching peers to the clients measured: valkey-go
// and, when this go-redis has it, the ClusterClient's AutoPipeline.
func peerClients(addr string, conn *redis.Options, gr *redis.ClusterClient) ([]benchClient, func(), error) {
	vk, err := newValkeyPeer(addr, conn)
	if err != nil {
		return nil, nil, err
	}
	peers := []benchClient{{name: "valkey-go", ops: vk}}
	closeAll := vk.close
	if ap := autoPipeliner(gr); ap != nil {
		peers = append(peers, benchClient{name: "go-redis AP", c: ap})
		closeAll = func() {
			_ = ap.Close()
			vk.close()
		}
	}
	return peers, closeAll, nil
}

// pipelineSize is the number of GETs of one operation of the pipeline
// workload.
const pipelineSize = 100

// ping checks that bc reaches the cluster.
func (bc benchClient) ping(ctx context.Context) error {
	if bc.ops != nil {
		return bc.ops.ping(ctx)
	}
	return bc.c.Ping(ctx).Err()
}

// opsRound is operation i of workload wl through a peer's own API, on the
// same keys as the go-redis clients' (measure).
func (bc benchClient) opsRound(ctx context.Context, wl string, i, keys int) (ok, failed int64) {
	if wl == "pipeline" {
		ks := make([]string, pipelineSize)
		for j := range ks {
			ks[j] = "bench:" + strconv.Itoa((i*pipelineSize+j)*7919%keys)
		}
		return bc.ops.getMany(ctx, ks)
	}
	k := "bench:" + strconv.Itoa((i*7919)%keys)
	var err error
	if i%2 == 0 {
		err = bc.ops.get(ctx, k)
	} else {
		err = bc.ops.set(ctx, k, i)
	}
	if err != nil {
		return 0, 1
	}
	return 1, 0
}

// withoutPeers returns the clients an event run compares: the batching
// peers measure throughput only.
func withoutPeers(clients []benchClient) []benchClient {
	var out []benchClient
	for _, bc := range clients {
		if !bc.peer {
			out = append(out, bc)
		}
	}
	return out
}
