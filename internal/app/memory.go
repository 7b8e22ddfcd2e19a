package app

import (
	"log/slog"
	"runtime/debug"
)

// setMemoryLimit sets Go's soft memory limit to limit bytes when it is
// above 0 ([runtime] memory_limit) and returns a function that restores
// the one before. 0 leaves it alone: none, or GOMEMLIMIT from the
// environment. Big messages need no limit: the poller returns their memory
// as soon as each is stored (intake/batch.go).
func setMemoryLimit(limit int64, log *slog.Logger) (restore func()) {
	if limit <= 0 {
		return func() {}
	}
	prev := debug.SetMemoryLimit(limit)
	log.Info("memory limit set", "bytes", limit)
	return func() { debug.SetMemoryLimit(prev) }
}
