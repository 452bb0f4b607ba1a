package retry

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzFromQuery: any query either fails with an error or gives a valid
// policy that survives a round trip through Values and through JSON.
func FuzzFromQuery(f *testing.F) {
	f.Add(fullQuery)
	f.Add("")
	f.Add("max_retries=0&delays=tryagain:0s")
	f.Add("delays=TRYAGAIN:1ms,%20pool%20exhausted:2ms")
	f.Add("multiplier=1e6&budget_max_tokens=1&budget_token_ratio=1")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		p, err := FromQuery(q)
		if err != nil {
			return
		}
		require.NoError(t, p.Validate())
		back, err := FromQuery(p.Values())
		require.NoError(t, err, "query %q", p.Values().Encode())
		require.Equal(t, p, back)
		data, err := json.Marshal(p)
		require.NoError(t, err)
		back, err = ParseJSON(data)
		require.NoError(t, err, "json %s", data)
		require.Equal(t, p, back)
	})
}

// FuzzParseJSON: any JSON either fails with an error or gives a valid
// policy that survives a round trip through JSON and through Values.
func FuzzParseJSON(f *testing.F) {
	data, err := json.Marshal(full)
	require.NoError(f, err)
	f.Add(string(data))
	f.Add(`{}`)
	f.Add(`{"delays": {}, "budget": {}, "breaker": {"pause": "0s"}}`)
	f.Add(`{"min_backoff": 50}`)
	f.Add(`{"max_redirects": 1} {}`)
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := ParseJSON([]byte(raw))
		if err != nil {
			return
		}
		require.NoError(t, p.Validate())
		data, err := json.Marshal(p)
		require.NoError(t, err)
		back, err := ParseJSON(data)
		require.NoError(t, err, "json %s", data)
		require.Equal(t, p, back)
		back, err = FromQuery(p.Values())
		require.NoError(t, err, "query %q", p.Values().Encode())
		require.Equal(t, p, back)
	})
}
