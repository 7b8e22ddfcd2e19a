// Package web serves Loket over HTTP: the JSON API under /api/v1 (bearer
// token) that scripts and the CLI use (api.go, actions.go, backup.go), the
// health check, and the project leaders' desk (desk*.go: server-rendered
// pages with login sessions and CSRF tokens, templates/ and static/
// embedded). Mount puts both on one listener.
package web

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/workflow"
)

// Health reports the state of a running component for /healthz.
type Health func() (ok bool, detail any)

// API is the HTTP handler of the JSON API.
type API struct {
	Store  *workflow.Store
	Token  string
	Log    *slog.Logger
	Health map[string]Health // component name -> check
	// Desk carries out the ticket actions (actions.go); nil serves them as
	// 503.
	Desk *workflow.Desk
}

// Handler returns the routes, all listed here.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.Handle("GET /api/v1/tickets", a.auth(a.listTickets))
	mux.Handle("GET /api/v1/tickets/{ref}", a.auth(a.getTicket))
	mux.Handle("GET /api/v1/tickets/{ref}/messages/{seq}/raw", a.auth(a.getRaw))
	mux.Handle("POST /api/v1/tickets/{ref}/type", a.auth(a.retype))
	mux.Handle("POST /api/v1/tickets/{ref}/assign", a.auth(a.assign))
	mux.Handle("POST /api/v1/tickets/{ref}/reply", a.auth(a.reply))
	mux.Handle("POST /api/v1/tickets/{ref}/note", a.auth(a.note))
	mux.Handle("POST /api/v1/tickets/{ref}/propose", a.auth(a.propose))
	mux.Handle("POST /api/v1/tickets/{ref}/schedule", a.auth(a.schedule))
	mux.Handle("POST /api/v1/tickets/{ref}/place", a.auth(a.place))
	mux.Handle("POST /api/v1/tickets/{ref}/transition", a.auth(a.transition))
	mux.Handle("GET /api/v1/sessions", a.auth(a.listSessions))
	mux.Handle("GET /api/v1/corrections", a.auth(a.listCorrections))
	mux.Handle("GET /api/v1/unmatched", a.auth(a.listUnmatched))
	mux.Handle("GET /api/v1/outbox", a.auth(a.listOutbox))
	mux.Handle("GET /api/v1/users", a.auth(a.listUsers)) // desk_users.go
	mux.Handle("POST /api/v1/users", a.auth(a.putUser))  // desk_users.go
	mux.Handle("GET /api/v1/backup", a.auth(a.backup))
	a.privacyRoutes(mux) // privacy.go: export and forget (AVG)
	return securityHeaders(mux)
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

func (a *API) auth(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || a.Token == "" || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(a.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="loket"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		h(w, r)
	})
}

// TicketSummary is a ticket in lists.
type TicketSummary struct {
	Ref              string           `json:"ref"`
	Mailbox          string           `json:"mailbox"`
	Type             intake.Type      `json:"type"`
	Family           workflow.Family  `json:"family"`
	State            workflow.State   `json:"state"`
	Subject          string           `json:"subject"`
	RequesterName    string           `json:"requester_name,omitempty"`
	RequesterAddress string           `json:"requester_address"`
	Org              string           `json:"org"`
	Phone            string           `json:"phone"`
	Created          time.Time        `json:"created"`
	Updated          time.Time        `json:"updated"`
	MessageIDs       []string         `json:"message_ids"`
	Bounced          bool             `json:"bounced,omitempty"`
	Flags            []string         `json:"flags,omitempty"`
	AllowedEvents    []workflow.Event `json:"allowed_events"`
}

func summary(t *workflow.Ticket) TicketSummary {
	allowed := workflow.AllowedEvents(t.Family, t.State)
	if allowed == nil {
		allowed = []workflow.Event{}
	}
	return TicketSummary{
		Ref: t.Ref, Mailbox: t.Mailbox, Type: t.Type, Family: t.Family, State: t.State, Subject: t.Subject,
		RequesterName: t.Requester.Name, RequesterAddress: t.Requester.Address, Org: t.Org, Phone: t.Phone,
		Created: t.Created, Updated: t.Updated, MessageIDs: t.MessageIDs(), Bounced: t.Bounced, Flags: t.Flags,
		AllowedEvents: allowed,
	}
}

