package workflow

// backlog.go is the workflow's half of a mailbox's first start
// (intake/backlog.go): storing the first cursor, and taking the backlog as
// tickets that get no mail.

import (
	"context"
	"errors"

	bolt "go.etcd.io/bbolt"

	"github.com/poraad/loket/intake"
)

// AuditImported is the audit text of a ticket or message taken from the
// backlog without a confirmation.
const AuditImported = "geïmporteerd zonder bevestiging"

var _ intake.CursorStarter = (*Service)(nil)

// StartCursor implements intake.CursorStarter.
func (s *Service) StartCursor(_ context.Context, mailbox string, c intake.Cursor) (intake.Cursor, error) {
	return s.Store.StartCursor(mailbox, c)
}

// StartCursor stores c as the mailbox's cursor unless one is stored, and
// returns the cursor stored afterwards.
func (s *Store) StartCursor(mailbox string, c intake.Cursor) (intake.Cursor, error) {
	var out intake.Cursor
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCursors)
		err := getJSON(b, []byte(mailbox), &out)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		out = c
		return putJSON(b, []byte(mailbox), c)
	})
	return out, err
}
