package config

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// runtime.memory_limit: none by default, a size when set, and a limit too
// small to run in refused with its key and line.
func TestRuntimeMemoryLimit(t *testing.T) {
	base, err := os.ReadFile("testdata/valid.toml")
	if err != nil {
		t.Fatal(err)
	}
	parse := func(extra string) (*Config, error) {
		return Parse([]byte(string(base)+"\n[runtime]\n"+extra), "testdata/valid.toml")
	}
	for _, tt := range []struct {
		extra string
		want  int64
	}{
		{"", 0},
		{"memory_limit = \"0\"\n", 0},
		{"memory_limit = \"512MiB\"\n", 512 << 20},
		{"memory_limit = \"1GB\"\n", 1000 * 1000 * 1000},
	} {
		c, err := parse(tt.extra)
		if err != nil {
			t.Fatalf("%q: %v", tt.extra, err)
		}
		if got := c.Runtime.MemoryLimit.Bytes(); got != tt.want {
			t.Errorf("%q: memory limit %d, want %d", tt.extra, got, tt.want)
		}
	}
	line := strconv.Itoa(strings.Count(string(base), "\n") + 3)
	for _, v := range []string{"\"16MiB\"", "\"-1GB\""} {
		_, err := parse("memory_limit = " + v + "\n")
		want := "testdata/valid.toml:" + line + ": runtime.memory_limit: must be 0 (no limit) or at least 64MiB"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("memory_limit = %s: got %v, want a problem %q", v, err, want)
		}
	}
}

// runtime.gc_percent: 0 (the default) or a percentage in bounds; out of
// bounds refused with its key and line.
func TestRuntimeGCPercent(t *testing.T) {
	base, err := os.ReadFile("testdata/valid.toml")
	if err != nil {
		t.Fatal(err)
	}
	parse := func(extra string) (*Config, error) {
		return Parse([]byte(string(base)+"\n[runtime]\n"+extra), "testdata/valid.toml")
	}
	for extra, want := range map[string]int{"": 0, "gc_percent = 0\n": 0, "gc_percent = 100\n": 100, "gc_percent = 800\n": 800} {
		c, err := parse(extra)
		if err != nil {
			t.Fatalf("%q: %v", extra, err)
		}
		if got := c.Runtime.GCPercent; got != want {
			t.Errorf("%q: gc_percent %d, want %d", extra, got, want)
		}
	}
	line := strconv.Itoa(strings.Count(string(base), "\n") + 3)
	for _, v := range []string{"-1", "10", "20000"} {
		_, err := parse("gc_percent = " + v + "\n")
		want := "testdata/valid.toml:" + line + ": runtime.gc_percent: must be 0 (the default, 400) or between 50 and 10000, not " + v
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("gc_percent = %s: got %v, want a problem %q", v, err, want)
		}
	}
}
