package workflow

import (
	"bytes"
	"errors"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"

	"github.com/poraad/loket/intake"
)

// Filter selects tickets; empty fields match everything.
type Filter struct {
	State   State
	Type    intake.Type
	Mailbox string
}

// Tickets returns the tickets matching f, newest first.
func (s *Store) Tickets(f Filter) ([]Ticket, error) {
	var out []Ticket
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTickets).ForEach(func(k, v []byte) error {
			var t Ticket
			if err := getJSON(tx.Bucket(bucketTickets), k, &t); err != nil {
				return err
			}
			if (f.State == "" || t.State == f.State) && (f.Type == "" || t.Type == f.Type) && (f.Mailbox == "" || t.Mailbox == f.Mailbox) {
				out = append(out, t)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list tickets: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].Ref > out[j].Ref
	})
	return out, nil
}

// Ticket returns one ticket.
func (s *Store) Ticket(ref string) (*Ticket, error) {
	var t *Ticket
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		t, err = ticketTx(tx, ref)
		return err
	})
	return t, err
}

// Message returns a stored message record.
func (s *Store) Message(seq uint64) (*MessageRecord, error) {
	var rec *MessageRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		rec, err = messageTx(tx, seq)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("message %d: %w", seq, err)
	}
	return rec, nil
}

// Raw returns a copy of a stored message's raw bytes.
func (s *Store) Raw(seq uint64) ([]byte, error) {
	var raw []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v := rawTx(tx, seq)
		if v == nil {
			return ErrNotFound
		}
		raw = bytes.Clone(v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("raw message %d: %w", seq, err)
	}
	return raw, nil
}

// Unmatched returns the auto-replies and bounces that matched no ticket,
// newest first.
func (s *Store) Unmatched() ([]MessageRecord, error) {
	var out []MessageRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketUnmatched).Cursor()
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			rec, err := messageTx(tx, btoi(k))
			if err != nil {
				return err
			}
			out = append(out, *rec)
		}
		return nil
	})
	return out, err
}

// Cursor implements part of intake.Handler: the stored position of a mailbox.
func (s *Store) Cursor(mailbox string) (intake.Cursor, error) {
	var c intake.Cursor
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		c, err = cursorTx(tx, mailbox)
		return err
	})
	return c, err
}

// TicketForMessageID implements intake.Thread over the store.
func (s *Store) TicketForMessageID(id string) (string, bool) {
	var ref string
	_ = s.db.View(func(tx *bolt.Tx) error {
		ids := messageIDsOf(tx)
		v := ids.get([]byte(id))
		if v == nil {
			return nil
		}
		var rec MessageRecord
		if getJSON(tx.Bucket(bucketMessages), v, &rec) == nil {
			ref = rec.TicketRef
		}
		return nil
	})
	return ref, ref != ""
}

// HasTicket reports whether a ticket exists.
func (s *Store) HasTicket(ref string) bool {
	_, err := s.Ticket(ref)
	return err == nil
}

// Stats counts what the store holds.
type Stats struct {
	Tickets        int            `json:"tickets"`
	Messages       int            `json:"messages"`
	Unmatched      int            `json:"unmatched"`
	OutboxPending  int            `json:"outbox_pending"`
	TicketsByState map[State]int  `json:"tickets_by_state"`
	Cursors        map[string]any `json:"cursors"`
}

// Stats returns counts for health and the CLI.
func (s *Store) Stats() (Stats, error) {
	st := Stats{TicketsByState: map[State]int{}, Cursors: map[string]any{}}
	err := s.db.View(func(tx *bolt.Tx) error {
		st.Messages = tx.Bucket(bucketMessages).Stats().KeyN
		st.Unmatched = tx.Bucket(bucketUnmatched).Stats().KeyN
		st.OutboxPending = tx.Bucket(bucketOutboxPending).Stats().KeyN
		if err := tx.Bucket(bucketCursors).ForEach(func(k, v []byte) error {
			var c intake.Cursor
			if err := getJSON(tx.Bucket(bucketCursors), k, &c); err != nil {
				return err
			}
			st.Cursors[string(k)] = c
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketTickets).ForEach(func(k, v []byte) error {
			var t struct {
				State State `json:"state"`
			}
			if err := getJSON(tx.Bucket(bucketTickets), k, &t); err != nil {
				return err
			}
			st.Tickets++
			st.TicketsByState[t.State]++
			return nil
		})
	})
	return st, err
}

// IsNotFound reports whether err means something does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
