package workflow

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// What /metrics and /readyz read of the store (internal/app/metrics.go,
// ready.go). Each function opens one short read transaction and decodes
// only the fields it needs.

// Ping reports whether the store is open and readable.
func (s *Store) Ping() error {
	return s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return errors.New("store has no meta bucket")
		}
		return nil
	})
}

// OutboxCounts counts the outbox per status and gives the queue date of
// the oldest entry still pending (zero when none is).
type OutboxCounts struct {
	ByStatus      map[OutboxStatus]int
	OldestPending time.Time
}

// OutboxCounts returns the outbox's counts.
func (s *Store) OutboxCounts() (OutboxCounts, error) {
	c := OutboxCounts{ByStatus: map[OutboxStatus]int{OutboxQueued: 0, OutboxSent: 0, OutboxFailed: 0}}
	err := s.db.View(func(tx *bolt.Tx) error {
		ob := tx.Bucket(bucketOutbox)
		return ob.ForEach(func(k, _ []byte) error {
			var e struct {
				Status OutboxStatus `json:"status"`
				Date   time.Time    `json:"date"`
			}
			if err := getJSON(ob, k, &e); err != nil {
				return err
			}
			c.ByStatus[e.Status]++
			if e.Status == OutboxQueued && (c.OldestPending.IsZero() || e.Date.Before(c.OldestPending)) {
				c.OldestPending = e.Date
			}
			return nil
		})
	})
	if err != nil {
		return OutboxCounts{}, fmt.Errorf("count outbox: %w", err)
	}
	return c, nil
}

// TimerBacklog counts the timers that have not fired: all of them, and
// those already due at now (overdue: the timer loop is behind or stopped).
func (s *Store) TimerBacklog(now time.Time) (pending, overdue int, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTimers)
		return b.ForEach(func(k, _ []byte) error {
			var t Timer
			if err := getJSON(b, k, &t); err != nil {
				return err
			}
			if !t.FiredAt.IsZero() {
				return nil
			}
			pending++
			if !t.Due.After(now) {
				overdue++
			}
			return nil
		})
	})
	if err != nil {
		return 0, 0, fmt.Errorf("count timers: %w", err)
	}
	return pending, overdue, nil
}
