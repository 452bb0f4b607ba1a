package clustertest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func encode(args []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

func TestReadCommand(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{"array", "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", []string{"GET", "k"}, ""},
		{"binary-safe", "*1\r\n$4\r\na\r\nb\r\n", []string{"a\r\nb"}, ""},
		{"empty bulk", "*1\r\n$0\r\n\r\n", []string{""}, ""},
		{"inline", "SET k v\r\n", []string{"SET", "k", "v"}, ""},
		{"inline without CR", "PING\n", []string{"PING"}, ""},
		{"empty array", "*0\r\n", nil, ""},
		{"blank line", "\r\n", nil, ""},
		{"not a bulk", "*1\r\n+PING\r\n", nil, "ERR Protocol error: expected '$', got '+'"},
		{"bad count", "*x\r\n", nil, "ERR Protocol error: invalid multibulk length"},
		{"huge count", "*99999999\r\n", nil, "ERR Protocol error: invalid multibulk length"},
		{"bad length", "*1\r\n$-5\r\n", nil, "ERR Protocol error: invalid bulk length"},
		{"missing CRLF", "*1\r\n$1\r\nabc", nil, "ERR Protocol error: bulk string not terminated by CRLF"},
		{"cut short", "*2\r\n$3\r\nGET\r\n", nil, "EOF"},
		{"cut in a bulk", "*1\r\n$3\r\nGE", nil, "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readCommand(bufio.NewReader(strings.NewReader(tt.in)))
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// FuzzReadCommand checks that any input gives a command or an error, never
// a panic, and that a command read back from its own encoding is the same.
func FuzzReadCommand(f *testing.F) {
	f.Add([]byte("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"))
	f.Add([]byte("PING\r\n"))
	f.Add([]byte("*1\r\n$-1\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		args, err := readCommand(bufio.NewReader(strings.NewReader(string(in))))
		var pe *protocolError
		if err != nil && !errors.As(err, &pe) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
		if err != nil || len(args) == 0 {
			return
		}
		again, err := readCommand(bufio.NewReader(strings.NewReader(encode(args))))
		require.NoError(t, err)
		assert.Equal(t, args, again)
	})
}
