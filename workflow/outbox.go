package workflow

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// OutboxStatus is where an outbox entry is.
type OutboxStatus string

const (
	OutboxQueued OutboxStatus = "queued" // waiting for (another) attempt
	OutboxSent   OutboxStatus = "sent"   // accepted by the SMTP server
	OutboxFailed OutboxStatus = "failed" // permanent failure or attempts exhausted
)

// OutboxEntry is one mail to send. Everything that goes into the message,
// its Message-ID and Date included, is fixed when the entry is queued, so a
// retry sends the same message.
type OutboxEntry struct {
	ID        uint64   `json:"id"`
	TicketRef string   `json:"ticket_ref"`
	Purpose   string   `json:"purpose"`   // "confirmation", "reply", ...
	Automatic bool     `json:"automatic"` // sent without a person: Auto-Submitted: auto-replied
	FromName  string   `json:"from_name"`
	From      string   `json:"from"`
	To        []string `json:"to"`
	Cc        []string `json:"cc,omitempty"`
	Subject   string   `json:"subject"`
	Body      string   `json:"body"`
	// HTML is the HTML alternative of Body; empty for none (entries queued
	// before it existed).
	HTML string `json:"html,omitempty"`
	// ICS is an iCalendar object sent as a text/calendar alternative with
	// ICSMethod (REQUEST, CANCEL) and as an .ics attachment.
	ICS         string       `json:"ics,omitempty"`
	ICSMethod   string       `json:"ics_method,omitempty"`
	MessageID   string       `json:"message_id"`
	InReplyTo   string       `json:"in_reply_to,omitempty"`
	References  []string     `json:"references,omitempty"`
	ThreadTopic string       `json:"thread_topic,omitempty"`
	ThreadIndex string       `json:"thread_index,omitempty"`
	Date        time.Time    `json:"date"`
	MessageSeq  uint64       `json:"message_seq"`
	Status      OutboxStatus `json:"status"`
	Attempts    int          `json:"attempts"`
	LastAttempt time.Time    `json:"last_attempt,omitzero"`
	NextAttempt time.Time    `json:"next_attempt"`
	LastError   string       `json:"last_error,omitempty"`
	SentAt      time.Time    `json:"sent_at,omitzero"`
}

// enqueueTx stores e as a new pending outbox entry inside tx, together with
// an outbound message record on the ticket and its Message-ID in the index,
// so that a reply to it threads to the ticket even before it is sent.
func enqueueTx(tx *bolt.Tx, t *Ticket, e *OutboxEntry, now time.Time) error {
	ob := tx.Bucket(bucketOutbox)
	id, err := ob.NextSequence()
	if err != nil {
		return fmt.Errorf("outbox sequence: %w", err)
	}
	e.ID = id
	e.Status = OutboxQueued
	e.NextAttempt = now
	raw, err := renderRaw(e)
	if err != nil {
		return fmt.Errorf("render outbox entry for %s: %w", t.Ref, err)
	}
	msg := outboundMessage(e, raw)
	rec := &MessageRecord{Direction: DirOut, Mailbox: t.Mailbox, Received: now, TicketRef: t.Ref, Message: msg, OutboxID: id}
	seq, err := putMessageTx(tx, rec, raw)
	if err != nil {
		return err
	}
	e.MessageSeq = seq
	if err := putJSON(ob, itob(id), e); err != nil {
		return err
	}
	if err := tx.Bucket(bucketOutboxPending).Put(itob(id), nil); err != nil {
		return fmt.Errorf("mark outbox %d pending: %w", id, err)
	}
	t.Messages = append(t.Messages, MessageRef{Seq: seq, MessageID: e.MessageID, Direction: DirOut,
		From: e.From, Subject: e.Subject, Date: e.Date, OutboxID: id})
	return nil
}

// OutboxEntry returns one entry.
func (s *Store) OutboxEntry(id uint64) (*OutboxEntry, error) {
	var e OutboxEntry
	err := s.db.View(func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bucketOutbox), itob(id), &e) })
	if err != nil {
		return nil, fmt.Errorf("outbox entry %d: %w", id, err)
	}
	return &e, nil
}

// Outbox lists entries, newest first; pendingOnly limits it to queued ones.
func (s *Store) Outbox(pendingOnly bool) ([]OutboxEntry, error) {
	var out []OutboxEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		ob := tx.Bucket(bucketOutbox)
		add := func(k []byte) error {
			var e OutboxEntry
			if err := getJSON(ob, k, &e); err != nil {
				return err
			}
			out = append(out, e)
			return nil
		}
		if pendingOnly {
			return tx.Bucket(bucketOutboxPending).ForEach(func(k, _ []byte) error { return add(k) })
		}
		c := ob.Cursor()
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			if err := add(k); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// dueOutbox returns the pending entries whose next attempt is due at now,
// and the earliest next attempt of those not yet due (zero when none).
func (s *Store) dueOutbox(now time.Time) (due []OutboxEntry, next time.Time, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		ob := tx.Bucket(bucketOutbox)
		return tx.Bucket(bucketOutboxPending).ForEach(func(k, _ []byte) error {
			var e OutboxEntry
			if err := getJSON(ob, k, &e); err != nil {
				return err
			}
			if !e.NextAttempt.After(now) {
				due = append(due, e)
			} else if next.IsZero() || e.NextAttempt.Before(next) {
				next = e.NextAttempt
			}
			return nil
		})
	})
	return due, next, err
}

