package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/poraad/loket/workflow"
)

// scheduleBackups writes a backup into dir every interval until ctx is
// done, keeping the newest keep copies. A failure is logged at ERROR and
// tried again at the next interval.
func scheduleBackups(ctx context.Context, st *workflow.Store, dir string, interval time.Duration, keep int, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			path, err := st.RotateBackups(dir, keep, now)
			if err != nil {
				log.Error("scheduled backup failed", "dir", dir, "err", err)
				continue
			}
			log.Info("scheduled backup written", "path", path)
		}
	}
}
