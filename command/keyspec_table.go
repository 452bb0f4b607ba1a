package command

import (
	"sync"
	"sync/atomic"
)

// Table finds the keys of commands: the static table first, then the key
// specs it learned from a server (Learn) for the commands the static table
// does not know, such as module commands. Reads take no lock; the zero value
// is not usable, use NewTable.
type Table struct {
	// learned holds the learned commands by lower-case name, replaced whole
	// (copy on write) on every Learn; a nil *command records a name the
	// server did not know either, so it is not asked for again.
	learned atomic.Pointer[learnedIndex]

	mu       sync.Mutex            // protects inflight and the writes to learned
	inflight map[string]*learnCall // fetches under way, by lower-case name
}

// DefaultTable is the table Keys, KeysStrings and SlotOf consult.
// Learn on it teaches them module and newer commands.
var DefaultTable = NewTable()

// NewTable returns a table that knows the static commands and has learned
// nothing yet.
func NewTable() *Table {
	t := &Table{inflight: map[string]*learnCall{}}
	empty := learnedIndex{}
	t.learned.Store(&empty)
	return t
}
