package workflow

import (
	"fmt"
	"sort"
	"strings"
	"time"

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
	StateProposed     State = "proposed"   // dates offered to the requester
	StateScheduled    State = "scheduled"  // an appointment is agreed (invite sent)
	StateHeld         State = "held"       // the appointment or session took place
	StatePlaced       State = "placed"     // has a seat in a session
	StateWaitlisted   State = "waitlisted" // on a full session's waitlist
	StatePublished    State = "published"  // good example published
	StateDeclined     State = "declined"   // good example not published
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
	// EventPropose: dates offered; EventSchedule: one agreed;
	// EventReschedule: moved; EventInviteDeclined: the requester declined
	// the invite; EventHold: it took place; EventFollowUp: a follow-up
	// meeting is to be planned.
	EventPropose        Event = "propose"
	EventSchedule       Event = "schedule"
	EventReschedule     Event = "reschedule"
	EventInviteDeclined Event = "invite-declined"
	EventHold           Event = "hold"
	EventFollowUp       Event = "follow-up"
	// EventPlace, EventWaitlist and EventPromote move a registration into a
	// session, onto its waitlist, and from the waitlist into the session.
	EventPlace    Event = "place"
	EventWaitlist Event = "waitlist"
	EventPromote  Event = "promote"
	// EventPublish and EventDecline decide on a good example.
	EventPublish Event = "publish"
	EventDecline Event = "decline"
	// EventAnswer: the desk answered a question.
	EventAnswer Event = "answer"
	// EventWait: the desk waits on the requester; EventResume ends that by
	// hand (a requester's reply ends it too).
	EventWait   Event = "wait"
	EventResume Event = "resume"
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

// A family's life cycle is a list of rows (state, event, guard, next state,
// actions), declared below per family and compiled at start into
// transitions, the map Apply looks events up in. A row's Guard may refuse an
// event the table allows (say, proposing dates before anyone took the
// ticket); its Actions run in the transaction that stores the new state, so
// the audit entry, the state and any mail the transition queues are
// committed together or not at all.

// Guard decides whether a listed event may happen to t now; it returns why
// not, in Dutch for the desk, or "".
type Guard func(t *Ticket) string

// ActionName names a side effect of a transition (actions.go runs them).
type ActionName string

// The actions a row can name.
const (
	ActNotifyLeader  ActionName = "mail-leider"        // the (new) assignee gets a notification
	ActMailProposal  ActionName = "mail-voorstel"      // the requester gets the proposed dates
	ActMailInvite    ActionName = "mail-uitnodiging"   // iCalendar REQUEST to requester and leader
	ActMailCancel    ActionName = "mail-annulering"    // iCalendar CANCEL for a scheduled appointment
	ActMailPlaced    ActionName = "mail-plaatsing"     // placed in a session
	ActMailWaitlist  ActionName = "mail-wachtlijst"    // put on a session's waitlist
	ActMailPromoted  ActionName = "mail-plaats-vrij"   // moved from the waitlist into the session
	ActReleaseSeat   ActionName = "plaats-vrijgeven"   // frees a seat (or waitlist spot), promotes the first waiting
	ActTimerReminder ActionName = "timer-herinnering"  // reminder before the appointment or session
	ActTimerWaiting  ActionName = "timer-wachten"      // reminder, then close, while waiting on the requester
	ActClearWaiting  ActionName = "wachttimers-wissen" // the waiting-on-requester timers no longer apply
	ActClearTimers   ActionName = "timers-wissen"      // none of the ticket's pending timers apply any more
)

// Transition is one row of a family's table.
type Transition struct {
	Next    State
	Guard   Guard
	Actions []ActionName
}

// row is a Transition with the state and event it starts from.
type row struct {
	From  []State
	Event Event
	Guard Guard
	Next  State
	Acts  []ActionName
}

// stateResume as a row's next state means: back to the state the ticket was
// in before it started waiting on the requester.
const stateResume State = "(vorige)"

func hasAssignee(t *Ticket) string {
	if t.Assignee == "" {
		return "het ticket heeft nog geen projectleider (eerst toewijzen)"
	}
	return ""
}

func hasAppointment(t *Ticket) string {
	if t.Appointment == nil || t.Appointment.Start.IsZero() {
		return "het ticket heeft geen geplande afspraak"
	}
	return ""
}

func hasSession(t *Ticket) string {
	if t.Session == "" {
		return "het ticket is niet in een sessie geplaatst"
	}
	return ""
}

func states(s ...State) []State { return s }

var (
	appointmentOpen  = states(StateNew, StateAcknowledged, StateAssigned, StateProposed, StateScheduled, StateHeld, StateWaiting)
	registrationOpen = states(StateNew, StateRegistered, StatePlaced, StateWaitlisted, StateHeld, StateWaiting)
)

// tables declares every family's life cycle.
var tables = map[Family][]row{
	FamilyAppointment: {
		{From: states(StateNew), Event: EventAcknowledge, Next: StateAcknowledged},
		{From: states(StateNew, StateAcknowledged), Event: EventAssign, Next: StateAssigned, Acts: []ActionName{ActNotifyLeader}},
		{From: states(StateAssigned, StateProposed, StateScheduled, StateHeld, StateWaiting), Event: EventAssign, Next: "", Acts: []ActionName{ActNotifyLeader}},
		{From: states(StateAssigned, StateProposed), Event: EventPropose, Guard: hasAssignee, Next: StateProposed, Acts: []ActionName{ActMailProposal}},
		{From: states(StateAssigned, StateProposed), Event: EventSchedule, Guard: hasAssignee, Next: StateScheduled, Acts: []ActionName{ActMailInvite, ActTimerReminder}},
		{From: states(StateScheduled), Event: EventReschedule, Guard: hasAppointment, Next: StateScheduled, Acts: []ActionName{ActMailInvite, ActTimerReminder}},
		{From: states(StateScheduled), Event: EventInviteDeclined, Next: StateProposed},
		{From: states(StateScheduled), Event: EventHold, Guard: hasAppointment, Next: StateHeld, Acts: []ActionName{ActClearTimers}},
		{From: states(StateHeld), Event: EventFollowUp, Next: StateAssigned},
		{From: states(StateAcknowledged, StateAssigned, StateProposed, StateScheduled), Event: EventWait, Next: StateWaiting, Acts: []ActionName{ActTimerWaiting}},
		{From: states(StateWaiting), Event: EventRequesterReplied, Next: stateResume, Acts: []ActionName{ActClearWaiting}},
		{From: states(StateWaiting), Event: EventResume, Next: stateResume, Acts: []ActionName{ActClearWaiting}},
		{From: states(StateAcknowledged, StateAssigned, StateProposed, StateHeld, StateWaiting), Event: EventClose, Next: StateClosed, Acts: []ActionName{ActClearTimers}},
		{From: appointmentOpen, Event: EventCancel, Next: StateCancelled, Acts: []ActionName{ActMailCancel, ActClearTimers}},
		{From: states(StateClosed, StateCancelled), Event: EventRequesterReplied, Next: StateAcknowledged},
	},
	FamilyRegistration: {
		{From: states(StateNew), Event: EventAcknowledge, Next: StateRegistered},
		{From: registrationOpen, Event: EventAssign, Next: "", Acts: []ActionName{ActNotifyLeader}},
		{From: states(StateRegistered, StateWaitlisted, StatePlaced), Event: EventPlace, Next: StatePlaced, Acts: []ActionName{ActMailPlaced, ActTimerReminder}},
		{From: states(StateRegistered), Event: EventWaitlist, Next: StateWaitlisted, Acts: []ActionName{ActMailWaitlist}},
		{From: states(StateWaitlisted), Event: EventPromote, Next: StatePlaced, Acts: []ActionName{ActMailPromoted, ActTimerReminder}},
		{From: states(StatePlaced), Event: EventHold, Guard: hasSession, Next: StateHeld, Acts: []ActionName{ActClearTimers}},
		{From: states(StateRegistered), Event: EventWait, Next: StateWaiting, Acts: []ActionName{ActTimerWaiting}},
		{From: states(StateWaiting), Event: EventRequesterReplied, Next: stateResume, Acts: []ActionName{ActClearWaiting}},
		{From: states(StateWaiting), Event: EventResume, Next: stateResume, Acts: []ActionName{ActClearWaiting}},
		{From: states(StateRegistered, StateHeld, StateWaiting), Event: EventClose, Next: StateClosed, Acts: []ActionName{ActClearTimers}},
		{From: registrationOpen, Event: EventCancel, Next: StateCancelled, Acts: []ActionName{ActMailCancel, ActReleaseSeat, ActClearTimers}},
		{From: states(StateClosed, StateCancelled), Event: EventRequesterReplied, Next: StateRegistered},
	},
	FamilyPublication: {
		{From: states(StateNew), Event: EventAcknowledge, Next: StateAcknowledged},
		{From: states(StateNew, StateAcknowledged), Event: EventAssign, Next: StateAssigned, Acts: []ActionName{ActNotifyLeader}},
		{From: states(StateAssigned, StateWaiting), Event: EventAssign, Next: "", Acts: []ActionName{ActNotifyLeader}},
		{From: states(StateAssigned), Event: EventPublish, Guard: hasAssignee, Next: StatePublished},
		{From: states(StateAssigned), Event: EventDecline, Guard: hasAssignee, Next: StateDeclined},
		{From: states(StateAcknowledged, StateAssigned), Event: EventWait, Next: StateWaiting, Acts: []ActionName{ActTimerWaiting}},
		{From: states(StateWaiting), Event: EventRequesterReplied, Next: stateResume, Acts: []ActionName{ActClearWaiting}},
		{From: states(StateWaiting), Event: EventResume, Next: stateResume, Acts: []ActionName{ActClearWaiting}},
		{From: states(StateAcknowledged, StateAssigned, StatePublished, StateDeclined, StateWaiting), Event: EventClose, Next: StateClosed, Acts: []ActionName{ActClearTimers}},
		{From: states(StateClosed), Event: EventRequesterReplied, Next: StateAcknowledged},
	},
	FamilyReferral: {
		{From: states(StateNew), Event: EventAcknowledge, Next: StateReferred},
		{From: states(StateNew, StateReferred), Event: EventAssign, Next: StateAssigned, Acts: []ActionName{ActNotifyLeader}},
		{From: states(StateAssigned, StateAnswered, StateWaiting), Event: EventAssign, Next: "", Acts: []ActionName{ActNotifyLeader}},
		{From: states(StateReferred, StateAnswered), Event: EventRequesterReplied, Next: StateAssigned},
		{From: states(StateAssigned), Event: EventAnswer, Next: StateAnswered},
		{From: states(StateAssigned), Event: EventWait, Next: StateWaiting, Acts: []ActionName{ActTimerWaiting}},
		{From: states(StateWaiting), Event: EventRequesterReplied, Next: stateResume, Acts: []ActionName{ActClearWaiting}},
		{From: states(StateWaiting), Event: EventResume, Next: stateResume, Acts: []ActionName{ActClearWaiting}},
		{From: states(StateReferred, StateAssigned, StateAnswered, StateWaiting), Event: EventClose, Next: StateClosed, Acts: []ActionName{ActClearTimers}},
		{From: states(StateClosed), Event: EventRequesterReplied, Next: StateAssigned},
	},
	FamilyQuestion: {
		{From: states(StateNew), Event: EventAcknowledge, Next: StateAcknowledged},
		{From: states(StateNew, StateAcknowledged), Event: EventAssign, Next: StateAssigned, Acts: []ActionName{ActNotifyLeader}},
		{From: states(StateAssigned, StateAnswered, StateWaiting), Event: EventAssign, Next: "", Acts: []ActionName{ActNotifyLeader}},
		{From: states(StateAssigned), Event: EventAnswer, Next: StateAnswered},
		{From: states(StateAnswered), Event: EventRequesterReplied, Next: StateAssigned},
		{From: states(StateAcknowledged, StateAssigned, StateAnswered), Event: EventWait, Next: StateWaiting, Acts: []ActionName{ActTimerWaiting}},
		{From: states(StateWaiting), Event: EventRequesterReplied, Next: stateResume, Acts: []ActionName{ActClearWaiting}},
		{From: states(StateWaiting), Event: EventResume, Next: stateResume, Acts: []ActionName{ActClearWaiting}},
		{From: states(StateAcknowledged, StateAssigned, StateAnswered, StateWaiting), Event: EventClose, Next: StateClosed, Acts: []ActionName{ActClearTimers}},
		{From: states(StateClosed), Event: EventRequesterReplied, Next: StateAcknowledged},
	},
}

// transitions is the compiled form of tables, the single source of what may
// happen to a ticket: family -> state -> event -> transition. Events not
// listed are refused. A row whose Next is empty keeps the state (assigning
// another leader to a scheduled clinic does not unschedule it).
//
// A requester's reply changes a ticket's state only where a row says so:
// it ends waiting, reopens a closed ticket, and turns a referral or an
// answered question back into work for the desk.
var transitions = compile(tables)

func compile(tables map[Family][]row) map[Family]map[State]map[Event]Transition {
	out := map[Family]map[State]map[Event]Transition{}
	for fam, rows := range tables {
		out[fam] = map[State]map[Event]Transition{}
		for _, r := range rows {
			for _, from := range r.From {
				if out[fam][from] == nil {
					out[fam][from] = map[Event]Transition{}
				}
				if _, dup := out[fam][from][r.Event]; dup {
					panic(fmt.Sprintf("workflow: %s table lists %s --%s--> twice", fam, from, r.Event))
				}
				next := r.Next
				if next == "" {
					next = from
				}
				out[fam][from][r.Event] = Transition{Next: next, Guard: r.Guard, Actions: r.Acts}
			}
		}
	}
	return out
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

// GuardError is returned when the table lists an event but its guard
// refuses it for this ticket now.
type GuardError struct {
	Ref     string
	State   State
	Event   Event
	Reason  string
	Allowed []Event // the events the state lists, this one included
}

func (e *GuardError) Error() string {
	return fmt.Sprintf("ticket %s: event %q not possible in state %q: %s", e.Ref, e.Event, e.State, e.Reason)
}

// apply moves t by ev according to the table and writes the audit entry. It
// checks the row's guard but runs none of its actions: Apply (actions.go)
// is the one entry point for events whose rows have actions, and calls this.
// Callers run it inside the transaction that stores the ticket.
func apply(t *Ticket, ev Event, actor, note string, now Clock) error {
	_, err := step(t, ev, actor, note, now())
	return err
}

// step is apply returning the row it took.
func step(t *Ticket, ev Event, actor, note string, now time.Time) (Transition, error) {
	tr, ok := transitions[t.Family][t.State][ev]
	if !ok {
		return Transition{}, &IllegalEventError{Ref: t.Ref, State: t.State, Event: ev, Allowed: AllowedEvents(t.Family, t.State)}
	}
	if tr.Guard != nil {
		if why := tr.Guard(t); why != "" {
			return Transition{}, &GuardError{Ref: t.Ref, State: t.State, Event: ev, Reason: why, Allowed: AllowedEvents(t.Family, t.State)}
		}
	}
	from := t.State
	next := tr.Next
	switch {
	case next == stateResume:
		next = t.ResumeState
		if next == "" || next == StateWaiting {
			next = StateAssigned
			if _, ok := transitions[t.Family][next]; !ok {
				next = transitions[t.Family][StateNew][EventAcknowledge].Next
			}
		}
		t.ResumeState = ""
	case next == StateWaiting && from != StateWaiting:
		t.ResumeState = from
	}
	t.State = next
	t.audit(now, actor, "state", fmt.Sprintf("%s → %s (%s)", from, next, ev), note)
	return tr, nil
}
