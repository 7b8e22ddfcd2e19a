package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/poraad/loket/workflow"
)

// Ticket actions of the API: each decodes a small JSON body, calls one
// method of workflow.Desk (one transaction each) and answers with the
// ticket as GET /api/v1/tickets/{ref} shows it. An event the ticket's state
// does not allow is a 409 with the allowed events; a guard that refuses is
// a 409 with its reason; a request that cannot be carried out is a 400.

// Work is what the ticket detail shows of the desk's work on a ticket.
type Work struct {
	Assignee     string                `json:"assignee,omitempty"`
	AssigneeName string                `json:"assignee_name,omitempty"`
	Appointment  *workflow.Appointment `json:"appointment"`
	Proposal     *workflow.Proposal    `json:"proposal,omitempty"`
	Suggestion   *workflow.Suggestion  `json:"suggestion,omitempty"`
	Session      string                `json:"session,omitempty"`
	Timers       []workflow.Timer      `json:"timers,omitempty"`
}

func (a *API) work(t *workflow.Ticket) Work {
	w := Work{Assignee: t.Assignee, AssigneeName: t.AssigneeName, Appointment: t.Appointment,
		Proposal: t.Proposal, Suggestion: t.Suggestion, Session: t.Session}
	if timers, err := a.Store.Timers(t.Ref); err == nil {
		w.Timers = timers
	}
	return w
}

// actor is who the request acts for: "by" in the body, else "api".
func actor(by string) string {
	if by = strings.ToLower(strings.TrimSpace(by)); by != "" {
		return by
	}
	return "api"
}

func ref(r *http.Request) string { return strings.ToUpper(r.PathValue("ref")) }

// done answers an action: the ticket, or the error as its status.
func (a *API) done(w http.ResponseWriter, r *http.Request, _ *workflow.Ticket, err error) {
	var ie *workflow.IllegalEventError
	var ge *workflow.GuardError
	var in *workflow.InputError
	switch {
	case errors.As(err, &ie):
		allowed := ie.Allowed
		if allowed == nil {
			allowed = []workflow.Event{}
		}
		writeJSON(w, http.StatusConflict, map[string]any{"error": ie.Error(), "state": ie.State, "event": ie.Event, "allowed_events": allowed})
	case errors.As(err, &ge):
		writeJSON(w, http.StatusConflict, map[string]any{"error": ge.Error(), "state": ge.State, "event": ge.Event, "reason": ge.Reason,
			"allowed_events": ge.Allowed})
	case errors.As(err, &in):
		writeError(w, http.StatusBadRequest, in.Error())
	case err != nil:
		a.fail(w, r, err)
	default:
		a.getTicket(w, r)
	}
}

func (a *API) desk(w http.ResponseWriter) bool {
	if a.Desk == nil {
		writeError(w, http.StatusServiceUnavailable, "ticket actions are not available")
		return false
	}
	return true
}

func (a *API) assign(w http.ResponseWriter, r *http.Request) {
	var req struct{ To, By, Note string }
	if !a.desk(w) || !readJSON(w, r, &req) {
		return
	}
	t, err := a.Desk.Assign(ref(r), req.To, actor(req.By), req.Note)
	a.done(w, r, t, err)
}

func (a *API) reply(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Body     string         `json:"body"`
		Template string         `json:"template"`
		Event    workflow.Event `json:"event"`
		By       string         `json:"by"`
		Note     string         `json:"note"`
	}
	if !a.desk(w) || !readJSON(w, r, &req) {
		return
	}
	t, err := a.Desk.Reply(ref(r), actor(req.By), workflow.ReplyRequest{Body: req.Body, Template: req.Template, Event: req.Event, Note: req.Note})
	a.done(w, r, t, err)
}

func (a *API) note(w http.ResponseWriter, r *http.Request) {
	var req struct{ Text, Note, By string }
	if !a.desk(w) || !readJSON(w, r, &req) {
		return
	}
	text := req.Text
	if text == "" {
		text = req.Note
	}
	t, err := a.Desk.Note(ref(r), actor(req.By), text)
	a.done(w, r, t, err)
}

func (a *API) propose(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Slots    []workflow.Slot `json:"slots"`
		Location string          `json:"location"`
		By       string          `json:"by"`
	}
	if !a.desk(w) || !readJSON(w, r, &req) {
		return
	}
	t, err := a.Desk.Propose(ref(r), actor(req.By), req.Slots, req.Location)
	a.done(w, r, t, err)
}

func (a *API) schedule(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Start    time.Time `json:"start"`
		End      time.Time `json:"end"`
		Location string    `json:"location"`
		By       string    `json:"by"`
	}
	if !a.desk(w) || !readJSON(w, r, &req) {
		return
	}
	t, err := a.Desk.Schedule(ref(r), actor(req.By), req.Start, req.End, req.Location)
	a.done(w, r, t, err)
}

func (a *API) place(w http.ResponseWriter, r *http.Request) {
	var req struct{ Session, By string }
	if !a.desk(w) || !readJSON(w, r, &req) {
		return
	}
	t, err := a.Desk.Place(ref(r), actor(req.By), req.Session)
	a.done(w, r, t, err)
}

func (a *API) transition(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Event workflow.Event `json:"event"`
		Note  string         `json:"note"`
		By    string         `json:"by"`
	}
	if !a.desk(w) || !readJSON(w, r, &req) {
		return
	}
	t, err := a.Desk.Transition(ref(r), req.Event, actor(req.By), req.Note)
	a.done(w, r, t, err)
}

func (a *API) listSessions(w http.ResponseWriter, r *http.Request) {
	if !a.desk(w) {
		return
	}
	s, err := a.Desk.Sessions()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if s == nil {
		s = []workflow.SessionView{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": s})
}
