package retry

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
)

// full sets every field, so round trips cover them all.
var full = Policy{
	MaxRedirects:   8,
	MaxRetries:     20,
	DisableRetries: true,
	MinBackoff:     50 * time.Millisecond,
	MaxBackoff:     2 * time.Second,
	Multiplier:     1.5,
	Delays: map[classify.Kind]time.Duration{
		classify.KindTryAgain:      5 * time.Millisecond,
		classify.KindPoolExhausted: 200 * time.Millisecond,
	},
	Timeout: 10 * time.Second,
	InDoubt: InDoubtIdempotent,
	Budget:  BudgetConfig{MaxTokens: 100, TokenRatio: 0.5, Disabled: true},
	Breaker: BreakerConfig{FailureLimit: 3, Pause: 500 * time.Millisecond, MaxNodes: 64, Disabled: true},
}

const fullQuery = "breaker_disabled=true&breaker_failure_limit=3&breaker_max_nodes=64&breaker_pause=500ms" +
	"&budget_disabled=true&budget_max_tokens=100&budget_token_ratio=0.5" +
	"&delays=tryagain%3A5ms%2Cpool_exhausted%3A200ms&disable_retries=true&in_doubt=idempotent" +
	"&max_backoff=2s&max_redirects=8&max_retries=20&min_backoff=50ms&multiplier=1.5&timeout=10s"

func TestParseURL(t *testing.T) {
	p, err := ParseURL("redis://10.0.0.1:6379/0?" + fullQuery)
	require.NoError(t, err)
	assert.Equal(t, full, p)
	assert.Equal(t, fullQuery, p.Values().Encode())

	p, err = ParseURL("redis://10.0.0.1:6379")
	require.NoError(t, err)
	assert.Equal(t, Policy{}, p, "no parameters: the defaults")
	assert.Empty(t, p.Values())

	p, err = ParseURL("?delays=TRYAGAIN:1ms,%20pool%20exhausted:2ms")
	require.NoError(t, err)
	assert.Equal(t, map[classify.Kind]time.Duration{classify.KindTryAgain: time.Millisecond, classify.KindPoolExhausted: 2 * time.Millisecond}, p.Delays, "kind names ignore case and spaces")
}

func TestFromQueryErrors(t *testing.T) {
	tests := []struct {
		query string
		want  string
	}{
		{"max_retry=3", "retry: invalid max_retry=3: unknown parameter; known: breaker_disabled, breaker_failure_limit, breaker_max_nodes, breaker_pause, budget_disabled, budget_max_tokens, budget_token_ratio, delays, disable_retries, in_doubt, max_backoff, max_redirects, max_retries, min_backoff, multiplier, timeout"},
		{"max_retries=3&max_retries=4", "retry: invalid max_retries=3,4: given 2 times"},
		{"max_retries=three", "retry: invalid max_retries=three: not an integer"},
		{"max_retries=-1", "retry: invalid max_retries=-1: must not be negative (0 means 60; disable_retries=true turns retries off)"},
		{"max_redirects=-2", "retry: invalid max_redirects=-2: must not be negative (0 means 16)"},
		{"min_backoff=50", `retry: invalid min_backoff=50: missing unit, write for example "50ms" or "2s"`},
		{"min_backoff=soon", `retry: invalid min_backoff=soon: not a duration, write for example "50ms" or "2s"`},
		{"min_backoff=2s&max_backoff=1s", "retry: invalid min_backoff=2s: greater than max_backoff (1s)"},
		{"max_backoff=-1s", "retry: invalid max_backoff=-1s: must not be negative"},
		{"multiplier=0.5", "retry: invalid multiplier=0.5: must be between 1 and 1e6"},
		{"multiplier=NaN", "retry: invalid multiplier=NaN: must be between 1 and 1e6"},
		{"multiplier=x", "retry: invalid multiplier=x: not a number"},
		{"timeout=-1s", "retry: invalid timeout=-1s: must not be negative (0 means the context deadline alone)"},
		{"in_doubt=sometimes", `retry: invalid in_doubt=sometimes: want "readonly", "never", "idempotent" or "always"`},
		{"disable_retries=yes", `retry: invalid disable_retries=yes: want "true" or "false"`},
		{"delays=tryagain", `retry: invalid delays=tryagain: "tryagain": want kind:duration, for example tryagain:5ms`},
		{"delays=wrongtype:5ms", `retry: invalid delays=wrongtype:5ms: "wrongtype" is not a retryable kind; want one of tryagain, clusterdown, loading, busy, masterdown, readonly, unblocked, connection, timeout, pool_exhausted, slot_not_covered, breaker_open`},
		{"delays=tryagain:5ms,tryagain:6ms", "retry: invalid delays=tryagain:5ms,tryagain:6ms: tryagain given twice"},
		{"delays=loading:5", `retry: invalid delays=loading:5: loading: missing unit, write for example "50ms" or "2s"`},
		{"delays=loading:5s", "retry: invalid delays=loading:5s: greater than max_backoff (1s)"},
		{"delays=loading:-5s", "retry: invalid delays=loading:-5s: must not be negative"},
		{"budget_max_tokens=0.5", "retry: invalid budget_max_tokens=0.5: must be between 1 and 1e6"},
		{"budget_token_ratio=-1", "retry: invalid budget_token_ratio=-1: must be above 0 and at most budget_max_tokens (1000)"},
		{"budget_max_tokens=10&budget_token_ratio=11", "retry: invalid budget_token_ratio=11: must be above 0 and at most budget_max_tokens (10)"},
		{"breaker_failure_limit=-1", "retry: invalid breaker_failure_limit=-1: must not be negative (0 means 5)"},
		{"breaker_pause=-1s", "retry: invalid breaker_pause=-1s: must not be negative (0 means 2s)"},
		{"breaker_max_nodes=-1", "retry: invalid breaker_max_nodes=-1: must not be negative (0 means 1024)"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			require.NoError(t, err)
			_, err = FromQuery(q)
			require.EqualError(t, err, tt.want)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			assert.NotEmpty(t, ce.Field)
		})
	}
	_, err := ParseURL("redis://h:1?dial_timeout=2s")
	assert.EqualError(t, err, "retry: invalid dial_timeout=2s: unknown parameter (redirect.ParseURL reads a connection string with go-redis's parameters too); known: "+strings.Join(Params(), ", "))
	_, err = ParseURL("redis://h:1?a=%zz")
	assert.ErrorContains(t, err, "retry: ")
	_, err = ParseURL("://bad")
	assert.ErrorContains(t, err, "retry: ")
}

