package workflow

import (
	"fmt"
	"sort"
	"strings"

	"github.com/poraad/loket/intake"
)

// State is a ticket's state; the constants are stored as they are.
type State string

const (
	StateNew          State = "new"
	StateAcknowledged State = "acknowledged"
	StateRegistered   State = "registered"
	StateReferred     State = "referred"
	StateAssigned     State = "assigned"
	StateWaiting      State = "waiting"
	StateAnswered     State = "answered"
	StateClosed       State = "closed"
	StateCancelled    State = "cancelled"
)

// Event is something that happens to a ticket.
type Event string

const (
	// EventAcknowledge: the automatic confirmation was queued.
	EventAcknowledge Event = "acknowledge"
	// EventRequesterReplied: a follow-up from the requester arrived.
	EventRequesterReplied Event = "requester-replied"
	// EventAssign: a project leader takes the ticket.
	EventAssign Event = "assign"
	// EventClose and EventCancel end a ticket.
	EventClose  Event = "close"
	EventCancel Event = "cancel"
)

// Family groups request types that share a life cycle.
type Family string

const (
	FamilyAppointment  Family = "appointment"  // praktijktoets, clinic, maatwerkbijeenkomst
	FamilyRegistration Family = "registration" // werkbijeenkomst, opp-bijeenkomst, training, tweedaagse
	FamilyPublication  Family = "publication"  // goed-voorbeeld
	FamilyReferral     Family = "referral"     // ondersteuningsplanraad
	FamilyQuestion     Family = "question"     // instrumentarium, overig
)

// FamilyOf returns the family of a request type.
func FamilyOf(t intake.Type) Family {
	switch t {
	case intake.TypePraktijktoets, intake.TypeClinic, intake.TypeMaatwerkbijeenkomst:
		return FamilyAppointment
	case intake.TypeWerkbijeenkomst, intake.TypeOPPBijeenkomst, intake.TypeTraining, intake.TypeTweedaagse:
		return FamilyRegistration
	case intake.TypeGoedVoorbeeld:
		return FamilyPublication
	case intake.TypeOndersteuningsplanraad:
		return FamilyReferral
	default:
		return FamilyQuestion
	}
}

// Transition is one row of a family's table.
type Transition struct {
	Next State
}

// transitions is the single source of what may happen to a ticket:
// family -> state -> event -> transition. Events not listed are refused.
//
// A requester's reply never changes an open ticket's state (it is recorded
// and shown); it reopens a closed one.
var transitions = map[Family]map[State]map[Event]Transition{
	FamilyAppointment: {
		StateNew:          {EventAcknowledge: {StateAcknowledged}, EventAssign: {StateAssigned}, EventCancel: {StateCancelled}},
		StateAcknowledged: {EventAssign: {StateAssigned}, EventCancel: {StateCancelled}, EventClose: {StateClosed}},
		StateAssigned:     {EventCancel: {StateCancelled}, EventClose: {StateClosed}},
		StateClosed:       {EventRequesterReplied: {StateAcknowledged}},
		StateCancelled:    {EventRequesterReplied: {StateAcknowledged}},
	},
	FamilyRegistration: {
		StateNew:        {EventAcknowledge: {StateRegistered}, EventCancel: {StateCancelled}},
		StateRegistered: {EventCancel: {StateCancelled}, EventClose: {StateClosed}},
		StateClosed:     {EventRequesterReplied: {StateRegistered}},
		StateCancelled:  {EventRequesterReplied: {StateRegistered}},
	},
	FamilyPublication: {
		StateNew:          {EventAcknowledge: {StateAcknowledged}, EventAssign: {StateAssigned}},
		StateAcknowledged: {EventAssign: {StateAssigned}, EventClose: {StateClosed}},
		StateAssigned:     {EventClose: {StateClosed}},
		StateClosed:       {EventRequesterReplied: {StateAcknowledged}},
	},
	FamilyReferral: {
		StateNew:      {EventAcknowledge: {StateReferred}, EventAssign: {StateAssigned}},
		StateReferred: {EventRequesterReplied: {StateAssigned}, EventClose: {StateClosed}},
		StateAssigned: {EventClose: {StateClosed}},
		StateClosed:   {EventRequesterReplied: {StateAssigned}},
	},
	FamilyQuestion: {
		StateNew:          {EventAcknowledge: {StateAcknowledged}, EventAssign: {StateAssigned}},
		StateAcknowledged: {EventAssign: {StateAssigned}, EventClose: {StateClosed}},
		StateAssigned:     {EventClose: {StateClosed}},
		StateClosed:       {EventRequesterReplied: {StateAcknowledged}},
	},
}

// IllegalEventError is returned when an event is not allowed in a state.
type IllegalEventError struct {
	Ref     string
	State   State
	Event   Event
	Allowed []Event
}

func (e *IllegalEventError) Error() string {
	allowed := make([]string, len(e.Allowed))
	for i, a := range e.Allowed {
		allowed[i] = string(a)
	}
	return fmt.Sprintf("ticket %s: event %q not allowed in state %q (allowed: %s)",
		e.Ref, e.Event, e.State, strings.Join(allowed, ", "))
}

// AllowedEvents lists the events allowed for a ticket in its current state.
func AllowedEvents(f Family, s State) []Event {
	var out []Event
	for ev := range transitions[f][s] {
		out = append(out, ev)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Open reports whether a state still asks something of the desk.
func (s State) Open() bool { return s != StateClosed && s != StateCancelled }

// apply moves t by ev according to the table and writes the audit entry. It
// is the only place a ticket's state changes; callers run it inside the
// transaction that stores the ticket.
func apply(t *Ticket, ev Event, actor, note string, now Clock) error {
	tr, ok := transitions[t.Family][t.State][ev]
	if !ok {
		return &IllegalEventError{Ref: t.Ref, State: t.State, Event: ev, Allowed: AllowedEvents(t.Family, t.State)}
	}
	from := t.State
	t.State = tr.Next
	t.audit(now(), actor, "state", fmt.Sprintf("%s → %s (%s)", from, tr.Next, ev), note)
	return nil
}
