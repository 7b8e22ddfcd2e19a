package app

import (
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/poraad/loket/config"
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

// SetGCPercent sets Go's GOGC to percent, or to config.DefaultGCPercent
// when percent is 0, and returns a function that restores the one before.
// A GOGC in the environment wins over the default, not over a percent
// set in the configuration.
func SetGCPercent(percent int, log *slog.Logger) (restore func()) {
	if percent == 0 {
		if os.Getenv("GOGC") != "" {
			return func() {}
		}
		percent = config.DefaultGCPercent
	}
	prev := debug.SetGCPercent(percent)
	if log != nil {
		log.Debug("garbage collection percent set", "gc_percent", percent)
	}
	return func() { debug.SetGCPercent(prev) }
}