func TestJSONRoundTrip(t *testing.T) {
	data, err := json.Marshal(full)
	require.NoError(t, err)
	assert.JSONEq(t, `{
		"max_redirects": 8, "max_retries": 20, "disable_retries": true,
		"min_backoff": "50ms", "max_backoff": "2s", "multiplier": 1.5,
		"delays": {"tryagain": "5ms", "pool_exhausted": "200ms"},
		"timeout": "10s", "in_doubt": "idempotent",
		"budget": {"max_tokens": 100, "token_ratio": 0.5, "disabled": true},
		"breaker": {"failure_limit": 3, "pause": "500ms", "max_nodes": 64, "disabled": true}
	}`, string(data))
	p, err := ParseJSON(data)
	require.NoError(t, err)
	assert.Equal(t, full, p)

	data, err = json.Marshal(Policy{})
	require.NoError(t, err)
	assert.Equal(t, `{}`, string(data), "the zero policy is all defaults")
	p, err = ParseJSON([]byte(`{"budget": {}, "breaker": {}}`))
	require.NoError(t, err)
	assert.Equal(t, Policy{}, p)
}

func TestJSONErrors(t *testing.T) {
	tests := []struct {
		json string
		want string
	}{
		{`{"max_retry": 3}`, "retry: max_retry: unknown field"},
		{`{"breaker": {"limit": 3}}`, "retry: breaker_limit: unknown field"},
		{`{"budget": {"tokens": 3}}`, "retry: budget_tokens: unknown field"},
		{`{"max_retries": "3"}`, "retry: invalid max_retries=a JSON string: want an integer"},
		{`{"max_retries": 2.5}`, "retry: invalid max_retries=a JSON number 2.5: want an integer"},
		{`{"multiplier": "2"}`, "retry: invalid multiplier=a JSON string: want a number"},
		{`{"disable_retries": 1}`, "retry: invalid disable_retries=a JSON number: want true or false"},
		{`{"breaker": {"failure_limit": "3"}}`, "retry: invalid breaker_failure_limit=a JSON string: want an integer"},
		{`{"budget": {"disabled": "yes"}}`, "retry: invalid budget_disabled=a JSON string: want true or false"},
		{`{"budget": []}`, "retry: invalid budget=an array: want an object"},
		{`{"breaker": 5}`, "retry: invalid breaker=a number: want an object"},
		{`{"delays": ["tryagain"]}`, "retry: invalid delays=an array: want an object"},
		{`{"delays": {"busy": "1ms", "busy": "2ms"}}`, "retry: invalid delays=busy: busy given twice"},
		{`{"in_doubt": 3}`, `retry: invalid in_doubt=a JSON number: want one of "readonly", "never", "idempotent", "always"`},
		{`{"delays": {"busy": 5}}`, `retry: invalid delays=a JSON number: want a string (durations are written "50ms")`},
		{`{"min_backoff": 50}`, `retry: invalid min_backoff=a JSON number: want a string (durations are written "50ms")`},
		{`{"breaker": {"pause": 2}}`, `retry: invalid breaker_pause=a JSON number: want a string (durations are written "50ms")`},
		{`{"min_backoff": "50"}`, `retry: invalid min_backoff=50: missing unit, write for example "50ms" or "2s"`},
		{`{"breaker": {"pause": "x"}}`, `retry: invalid breaker_pause=x: not a duration, write for example "50ms" or "2s"`},
		{`{"delays": {"moved": "1ms"}}`, `retry: invalid delays=moved: "moved" is not a retryable kind; want one of tryagain, clusterdown, loading, busy, masterdown, readonly, unblocked, connection, timeout, pool_exhausted, slot_not_covered, breaker_open`},
		{`{"delays": {"tryagain": "1ms", "TRYAGAIN": "2ms"}}`, "retry: invalid delays=tryagain: tryagain given twice"},
		{`{"delays": {"busy": "1"}}`, `retry: invalid delays=1: missing unit, write for example "50ms" or "2s"`},
		{`{"in_doubt": "maybe"}`, `retry: invalid in_doubt=maybe: want "readonly", "never", "idempotent" or "always"`},
		{`{"max_redirects": -1}`, "retry: invalid max_redirects=-1: must not be negative (0 means 16)"},
		{`{"max_redirects": 1} {"max_redirects": 2}`, "retry: trailing data after the JSON value"},
		{`{"max_redirects": 1`, "retry: invalid JSON: unexpected end of input"},
		{`{"max_redirects": 1,}`, "retry: invalid JSON at byte 20 of 21: invalid character '}' looking for beginning of object key string"},
		{`{"max_redirects" 1}`, "retry: invalid JSON at byte 17 of 19: expected colon after object key"},
		{`[]`, "retry: want a JSON object, got an array"},
		{`"max_retries=3"`, "retry: want a JSON object, got a string"},
		{`null`, "retry: want a JSON object, got null"},
		{``, `retry: empty input: want a JSON object such as {"max_retries":20}, or {} for every default`},
		{" \n\t", `retry: empty input: want a JSON object such as {"max_retries":20}, or {} for every default`},

		// Names are exact: encoding/json alone matches them in any case.
		{`{"Timeout": "5s"}`, `retry: Timeout: unknown field; did you mean "timeout"? (names are exact, lower case)`},
		{`{"MaxRetries": 5}`, `retry: MaxRetries: unknown field; did you mean "max_retries"? (names are exact, lower case)`},
		{`{"IN_DOUBT": "always"}`, `retry: IN_DOUBT: unknown field; did you mean "in_doubt"? (names are exact, lower case)`},
		{`{"breaker": {"Pause": "1s"}}`, `retry: breaker_Pause: unknown field; did you mean "pause"? (names are exact, lower case)`},
		{`{"budget": {"maxTokens": 10}}`, `retry: budget_maxTokens: unknown field; did you mean "max_tokens"? (names are exact, lower case)`},
		{`{"Budget": {}}`, `retry: Budget: unknown field; did you mean "budget"? (names are exact, lower case)`},

		// The URL's flattened names are nested objects in JSON.
		{`{"budget_max_tokens": 100}`, `retry: budget_max_tokens: unknown field; did you mean {"budget":{"max_tokens":…}}? (the URL name budget_max_tokens is a nested object in JSON)`},
		{`{"breaker_pause": "1s"}`, `retry: breaker_pause: unknown field; did you mean {"breaker":{"pause":…}}? (the URL name breaker_pause is a nested object in JSON)`},
		{`{"breakerFailureLimit": 3}`, `retry: breakerFailureLimit: unknown field; did you mean {"breaker":{"failure_limit":…}}? (the URL name breaker_failure_limit is a nested object in JSON)`},

		// encoding/json alone keeps the last of a repeated name.
		{`{"timeout": "1s", "timeout": "2s"}`, "retry: timeout: given twice"},
		{`{"breaker": {"pause": "1s", "pause": "2s"}}`, "retry: breaker_pause: given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			_, err := ParseJSON([]byte(tt.json))
			require.EqualError(t, err, tt.want)
			assert.NotContains(t, err.Error(), "json:", "encoding/json's own wording stays out")
			assert.NotContains(t, err.Error(), "Go ", "no Go type is named")
			assert.NotContains(t, err.Error(), "retry.", "no Go type is named")
		})
	}
}

