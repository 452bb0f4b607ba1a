package clustertest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Bounds on a request, as a real server's proto-max-bulk-len and its
// limit on the number of arguments guard it.
const (
	maxArgs    = 1 << 20
	maxBulkLen = 512 << 20
)

// protocolError is a malformed request; the node answers it and closes the
// connection, as a real server does.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return "ERR Protocol error: " + e.msg }

// readCommand reads one request: a RESP array of bulk strings, or an inline
// command (words on one line) as typed into telnet.
func readCommand(r *bufio.Reader) ([]string, error) {
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	if line == "" {
		return nil, nil
	}
	if line[0] != '*' {
		return strings.Fields(line), nil
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil || n > maxArgs {
		return nil, &protocolError{"invalid multibulk length"}
	}
	if n <= 0 {
		return nil, nil
	}
	args := make([]string, n)
	for i := range args {
		head, err := readLine(r)
		if err != nil {
			return nil, err
		}
		if head == "" || head[0] != '$' {
			got := "end of line"
			if head != "" {
				got = strconv.QuoteRune(rune(head[0]))
			}
			return nil, &protocolError{fmt.Sprintf("expected '$', got %s", got)}
		}
		size, err := strconv.Atoi(head[1:])
		if err != nil || size < 0 || size > maxBulkLen {
			return nil, &protocolError{"invalid bulk length"}
		}
		// Grow with the data that arrives rather than trust the length.
		var buf bytes.Buffer
		if _, err := io.CopyN(&buf, r, int64(size)+2); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		b := buf.Bytes()
		if b[size] != '\r' || b[size+1] != '\n' {
			return nil, &protocolError{"bulk string not terminated by CRLF"}
		}
		args[i] = string(b[:size])
	}
	return args, nil
}

// readLine reads one CRLF-terminated line without its terminator.
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), nil
}