func (a *API) listTickets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := workflow.Filter{State: workflow.State(q.Get("state")), Type: intake.Type(q.Get("type")), Mailbox: q.Get("mailbox")}
	tickets, err := a.Store.Tickets(f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]TicketSummary, 0, len(tickets))
	for i := range tickets {
		out = append(out, summary(&tickets[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"tickets": out})
}

// TicketDetail is one ticket with its messages and audit log.
type TicketDetail struct {
	TicketSummary
	Classification intake.Classification `json:"classification"`
	Audit          []workflow.AuditEntry `json:"audit"`
	Messages       []MessageView         `json:"messages"`
	Work
}

// MessageView is a stored message as the API shows it.
type MessageView struct {
	Seq        uint64                 `json:"seq"`
	Direction  workflow.Direction     `json:"direction"`
	Mailbox    string                 `json:"mailbox"`
	Received   time.Time              `json:"received"`
	Message    *intake.Message        `json:"message"`
	Class      *intake.Classification `json:"classification,omitempty"`
	HeaderOnly bool                   `json:"header_only,omitempty"`
	Outbox     *workflow.OutboxEntry  `json:"outbox,omitempty"`
}

func (a *API) getTicket(w http.ResponseWriter, r *http.Request) {
	t, err := a.Store.Ticket(strings.ToUpper(r.PathValue("ref")))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := TicketDetail{TicketSummary: summary(t), Classification: t.Classification, Audit: t.Audit, Messages: []MessageView{},
		Work: a.work(t)}
	for _, ref := range t.Messages {
		rec, err := a.Store.Message(ref.Seq)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		v := MessageView{Seq: rec.Seq, Direction: rec.Direction, Mailbox: rec.Mailbox, Received: rec.Received,
			Message: rec.Message, Class: rec.Class, HeaderOnly: rec.HeaderOnly}
		if rec.OutboxID != 0 {
			if e, err := a.Store.OutboxEntry(rec.OutboxID); err == nil {
				e.Body = "" // the message text is in Message already
				v.Outbox = e
			}
		}
		d.Messages = append(d.Messages, v)
	}
	writeJSON(w, http.StatusOK, d)
}

func (a *API) getRaw(w http.ResponseWriter, r *http.Request) {
	t, err := a.Store.Ticket(strings.ToUpper(r.PathValue("ref")))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	for _, m := range t.Messages {
		if r.PathValue("seq") == strconv.FormatUint(m.Seq, 10) {
			raw, err := a.Store.Raw(m.Seq)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			w.Header().Set("Content-Type", "message/rfc822")
			w.Header().Set("Content-Disposition", `attachment; filename="`+t.Ref+"-"+strconv.FormatUint(m.Seq, 10)+`.eml"`)
			_, _ = w.Write(raw)
			return
		}
	}
	writeError(w, http.StatusNotFound, "no such message on this ticket")
}

func (a *API) retype(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Type string `json:"type"`
		By   string `json:"by"`
		Note string `json:"note"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	by := strings.TrimSpace(req.By)
	if by == "" {
		by = "api"
	}
	t, err := a.Store.Retype(strings.ToUpper(r.PathValue("ref")), intake.Type(req.Type), by, req.Note, time.Now())
	var ute *workflow.UnknownTypeError
	if errors.As(err, &ute) {
		writeError(w, http.StatusBadRequest, ute.Error())
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, summary(t))
}

func (a *API) listCorrections(w http.ResponseWriter, r *http.Request) {
	cs, err := a.Store.Corrections()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if cs == nil {
		cs = []workflow.Correction{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"corrections": cs})
}

// readJSON decodes a request body of at most 1 MiB into v, answering 400
// itself when it cannot.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

func (a *API) listUnmatched(w http.ResponseWriter, r *http.Request) {
	recs, err := a.Store.Unmatched()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]MessageView, 0, len(recs))
	for _, rec := range recs {
		out = append(out, MessageView{Seq: rec.Seq, Direction: rec.Direction, Mailbox: rec.Mailbox,
			Received: rec.Received, Message: rec.Message, Class: rec.Class})
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": out})
}

func (a *API) listOutbox(w http.ResponseWriter, r *http.Request) {
	entries, err := a.Store.Outbox(r.URL.Query().Get("pending") != "")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if entries == nil {
		entries = []workflow.OutboxEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"outbox": entries})
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	status := http.StatusOK
	out := map[string]any{}
	okAll := true
	for name, check := range a.Health {
		ok, detail := check()
		out[name] = map[string]any{"ok": ok, "detail": detail}
		okAll = okAll && ok
	}
	if _, err := a.Store.Stats(); err != nil {
		okAll = false
		out["store"] = map[string]any{"ok": false, "detail": err.Error()}
	} else {
		out["store"] = map[string]any{"ok": true}
	}
	out["status"] = "ok"
	if !okAll {
		out["status"] = "degraded"
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, out)
}

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, workflow.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	if a.Log != nil {
		a.Log.Error("api request failed", "path", r.URL.Path, "err", err)
	}
	writeError(w, http.StatusInternalServerError, "internal error")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