func TestJSONNull(t *testing.T) {
	var cfg struct {
		Retry Policy `json:"retry"`
	}
	cfg.Retry.MaxRetries = 7
	require.NoError(t, json.Unmarshal([]byte(`{"retry": null}`), &cfg))
	assert.Equal(t, 7, cfg.Retry.MaxRetries, "null leaves the value as it was, as for encoding/json's own types")
	p, err := ParseJSON([]byte(`{"budget": null, "breaker": null, "delays": null}`))
	require.NoError(t, err)
	assert.Equal(t, Policy{}, p)
}

func TestJSONEmbedded(t *testing.T) {
	var cfg struct {
		Addrs []string `json:"addrs"`
		Retry Policy   `json:"retry"`
	}
	err := json.Unmarshal([]byte(`{"addrs": ["a:1"], "retry": {"max_retries": 5, "breaker": {"pause": "1s"}}}`), &cfg)
	require.NoError(t, err)
	assert.Equal(t, Policy{MaxRetries: 5, Breaker: BreakerConfig{Pause: time.Second}}, cfg.Retry)

	err = json.Unmarshal([]byte(`{"retry": {"max_retries": 5, "nope": 1}}`), &cfg)
	var ce *ConfigError
	require.ErrorAs(t, err, &ce, "strict inside a caller's own config too")
	assert.Equal(t, "nope", ce.Field)

	err = json.Unmarshal([]byte(`{"retry": {"Max_Retries": 5}}`), &cfg)
	require.ErrorAs(t, err, &ce, "exact names inside a caller's own config too")
	assert.Equal(t, "Max_Retries", ce.Field)
}

