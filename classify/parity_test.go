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

// seedClassesFile is the project's list of the exception classes of
// redis-py and valkey-py that the parity table in doc.go must cover.
const seedClassesFile = "testdata/seed-classes.txt"

// seedsDir holds the libraries' exception documentation the list was taken
// from. It lives beside the repository, not in it: where it is present the
// list is checked against it.
var seedsDir = filepath.Join("..", "..", "shared", "seeds")

var seedDocs = map[string]string{
	"redis":  "redis-py-exceptions.txt",
	"valkey": "valkey-py-exceptions.txt",
}

// seedClasses reads seedClassesFile: class name → the libraries defining it.
func seedClasses(t *testing.T) map[string]map[string]bool {
	t.Helper()
	data, err := os.ReadFile(seedClassesFile)
	require.NoError(t, err)
	out := map[string]map[string]bool{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		require.Len(t, f, 2, "%s:%d: want \"library Class\"", seedClassesFile, i+1)
		_, known := seedDocs[f[0]]
		require.True(t, known, "%s:%d: unknown library %q", seedClassesFile, i+1, f[0])
		if out[f[1]] == nil {
			out[f[1]] = map[string]bool{}
		}
		require.False(t, out[f[1]][f[0]], "%s:%d: %s %s listed twice", seedClassesFile, i+1, f[0], f[1])
		out[f[1]][f[0]] = true
	}
	return out
}

// TestParityTable checks that the table in doc.go has one row for every
// exception class of redis-py and valkey-py in seedClassesFile, that the
// row says which library defines it, and that it names a Go counterpart.
func TestParityTable(t *testing.T) {
	rows := parityRows(t)
	classes := seedClasses(t)
	total := 0
	for class, libs := range classes {
		for lib := range libs {
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
		libs := classes[class]
		assert.NotEmpty(t, libs, "doc.go: row %s names a class neither library defines", class)
		if row.in == "both" {
			assert.Len(t, libs, 2, "doc.go: row %s says both, but only %v define it", class, libs)
		}
	}
}

// TestSeedClassesMatchSeeds checks seedClassesFile against the libraries'
// exception documentation, where it is present. CI must have it: there its
// absence fails the test instead of skipping it.
func TestSeedClassesMatchSeeds(t *testing.T) {
	if _, err := os.Stat(seedsDir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is absent (%v): CI checks %s against it", seedsDir, err, seedClassesFile)
		}
		t.Skipf("NOTICE: %s is absent: %s is not checked against the libraries' documentation (the parity table is still checked against the list)", seedsDir, seedClassesFile)
	}
	classRE := regexp.MustCompile(`exception (redis|valkey)\.exceptions\.([A-Za-z]+)`)
	fromDocs := map[string]map[string]bool{}
	for lib, file := range seedDocs {
		data, err := os.ReadFile(filepath.Join(seedsDir, file))
		require.NoError(t, err)
		matches := classRE.FindAllStringSubmatch(string(data), -1)
		require.NotEmpty(t, matches, "%s lists no exception class", file)
		for _, m := range matches {
			require.Equal(t, lib, m[1], "%s: a class of another library", file)
			if fromDocs[m[2]] == nil {
				fromDocs[m[2]] = map[string]bool{}
			}
			fromDocs[m[2]][lib] = true
		}
	}
	assert.Equal(t, fromDocs, seedClasses(t), "%s differs from the documentation in %s", seedClassesFile, seedsDir)
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
