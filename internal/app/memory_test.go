package app

import (
	"io"
	"log/slog"
	"math"
	"runtime/debug"
	"testing"

	"github.com/poraad/loket/config"
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

// gcPercent reads Go's GOGC without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p
}

func TestSetGCPercent(t *testing.T) {
	before := gcPercent()
	t.Setenv("GOGC", "")
	restore := SetGCPercent(0, nil)
	if got := gcPercent(); got != config.DefaultGCPercent {
		t.Errorf("GOGC %d with no setting, want the default %d", got, config.DefaultGCPercent)
	}
	restore()
	if got := gcPercent(); got != before {
		t.Errorf("GOGC %d after restore, want %d", got, before)
	}
	t.Setenv("GOGC", "150")
	restore = SetGCPercent(0, nil)
	if got := gcPercent(); got != before {
		t.Errorf("GOGC in the environment: default changed it to %d", got)
	}
	restore()
	restore = SetGCPercent(250, nil)
	if got := gcPercent(); got != 250 {
		t.Errorf("gc_percent 250 set GOGC %d", got)
	}
	restore()
	if got := gcPercent(); got != before {
		t.Errorf("GOGC %d after restore, want %d", got, before)
	}
}
