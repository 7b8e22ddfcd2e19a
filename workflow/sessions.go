package workflow

import (
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Seats is who holds a session's seats and who waits for one, in order.
// It is stored per session id in bucket sessions and only ever changed in
// the transaction that changes the tickets concerned.
type Seats struct {
	Placed   []string `json:"placed"`
	Waitlist []string `json:"waitlist"`
}

func seatsTx(tx *bolt.Tx, id string) (*Seats, error) {
	var s Seats
	if err := getJSON(tx.Bucket(bucketSessions), []byte(id), &s); err != nil && !IsNotFound(err) {
		return nil, fmt.Errorf("seats of session %s: %w", id, err)
	}
	return &s, nil
}

func putSeatsTx(tx *bolt.Tx, id string, s *Seats) error {
	return putJSON(tx.Bucket(bucketSessions), []byte(id), s)
}

// SessionView is a session with its seats, for the API.
type SessionView struct {
	MeetingSession
	Placed   []string `json:"placed"`
	Waitlist []string `json:"waitlist"`
	Free     int      `json:"free"`
}

// Sessions lists the configured sessions with who is placed and waiting.
func (d *Desk) Sessions() ([]SessionView, error) {
	var out []SessionView
	if d.Policy.Settings == nil {
		return out, nil
	}
	err := d.Store.db.View(func(tx *bolt.Tx) error {
		for _, s := range d.Policy.Settings.Sessions {
			seats, err := seatsTx(tx, s.ID)
			if err != nil {
				return err
			}
			v := SessionView{MeetingSession: s, Placed: seats.Placed, Waitlist: seats.Waitlist, Free: max(0, s.Capacity-len(seats.Placed))}
			if v.Placed == nil {
				v.Placed = []string{}
			}
			if v.Waitlist == nil {
				v.Waitlist = []string{}
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// Place puts a registration in a session: in a seat while there is one,
// else on the session's waitlist. A ticket already in another session
// leaves that one first (which may promote someone there).
func (d *Desk) Place(ref, by, sessionID string) (*Ticket, error) {
	sess, ok := d.Policy.Settings.session(sessionID)
	if !ok {
		return nil, inputErr("unknown session %q", sessionID)
	}
	return d.update(ref, by, "", func(o *op) error {
		t := o.t
		if t.Family != FamilyRegistration {
			return inputErr("ticket %s is a %s, not a registration", t.Ref, t.Type)
		}
		if sess.Type != "" && sess.Type != t.Type {
			return inputErr("session %s is for %s, ticket %s is %s", sess.ID, sess.Type, t.Ref, t.Type)
		}
		if t.Session == sess.ID && (t.State == StatePlaced || t.State == StateWaitlisted) {
			return inputErr("ticket %s is already in session %s (%s)", t.Ref, sess.ID, t.State)
		}
		// Check the event first so that nothing moves when it is refused.
		seats, err := seatsTx(o.tx, sess.ID)
		if err != nil {
			return err
		}
		ev := EventPlace
		if len(seats.Placed) >= sess.Capacity {
			ev = EventWaitlist
		}
		if _, ok := transitions[t.Family][t.State][ev]; !ok {
			return &IllegalEventError{Ref: t.Ref, State: t.State, Event: ev, Allowed: AllowedEvents(t.Family, t.State)}
		}
		if t.Session != "" {
			if err := o.leaveSession(); err != nil {
				return err
			}
			// leaving may have promoted someone in a session of the same id
			if seats, err = seatsTx(o.tx, sess.ID); err != nil {
				return err
			}
		}
		t.Session = sess.ID
		if ev == EventPlace {
			seats.Placed = append(seats.Placed, t.Ref)
			o.sessionAppointment(sess)
		} else {
			seats.Waitlist = append(seats.Waitlist, t.Ref)
		}
		if err := putSeatsTx(o.tx, sess.ID, seats); err != nil {
			return err
		}
		return o.Apply(ev)
	})
}

// sessionAppointment makes the session the ticket's appointment, so that
// the invite, reminder and API show it.
func (o *op) sessionAppointment(s MeetingSession) {
	if a := o.t.Appointment; a != nil {
		a.Sequence++
		a.Start, a.End, a.Location, a.Status, a.Responses = s.Start, s.End, s.Location, "confirmed", nil
		return
	}
	o.t.Appointment = &Appointment{UID: appointmentUID(o.t.Ref, o.mailboxAddress()), Start: s.Start, End: s.End, Location: s.Location, Status: "confirmed"}
}

// leaveSession takes the ticket out of its session's seats or waitlist,
// promoting the first on the waitlist when a seat comes free.
func (o *op) leaveSession() error {
	id := o.t.Session
	if id == "" {
		return nil
	}
	seats, err := seatsTx(o.tx, id)
	if err != nil {
		return err
	}
	wasPlaced := slices.Contains(seats.Placed, o.t.Ref)
	seats.Placed = slices.DeleteFunc(seats.Placed, func(r string) bool { return r == o.t.Ref })
	seats.Waitlist = slices.DeleteFunc(seats.Waitlist, func(r string) bool { return r == o.t.Ref })
	o.t.Session = ""
	o.t.audit(o.now, o.actor, "session", fmt.Sprintf("uit sessie %s", id), "")
	if wasPlaced {
		if err := o.promote(id, seats); err != nil {
			return err
		}
	}
	return putSeatsTx(o.tx, id, seats)
}

// promote fills free seats of session id from its waitlist, in order.
func (o *op) promote(id string, seats *Seats) error {
	sess, ok := o.p.Settings.session(id)
	if !ok {
		return nil
	}
	for len(seats.Placed) < sess.Capacity && len(seats.Waitlist) > 0 {
		ref := seats.Waitlist[0]
		seats.Waitlist = seats.Waitlist[1:]
		w, err := ticketTx(o.tx, ref)
		if err != nil {
			return fmt.Errorf("promote from waitlist of %s: %w", id, err)
		}
		if w.State != StateWaitlisted || w.Session != id {
			continue // stale entry; skip it
		}
		wo := &op{tx: o.tx, p: o.p, t: w, now: o.now, actor: "loket", note: "plaats vrijgekomen door " + o.t.Ref}
		wo.sessionAppointment(sess)
		if err := wo.Apply(EventPromote); err != nil {
			return err
		}
		if err := putTicketTx(o.tx, w); err != nil {
			return err
		}
		o.queued += wo.queued
		seats.Placed = append(seats.Placed, ref)
	}
	return nil
}

// releaseSeat is the action of a cancelled registration.
func (o *op) releaseSeat() error { return o.leaveSession() }

// mailSession sends a session mail (placed, waitlisted, promoted); placed
// and promoted ones carry the invite.
func (o *op) mailSession(purpose, tmpl string) error {
	sess, ok := o.p.Settings.session(o.t.Session)
	if !ok {
		return fmt.Errorf("ticket %s: session %q is not configured", o.t.Ref, o.t.Session)
	}
	d := o.data()
	d.SessionTitle, d.Start, d.End, d.Location = sess.Title, sess.Start, sess.End, sess.Location
	m := mailOpts{automatic: o.actor == "loket"}
	if tmpl != "wachtlijst" && o.t.Appointment != nil {
		a := o.t.Appointment
		ics, err := buildICS(invite{Method: MethodRequest, UID: a.UID, Sequence: a.Sequence, Start: a.Start, End: a.End,
			Summary: strings.TrimSpace(sess.Title) + " [" + o.t.Ref + "]", Location: a.Location, Organizer: o.mailboxAddress(),
			OrganizerName: o.p.Mailboxes[o.t.Mailbox].DisplayName, Attendees: []inviteAttendee{{Name: o.t.Requester.Name, Address: o.t.Requester.Address}},
			Stamp: o.now, Description: "Kenmerk " + o.t.Ref})
		if err != nil {
			return err
		}
		m.ics, m.method = ics, MethodRequest
	}
	_, err := o.mailRequester(purpose, tmpl, d, m)
	return err
}
