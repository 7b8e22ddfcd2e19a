package workflow

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SystemMail is mail of Loket itself to its operator (alerts): it belongs
// to no ticket, but goes through the outbox like every other mail, so it
// survives a restart and is retried.
type SystemMail struct {
	Purpose  string // e.g. "alert"
	FromName string
	From     string
	To       []string
	Subject  string
	Body     string
}

// EnqueueSystemMail queues m and returns its outbox id. The caller kicks
// the sender.
func (s *Store) EnqueueSystemMail(m SystemMail, now time.Time) (uint64, error) {
	if len(m.To) == 0 || m.From == "" {
		return 0, errors.New("system mail needs a sender and a recipient")
	}
	e := &OutboxEntry{
		Purpose: m.Purpose, Automatic: true, FromName: m.FromName, From: m.From, To: m.To,
		Subject: m.Subject, Body: m.Body, MessageID: newMessageID("system", m.From, now), Date: now,
		Status: OutboxQueued, NextAttempt: now,
	}
	if _, err := renderRaw(e); err != nil {
		return 0, fmt.Errorf("system mail %q: %w", m.Subject, err)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		ob := tx.Bucket(bucketOutbox)
		id, err := ob.NextSequence()
		if err != nil {
			return fmt.Errorf("outbox sequence: %w", err)
		}
		e.ID = id
		if err := putJSON(ob, itob(id), e); err != nil {
			return err
		}
		return tx.Bucket(bucketOutboxPending).Put(itob(id), nil)
	})
	if err != nil {
		return 0, fmt.Errorf("queue system mail %q: %w", m.Subject, err)
	}
	return e.ID, nil
}
