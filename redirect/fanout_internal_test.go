package redirect

import (
	"context"
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
)

// SCRIPT KILL and FUNCTION KILL go to every primary, and only the one
// running the script can kill it: the command succeeds when any primary
// did, and fails with NOTBUSY only when none was busy.
func TestOneSucceeded(t *testing.T) {
	ctx := context.Background()
	part := func(err error) redis.Cmder {
		c := redis.NewStatusCmd(ctx, "script", "kill")
		if err != nil {
			c.SetErr(err)
		} else {
			c.SetVal("OK")
		}
		return c
	}
	notBusy := classify.Parse("NOTBUSY No scripts in execution right now.")
	refused := &classify.ClientError{Kind: classify.KindConnection, Err: errors.New("connection refused")}

	ok, err := oneSucceeded([]redis.Cmder{part(notBusy), part(nil), part(notBusy)})
	require.NoError(t, err)
	assert.Len(t, ok, 1)

	_, err = oneSucceeded([]redis.Cmder{part(notBusy), part(notBusy)})
	assert.Equal(t, classify.KindNotBusy, classify.KindOf(err))

	_, err = oneSucceeded([]redis.Cmder{part(notBusy), part(refused)})
	assert.ErrorIs(t, err, classify.ErrConnection, "a node that could not be asked says more than NOTBUSY")
}
