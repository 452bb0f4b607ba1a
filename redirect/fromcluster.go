package redirect

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/retry"
)

// NewFromClusterOptions returns a Client configured like a go-redis
// ClusterClient made from co, with policy as its retry policy, so that
//
//	rdb := redis.NewClusterClient(opts)
//
// becomes
//
//	rdb, err := redirect.NewFromClusterOptions(opts, retry.Policy{})
//
// See FromClusterOptions for how each field is used.
func NewFromClusterOptions(co *redis.ClusterOptions, policy retry.Policy) (*Client, error) {
	o, err := FromClusterOptions(co, policy)
	if err != nil {
		return nil, err
	}
	return NewClient(o)
}

// FromClusterOptions converts go-redis ClusterOptions to Options, for a
// caller who also wants to set Options fields ClusterOptions has no word
// for (Observer, AddrMap, ...).
//
//   - Addrs become Seeds.
//   - Every per-node setting (auth, TLS, timeouts, pool sizes, protocol,
//     Dialer, OnConnect, ...: each field that redis.Options has too) goes
//     to Template, as ClusterClient hands them to its node clients.
//   - ReadOnly and RouteRandomly set ReadFromReplicas: read-only commands
//     go to a random online replica of their slot (RouteRandomly also
//     picks the primary at random; here the primary serves reads only
//     when no replica is online). RouteByLatency sets RouteByLatency.
//   - MaxRedirects bounds the policy's redirects when the policy leaves
//     MaxRedirects at 0, as ClusterClient bounds its redirects with it;
//     two different non-zero values are an error.
//   - MaxRetries, MinRetryBackoff and MaxRetryBackoff are not used.
//     ClusterClient gives them to its node clients, which re-send a
//     failed command on their own; a Client's node clients never do
//     (a command whose reply was lost may have run, see Options.Template),
//     and the policy decides every retry instead.
//
// Fields a Client cannot honour are an error naming them, not ignored:
// NewClient (node clients are made from Template; Options.OnNewNode is
// called with each, to add hooks as NewClient would), ClusterSlots (the
// topology is always read from the cluster), MaxRedirects -1 (a Client
// always follows redirections), and any field of a newer go-redis release
// this package does not know, when set.
func FromClusterOptions(co *redis.ClusterOptions, policy retry.Policy) (Options, error) {
	if co == nil {
		return Options{}, errors.New("redirect: FromClusterOptions: nil *redis.ClusterOptions")
	}
	o := Options{
		Seeds:            slices.Clone(co.Addrs),
		Policy:           policy,
		ReadFromReplicas: co.ReadOnly || co.RouteRandomly,
		RouteByLatency:   co.RouteByLatency,
	}
	var refused []string
	if co.NewClient != nil {
		refused = append(refused, "NewClient (node clients are made from Options.Template; Options.OnNewNode is called with each)")
	}
	if co.ClusterSlots != nil {
		refused = append(refused, "ClusterSlots (the topology is always read from the cluster)")
	}
	switch {
	case co.MaxRedirects < 0:
		refused = append(refused, "MaxRedirects -1 (a Client always follows redirections; retry.Policy.MaxRedirects bounds them)")
	case co.MaxRedirects == 0:
	case policy.MaxRedirects == 0:
		o.Policy.MaxRedirects = co.MaxRedirects
	case policy.MaxRedirects != co.MaxRedirects:
		return Options{}, fmt.Errorf("redirect: ClusterOptions.MaxRedirects (%d) and the policy's MaxRedirects (%d) disagree: set one", co.MaxRedirects, policy.MaxRedirects)
	}

	t := new(redis.Options)
	src, dst := reflect.ValueOf(co).Elem(), reflect.ValueOf(t).Elem()
	for i := range src.NumField() {
		f := src.Type().Field(i)
		if !f.IsExported() || clusterFields[f.Name] {
			continue
		}
		if d := dst.FieldByName(f.Name); d.IsValid() && d.CanSet() && d.Type() == f.Type {
			d.Set(src.Field(i))
			continue
		}
		if !src.Field(i).IsZero() {
			refused = append(refused, f.Name+" (not a per-node setting this package knows)")
		}
	}
	if len(refused) > 0 {
		return Options{}, fmt.Errorf("redirect: ClusterOptions fields a Client cannot honour: %s", strings.Join(refused, "; "))
	}
	if !dst.IsZero() {
		o.Template = t
	}
	return o, o.Validate()
}

// clusterFields are the ClusterOptions fields that are not per-node
// settings: FromClusterOptions maps, refuses or leaves out each by name.
var clusterFields = map[string]bool{
	"Addrs":           true,
	"NewClient":       true,
	"ClusterSlots":    true,
	"MaxRedirects":    true,
	"ReadOnly":        true,
	"RouteByLatency":  true,
	"RouteRandomly":   true,
	"MaxRetries":      true,
	"MinRetryBackoff": true,
	"MaxRetryBackoff": true,
}
