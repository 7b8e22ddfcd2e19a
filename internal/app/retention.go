package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/poraad/loket/workflow"
)

// scheduleRetention purges the mail of tickets closed more than months
// ago (workflow/retention.go): once shortly after start, then daily. A
// failure is logged at ERROR and tried again the next day.
func scheduleRetention(ctx context.Context, st *workflow.Store, months int, log *slog.Logger) {
	wait := time.Minute
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case now := <-t.C:
			res, err := st.PurgeClosed(now.AddDate(0, -months, 0), months, now)
			if err != nil {
				log.Error("retention purge failed", "err", err)
			} else if res.Tickets > 0 {
				log.Info("retention purge done", "tickets", res.Tickets, "messages", res.Messages)
			}
		}
		wait = 24 * time.Hour
	}
}
