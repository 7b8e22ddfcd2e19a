package app

import (
	"io"
	"log/slog"
	"math"
	"runtime/debug"
	"testing"
)

func TestSetMemoryLimit(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	before := debug.SetMemoryLimit(-1) // -1 reads it
	restore := setMemoryLimit(0, log)
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit 0 changed the memory limit to %d", got)
	}
	restore()
	restore = setMemoryLimit(512<<20, log)
	if got := debug.SetMemoryLimit(-1); got != 512<<20 {
		t.Errorf("memory limit %d, want %d", got, 512<<20)
	}
	restore()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("memory limit %d after restore, want %d", got, before)
	}
	if before != math.MaxInt64 {
		t.Logf("GOMEMLIMIT in the environment: %d", before)
	}
}
