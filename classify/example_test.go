package classify_test

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/clusterhop/clusterhop/classify"
)

// A MOVED reply, wrapped on its way up, is still found with errors.As and
// carries the slot and the new owner.
func ExampleMovedError() {
	err := fmt.Errorf("get user:42: %w", classify.Parse("-MOVED 3999 2001:db8::1:6381\r\n"))

	var moved *classify.MovedError
	if errors.As(err, &moved) {
		host, port, _ := classify.SplitAddr(moved.Addr)
		fmt.Println("slot", moved.Slot, "now on", host, port)
	}
	fmt.Println(errors.Is(err, classify.ErrRedirect))
	// Output:
	// slot 3999 now on 2001:db8::1 6381
	// true
}

// Replies sent before the command ran, whatever their code, match
// ErrTryLater: waiting and retrying is safe even for a write.
func Example_tryLater() {
	for _, reply := range []string{
		"TRYAGAIN Multiple keys request during rehashing of slot",
		"LOADING Valkey is loading the dataset in memory",
		"CLUSTERDOWN Hash slot not served",
		"WRONGTYPE Operation against a key holding the wrong kind of value",
	} {
		err := classify.Parse(reply)
		fmt.Printf("%-11s try later: %v\n", classify.KindOf(err), errors.Is(err, classify.ErrTryLater))
	}
	// Output:
	// TRYAGAIN    try later: true
	// LOADING     try later: true
	// CLUSTERDOWN try later: true
	// WRONGTYPE   try later: false
}

// InDoubt says whether a failed command may have run: a reply error means
// it did not, a connection that broke after sending means it may have.
func ExampleInDoubt() {
	fmt.Println(classify.InDoubt(classify.Parse("READONLY You can't write against a read only replica.")))
	fmt.Println(classify.InDoubt(classify.Classify(io.ErrUnexpectedEOF)))
	fmt.Println(classify.InDoubt(classify.NotSent(context.Canceled)))
	// Output:
	// false
	// true
	// false
}

func ExampleDownReasonOf() {
	err := classify.Parse("CLUSTERDOWN The cluster is down and only accepts read commands")
	fmt.Println(classify.DownReasonOf(err))
	// Output: read only
}

func ExampleCrossSlot() {
	fmt.Println(classify.CrossSlot())
	// Output: CROSSSLOT Keys in request don't hash to the same slot
}
