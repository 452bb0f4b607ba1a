package retry

import (
	"strings"

	"github.com/clusterhop/clusterhop/classify"
)

// delayKinds are the kinds Next retries after a delay, in the order the
// documentation lists them.
var delayKinds = [...]classify.Kind{
	classify.KindTryAgain,
	classify.KindClusterDown,
	classify.KindLoading,
	classify.KindBusy,
	classify.KindMasterDown,
	classify.KindReadOnly,
	classify.KindUnblocked,
	classify.KindConnection,
	classify.KindTimeout,
	classify.KindPoolExhausted,
	classify.KindSlotNotCovered,
	classify.KindBreakerOpen,
}

// DelayKinds returns the kinds that Next retries after a delay, which are
// the kinds Policy.Delays accepts as keys.
func DelayKinds() []classify.Kind { return delayKinds[:] }

func isDelayKind(k classify.Kind) bool {
	for _, d := range delayKinds {
		if d == k {
			return true
		}
	}
	return false
}

// kindKey is the name of a kind in the JSON and URL forms of Delays:
// classify's name in lower case, spaces as '_' ("tryagain",
// "pool_exhausted").
func kindKey(k classify.Kind) string {
	return strings.ReplaceAll(strings.ToLower(k.String()), " ", "_")
}

// parseKindKey reads a kind name of the Delays forms, ignoring case and
// accepting ' ' for '_'.
func parseKindKey(s string) (classify.Kind, bool) {
	s = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), " ", "_")
	for _, k := range delayKinds {
		if kindKey(k) == s {
			return k, true
		}
	}
	return 0, false
}

func delayKindList() string {
	names := make([]string, len(delayKinds))
	for i, k := range delayKinds {
		names[i] = kindKey(k)
	}
	return strings.Join(names, ", ")
}

// retryRule says whether a failure of kind k is retried after a delay and
// whether the topology should be refreshed first. Every kind it accepts
// is a failure before the command ran, except KindConnection and
// KindTimeout, which Next also checks with classify.InDoubt.
func retryRule(k classify.Kind, err error) (retry, refresh bool) {
	switch k {
	case classify.KindTryAgain:
		// A multi-key command whose keys are half migrated: the migration
		// finishes on its own and the retry gets ASK or success. The slot
		// map is right as it is.
		return true, false
	case classify.KindLoading, classify.KindBusy, classify.KindPoolExhausted:
		// The node is busy (loading its dataset, running a script) or the
		// client has no free connection: the topology did not change.
		return true, false
	case classify.KindClusterDown:
		// "Hash slot not served" means our slot map points at a node that
		// no longer has the slot; the other two reasons (cluster down,
		// cluster read-only) end when the cluster heals, wherever we ask.
		return true, classify.DownReasonOf(err) == classify.DownSlotUnbound
	case classify.KindMasterDown, classify.KindReadOnly, classify.KindUnblocked:
		// A replica lost its primary, a primary became a replica, a blocked
		// client was released because the node changed role: a failover is
		// under way and the slot map is out of date.
		return true, true
	case classify.KindConnection, classify.KindTimeout, classify.KindBreakerOpen:
		// A node that cannot be reached may have been failed over: ask the
		// other nodes who serves the slot now rather than keep dialling.
		return true, true
	case classify.KindSlotNotCovered:
		// The known topology has no node for the slot: only a refresh can
		// find one.
		return true, true
	case classify.KindMoved, classify.KindAsk, classify.KindRedirect:
		// Reaches here only when the target is unknown ("MOVED 3999 ?"):
		// the redirection cannot be followed before a refresh names the node.
		return true, true
	}
	return false, false
}
