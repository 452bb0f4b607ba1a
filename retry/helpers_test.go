package retry

import (
	"errors"
	"time"

	"github.com/clusterhop/clusterhop/classify"
)

// t0 is the start of every simulated command.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// reply is a server error reply as the redirect engine sees it.
func reply(text string) error { return classify.Parse(text) }

// clientErr is a client-side failure; sent says whether the request may
// have reached the server.
func clientErr(k classify.Kind, sent bool, text string) error {
	return &classify.ClientError{Kind: k, Sent: sent, Err: errors.New(text)}
}

// fixed returns a random source that always draws r.
func fixed(r float64) func() float64 { return func() float64 { return r } }
