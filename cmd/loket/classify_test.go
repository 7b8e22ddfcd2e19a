package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// realworldDir holds raw mail from the test suites of mature mail software
// (DOMAIN.md "Test data at hand"), relative to this package directory.
const realworldDir = "../../../shared/corpus/realworld"

// TestClassifyRealworld runs `loket classify --json` over every file of
// the real-world corpus: one JSON line per file, each with a kind and none
// with an error.
func TestClassifyRealworld(t *testing.T) {
	entries, err := os.ReadDir(realworldDir)
	if err != nil {
		t.Skipf("real-world corpus not present: %v", err)
	}
	args := []string{"classify", "--json"}
	for _, e := range entries {
		if e.Type().IsRegular() {
			args = append(args, filepath.Join(realworldDir, e.Name()))
		}
	}
	files := len(args) - 2
	out, errOut, err := runCmd(t, context.Background(), args...)
	if err != nil {
		t.Fatalf("classify: %v\n%s", err, errOut)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 64<<20)
	n := 0
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %d is not JSON: %v", n+1, err)
		}
		n++
		if line["kind"] == "" || line["kind"] == nil {
			t.Errorf("%v: no kind", line["file"])
		}
		if e, ok := line["error"]; ok {
			t.Errorf("%v: error %v", line["file"], e)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n != files {
		t.Errorf("%d JSON lines for %d files", n, files)
	}
}

// TestClassifyExplain explains a sample offline: the decision, a table of
// reasons with weights and the best scoring types.
func TestClassifyExplain(t *testing.T) {
	file := filepath.Join("..", "..", "intake", "testdata", "classify", "extra", "extra-002.eml")
	out, _, err := runCmd(t, context.Background(), "classify", "--explain", file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"decision:  new clinic (confidence ", "rule", "weight", "type:clinic:", "scores:    clinic "} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "corrections not shown") {
		t.Errorf("explain without --config talks about the API:\n%s", out)
	}
}
