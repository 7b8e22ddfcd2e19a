package workflow

import (
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/poraad/loket/intake"
)

// Correction records that a person changed a ticket's request type: the
// classifier's mistake, kept so that rules can be improved from it.
type Correction struct {
	Ref        string          `json:"ref"`
	From       intake.Type     `json:"from"`
	To         intake.Type     `json:"to"`
	By         string          `json:"by"`
	At         time.Time       `json:"at"`
	MessageSeq uint64          `json:"message_seq"` // the request that was classified
	Reasons    []intake.Reason `json:"reasons,omitempty"`
}

// UnknownTypeError is returned for a type name that does not exist.
type UnknownTypeError struct{ Type string }

func (e *UnknownTypeError) Error() string { return fmt.Sprintf("unknown request type %q", e.Type) }

// Retype changes a ticket's request type on a person's word. The change is
// audited and kept as a Correction. When the new type belongs to another
// family the ticket keeps its state if that family knows it, else it moves
// to the family's first state after acknowledgement.
func (s *Store) Retype(ref string, typ intake.Type, by, note string, now time.Time) (*Ticket, error) {
	if !slices.Contains(intake.Types, typ) {
		return nil, &UnknownTypeError{Type: string(typ)}
	}
	var t *Ticket
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if t, err = ticketTx(tx, ref); err != nil {
			return err
		}
		if t.Type == typ {
			return nil
		}
		from := t.Type
		t.Type, t.Family = typ, FamilyOf(typ)
		detail := fmt.Sprintf("type %s → %s", from, typ)
		if _, ok := transitions[t.Family][t.State]; !ok && t.State.Open() {
			next := transitions[t.Family][StateNew][EventAcknowledge].Next
			detail += fmt.Sprintf("; status %s → %s (bestaat niet voor %s)", t.State, next, t.Family)
			t.State = next
		}
		t.audit(now, by, "type", detail, note)
		c := Correction{Ref: ref, From: from, To: typ, By: by, At: now, Reasons: t.Classification.Reasons}
		for _, m := range t.Messages {
			if m.Direction == DirIn {
				c.MessageSeq = m.Seq
				break
			}
		}
		if err := putJSON(tx.Bucket(bucketCorrections), []byte(ref), c); err != nil {
			return err
		}
		return putTicketTx(tx, t)
	})
	if err != nil {
		return nil, fmt.Errorf("retype %s: %w", ref, err)
	}
	return t, nil
}

// Corrections lists every type correction, in reference order.
func (s *Store) Corrections() ([]Correction, error) {
	var out []Correction
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCorrections).ForEach(func(k, _ []byte) error {
			var c Correction
			if err := getJSON(tx.Bucket(bucketCorrections), k, &c); err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	})
	return out, err
}

// Correction returns the correction of one ticket, if any.
func (s *Store) Correction(ref string) (*Correction, error) {
	var c Correction
	err := s.db.View(func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bucketCorrections), []byte(ref), &c) })
	if err != nil {
		return nil, err
	}
	return &c, nil
}