func TestInDoubtModeText(t *testing.T) {
	for _, m := range []InDoubtMode{InDoubtNever, InDoubtIdempotent, InDoubtAlways} {
		b, err := m.MarshalText()
		require.NoError(t, err)
		var back InDoubtMode
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, m, back)
	}
	_, err := InDoubtMode(9).MarshalText()
	assert.EqualError(t, err, "retry: invalid in_doubt=InDoubtMode(9): unknown mode")
	assert.EqualError(t, Policy{InDoubt: 9}.Validate(), `retry: invalid in_doubt=InDoubtMode(9): want "readonly", "never", "idempotent" or "always"`)
}

func TestValidateDelaysKeys(t *testing.T) {
	err := Policy{Delays: map[classify.Kind]time.Duration{classify.KindWrongType: time.Millisecond}}.Validate()
	require.EqualError(t, err, "retry: invalid delays=WRONGTYPE: not a retryable kind; want one of tryagain, clusterdown, loading, busy, masterdown, readonly, unblocked, connection, timeout, pool_exhausted, slot_not_covered, breaker_open")
	var ce *ConfigError
	require.True(t, errors.As(err, &ce))
	assert.Equal(t, "delays", ce.Field)
	require.NoError(t, Policy{Delays: map[classify.Kind]time.Duration{classify.KindBusy: time.Second}}.Validate())
}

func TestBackoffDefaultsFollowTheOtherBound(t *testing.T) {
	p, err := ParseURL("?max_backoff=20ms")
	require.NoError(t, err)
	assert.Equal(t, 20*time.Millisecond, p.Ceiling(classify.KindBusy, 0), "the default minimum drops to max_backoff")
	p, err = ParseURL("?min_backoff=2s")
	require.NoError(t, err)
	assert.Equal(t, 2*time.Second, p.Ceiling(classify.KindBusy, 3), "the default maximum rises to min_backoff")
	_, err = ParseURL("?min_backoff=2s&delays=busy:3s")
	assert.EqualError(t, err, "retry: invalid delays=busy:3s: greater than max_backoff (2s)")
}

func TestParams(t *testing.T) {
	names := Params()
	assert.Len(t, names, 16)
	assert.Contains(t, names, "max_redirects")
	assert.IsNonDecreasing(t, names)
}
