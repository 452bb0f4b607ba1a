package classify_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seedsDir holds the exception hierarchies of redis-py and valkey-py. It
// lives beside the repository, not in it.
var seedsDir = filepath.Join("..", "..", "shared", "seeds")

// TestParityTable checks that the table in doc.go has one row for every
// exception class of redis-py and valkey-py, and that the row says which
// library defines it.
func TestParityTable(t *testing.T) {
	if _, err := os.Stat(seedsDir); os.IsNotExist(err) {
		t.Skipf("%s is absent: the parity table cannot be checked", seedsDir)
	}
	rows := parityRows(t)
	libs := map[string]string{
		"redis":  "redis-py-exceptions.txt",
		"valkey": "valkey-py-exceptions.txt",
	}
	classRE := regexp.MustCompile(`exception (redis|valkey)\.exceptions\.([A-Za-z]+)`)
	definedBy := map[string]map[string]bool{} // class -> libraries
	total := 0
	for lib, file := range libs {
		data, err := os.ReadFile(filepath.Join(seedsDir, file))
		require.NoError(t, err)
		matches := classRE.FindAllStringSubmatch(string(data), -1)
		require.NotEmpty(t, matches, "%s lists no exception class", file)
		for _, m := range matches {
			require.Equal(t, lib, m[1], "%s: a class of another library", file)
			class := m[2]
			if definedBy[class] == nil {
				definedBy[class] = map[string]bool{}
			}
			definedBy[class][lib] = true
			total++
			row, ok := rows[class]
			if !assert.True(t, ok, "doc.go: no parity row for %s.exceptions.%s", lib, class) {
				continue
			}
			assert.True(t, row.in == lib || row.in == "both",
				"doc.go: row %s says %q, but %s defines it", class, row.in, lib)
			assert.NotEmpty(t, row.counterpart, "doc.go: row %s has no Go counterpart or reason", class)
		}
	}
	assert.Greater(t, total, 30)
	for class, row := range rows {
		libs := definedBy[class]
		assert.NotEmpty(t, libs, "doc.go: row %s names a class neither library defines", class)
		if row.in == "both" {
			assert.Len(t, libs, 2, "doc.go: row %s says both, but only %v define it", class, libs)
		}
	}
}

type parityRow struct{ in, counterpart string }

// parityRows reads the rows of the parity table: tab-indented comment
// lines under the "Class ... In ... Go counterpart" heading.
func parityRows(t *testing.T) map[string]parityRow {
	t.Helper()
	data, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	rows := map[string]parityRow{}
	inTable := false
	for _, line := range strings.Split(string(data), "\n") {
		body, ok := strings.CutPrefix(line, "//\t")
		if !ok {
			if inTable {
				break
			}
			continue
		}
		fields := strings.Fields(body)
		if len(fields) >= 2 && fields[0] == "Class" && fields[1] == "In" {
			inTable = true
			continue
		}
		if !inTable || len(fields) < 3 {
			continue
		}
		_, dup := rows[fields[0]]
		require.False(t, dup, "doc.go: two rows for %s", fields[0])
		rows[fields[0]] = parityRow{in: fields[1], counterpart: strings.Join(fields[2:], " ")}
	}
	require.NotEmpty(t, rows, "doc.go: no parity table")
	return rows
}