// markAttempt records, before any I/O, that attempt n of entry id starts,
// and when the next one is due should this one never report back (a crash).
func (s *Store) markAttempt(id uint64, now, next time.Time) (*OutboxEntry, error) {
	var e *OutboxEntry
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		e, err = markAttemptTx(tx, id, now, next)
		return err
	})
	return e, err
}

func markAttemptTx(tx *bolt.Tx, id uint64, now, next time.Time) (*OutboxEntry, error) {
	var e OutboxEntry
	ob := tx.Bucket(bucketOutbox)
	err := getJSON(ob, itob(id), &e)
	if err == nil && e.Status != OutboxQueued {
		err = fmt.Errorf("outbox %d is %s: %w", id, e.Status, ErrNotFound)
	}
	if err == nil {
		e.Attempts++
		e.LastAttempt = now
		e.NextAttempt = next
		err = putJSON(ob, itob(id), &e)
	}
	if err != nil {
		return nil, fmt.Errorf("record attempt of outbox %d: %w", id, err)
	}
	return &e, nil
}

// markResultTx records the outcome of an attempt. sendErr nil means the
// SMTP server accepted the message. permanent ends the entry as failed.
func markResultTx(tx *bolt.Tx, id uint64, now time.Time, sendErr error, permanent bool) error {
	ob := tx.Bucket(bucketOutbox)
	var e OutboxEntry
	if err := getJSON(ob, itob(id), &e); err != nil {
		return err
	}
	var t Ticket
	haveTicket := getJSON(tx.Bucket(bucketTickets), []byte(e.TicketRef), &t) == nil
	switch {
	case sendErr == nil:
		e.Status, e.SentAt, e.LastError = OutboxSent, now, ""
		if haveTicket {
			t.audit(now, "loket", "mail-sent", fmt.Sprintf("%s aan %s verzonden (%s)", e.Purpose, joinAddrs(e.To), e.MessageID), "")
		}
	case permanent:
		e.Status, e.LastError = OutboxFailed, sendErr.Error()
		if haveTicket {
			t.audit(now, "loket", "mail-failed", fmt.Sprintf("%s aan %s niet bezorgd na %d poging(en)", e.Purpose, joinAddrs(e.To), e.Attempts), sendErr.Error())
			t.Flags = appendOnce(t.Flags, "mail niet bezorgd: "+e.Purpose)
		}
	default:
		e.LastError = sendErr.Error()
	}
	if e.Status != OutboxQueued {
		if err := tx.Bucket(bucketOutboxPending).Delete(itob(id)); err != nil {
			return err
		}
	}
	if haveTicket && (sendErr == nil || permanent) {
		if err := putJSON(tx.Bucket(bucketTickets), []byte(t.Ref), &t); err != nil {
			return err
		}
	}
	return putJSON(ob, itob(id), &e)
}

// outboxRecord is one thing the sender records: the start of an attempt
// (Attempt, with Next) or its outcome (SendErr, Permanent).
type outboxRecord struct {
	ID        uint64
	Attempt   bool
	Now, Next time.Time
	SendErr   error
	Permanent bool
}

func (r outboxRecord) applyTx(tx *bolt.Tx) (*OutboxEntry, error) {
	if r.Attempt {
		return markAttemptTx(tx, r.ID, r.Now, r.Next)
	}
	if err := markResultTx(tx, r.ID, r.Now, r.SendErr, r.Permanent); err != nil {
		return nil, fmt.Errorf("record result of outbox %d: %w", r.ID, err)
	}
	return nil, nil
}

// recordOutbox applies records of different entries in one transaction,
// one fsync for all, and returns per record the entry (for an attempt)
// and the error. When one fails, the transaction is dropped and each
// record applied in a transaction of its own, so that one record's error
// never affects another.
func (s *Store) recordOutbox(recs []outboxRecord) ([]*OutboxEntry, []error) {
	entries := make([]*OutboxEntry, len(recs))
	errs := make([]error, len(recs))
	err := s.db.Update(func(tx *bolt.Tx) error {
		for i, r := range recs {
			e, err := r.applyTx(tx)
			if err != nil {
				return err
			}
			entries[i] = e
		}
		return nil
	})
	if err == nil {
		return entries, errs
	}
	if len(recs) == 1 {
		errs[0] = err
		return []*OutboxEntry{nil}, errs
	}
	for i, r := range recs {
		entries[i] = nil
		errs[i] = s.db.Update(func(tx *bolt.Tx) error {
			var err error
			entries[i], err = r.applyTx(tx)
			return err
		})
	}
	return entries, errs
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
