package workflow

import (
	"time"

	"github.com/poraad/loket/intake"
)

// Slot is one proposed date: a start and an end.
type Slot struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Proposal is the set of dates last offered to the requester.
type Proposal struct {
	Slots    []Slot    `json:"slots"`
	Location string    `json:"location,omitempty"`
	At       time.Time `json:"at"`
	By       string    `json:"by"`
}

// Suggestion is what a requester's answer to a proposal seems to choose.
// It is shown to the leader and never scheduled without a person.
type Suggestion struct {
	Slot       int       `json:"slot"` // 1-based number of the slot in Proposal.Slots
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	Matched    string    `json:"matched"` // the words that matched
	MessageSeq uint64    `json:"message_seq"`
	At         time.Time `json:"at"`
}

// Appointment is an agreed date with its calendar identity.
type Appointment struct {
	UID      string    `json:"uid"`      // stable per ticket
	Sequence int       `json:"sequence"` // RFC 5545 SEQUENCE: 0 at first, +1 per change
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Location string    `json:"location,omitempty"`
	// Status is "confirmed" or "cancelled".
	Status string `json:"status"`
	// Responses maps an attendee's address to their last iCalendar answer
	// (ACCEPTED, DECLINED, TENTATIVE).
	Responses map[string]string `json:"responses,omitempty"`
}

// Leader is a project leader who answers tickets of some request types.
type Leader struct {
	Name    string        `json:"name"`
	Address string        `json:"address"` // lower case
	Types   []intake.Type `json:"types"`   // empty: every type
}

// MeetingSession is a planned meeting ([[session]] in the config) that
// registrations are placed in.
type MeetingSession struct {
	ID       string      `json:"id"`
	Type     intake.Type `json:"type"`
	Title    string      `json:"title"`
	Start    time.Time   `json:"start"`
	End      time.Time   `json:"end"`
	Location string      `json:"location"`
	Capacity int         `json:"capacity"`
}

// TimerSettings says when the timers fire.
type TimerSettings struct {
	// ReminderDaysBefore: the requester is reminded this many days before
	// an appointment or session; 0 sends no reminder.
	ReminderDaysBefore int
	// NudgeWorkingDays: the assigned leader is nudged when a ticket has
	// waited this many working days on the desk; 0 never.
	NudgeWorkingDays int
	// WaitingReminderDays: a ticket waiting on the requester gets one
	// reminder after this many days, and WaitingCloseDays after that it is
	// closed with a mail; 0 switches each off.
	WaitingReminderDays int
	WaitingCloseDays    int
}

// Settings is the desk's configuration beyond intake: leaders, sessions,
// timers and the desk's public address for links in mail.
type Settings struct {
	BaseURL  string
	Leaders  []Leader
	Sessions []MeetingSession
	Timers   TimerSettings
}

// leader returns the configured leader with that address.
func (s *Settings) leader(addr string) (Leader, bool) {
	if s == nil {
		return Leader{}, false
	}
	for _, l := range s.Leaders {
		if equalFoldAddr(l.Address, addr) {
			return l, true
		}
	}
	return Leader{}, false
}

// session returns the configured session with that id.
func (s *Settings) session(id string) (MeetingSession, bool) {
	if s == nil {
		return MeetingSession{}, false
	}
	for _, x := range s.Sessions {
		if x.ID == id {
			return x, true
		}
	}
	return MeetingSession{}, false
}

func (s *Settings) ticketLink(ref string) string {
	if s == nil || s.BaseURL == "" {
		return ""
	}
	return trimSlash(s.BaseURL) + "/tickets/" + ref
}
