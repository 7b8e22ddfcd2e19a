package workflow

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/poraad/loket/intake"
)

// NotUnmatchedError is returned when a message is not (any longer) among
// the unmatched ones.
type NotUnmatchedError struct{ Seq uint64 }

func (e *NotUnmatchedError) Error() string {
	return fmt.Sprintf("message %d is not an unmatched message", e.Seq)
}

// AttachUnmatched moves an unmatched message (an auto-reply or bounce that
// matched no ticket) onto a ticket, on a person's word: the message joins
// the ticket's thread, the ticket's audit log records it, a bounce flags
// the ticket, and replies to the message thread to the ticket from now on.
func (s *Store) AttachUnmatched(seq uint64, ref, by string, now time.Time) (*Ticket, error) {
	ref = strings.ToUpper(strings.TrimSpace(ref))
	var t *Ticket
	err := s.db.Update(func(tx *bolt.Tx) error {
		rec, err := unmatchedTx(tx, seq)
		if err != nil {
			return err
		}
		if t, err = ticketTx(tx, ref); err != nil {
			return err
		}
		rec.TicketRef = t.Ref
		if err := putJSON(tx.Bucket(bucketMessages), itob(seq), rec); err != nil {
			return err
		}
		if err := tx.Bucket(bucketUnmatched).Delete(itob(seq)); err != nil {
			return fmt.Errorf("unmark unmatched %d: %w", seq, err)
		}
		m := rec.Message
		if m == nil {
			m = &intake.Message{}
		}
		ref := MessageRef{Seq: seq, MessageID: m.MessageID, Direction: DirIn, From: m.From.Address, Subject: m.Subject, Date: m.Date}
		if rec.Class != nil {
			ref.Kind = rec.Class.Kind
			if rec.Class.Kind == intake.KindBounce {
				t.Bounced = true
				t.Flags = appendOnce(t.Flags, "mail gebounced")
			}
		}
		t.Messages = append(t.Messages, ref)
		t.audit(now, by, "attach", fmt.Sprintf("los bericht <%s> van %s aan dit ticket gekoppeld", m.MessageID, m.From.Address), m.Subject)
		return putTicketTx(tx, t)
	})
	if err != nil {
		return nil, fmt.Errorf("attach message %d to %s: %w", seq, ref, err)
	}
	return t, nil
}

// DismissUnmatched marks an unmatched message as dealt with: it stays
// stored (and its raw bytes) but leaves the unmatched list.
func (s *Store) DismissUnmatched(seq uint64) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		rec, err := unmatchedTx(tx, seq)
		if err != nil {
			return err
		}
		rec.Dismissed = true
		if err := putJSON(tx.Bucket(bucketMessages), itob(seq), rec); err != nil {
			return err
		}
		return tx.Bucket(bucketUnmatched).Delete(itob(seq))
	})
	if err != nil {
		return fmt.Errorf("dismiss message %d: %w", seq, err)
	}
	return nil
}

func unmatchedTx(tx *bolt.Tx, seq uint64) (*MessageRecord, error) {
	if !hasKey(tx.Bucket(bucketUnmatched), itob(seq)) {
		return nil, &NotUnmatchedError{Seq: seq}
	}
	var rec MessageRecord
	if err := getJSON(tx.Bucket(bucketMessages), itob(seq), &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// hasKey reports whether b holds key (values may be empty).
func hasKey(b *bolt.Bucket, key []byte) bool {
	k, _ := b.Cursor().Seek(key)
	return k != nil && bytes.Equal(k, key)
}
