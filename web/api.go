// Package web serves Loket over HTTP: the JSON API under /api/v1 (bearer
// token) that scripts and the CLI use (api.go, actions.go, backup.go), the
// health check, and the project leaders' desk (desk*.go: server-rendered
// pages with login sessions and CSRF tokens, templates/ and static/
// embedded). Mount puts both on one listener.
package web

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
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

// TicketSummary is the head of a ticket in the API's answers about one
// ticket (GET /api/v1/tickets/{ref} and the actions).
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

// TicketListItem is a ticket in GET /api/v1/tickets. The list is answered
// from the queue index, so it leaves out what the index does not hold: the
// phone number, message IDs and flags are in GET /api/v1/tickets/{ref}.
type TicketListItem struct {
	Ref              string           `json:"ref"`
	Mailbox          string           `json:"mailbox"`
	Type             intake.Type      `json:"type"`
	Family           workflow.Family  `json:"family"`
	State            workflow.State   `json:"state"`
	Subject          string           `json:"subject"`
	RequesterName    string           `json:"requester_name,omitempty"`
	RequesterAddress string           `json:"requester_address"`
	Org              string           `json:"org"`
	Assignee         string           `json:"assignee,omitempty"`
	Created          time.Time        `json:"created"`
	Updated          time.Time        `json:"updated"`
	Messages         int              `json:"messages"`
	Bounced          bool             `json:"bounced,omitempty"`
	Flagged          bool             `json:"flagged,omitempty"` // the ticket has flags
	AllowedEvents    []workflow.Event `json:"allowed_events"`
}

// TicketList is the answer of GET /api/v1/tickets: one page of the
// matching tickets, newest first (created, then ref, descending).
type TicketList struct {
	Tickets []TicketListItem `json:"tickets"`
	Total   int              `json:"total"`  // tickets matching the filters
	Offset  int              `json:"offset"` // matching tickets before this page
	Limit   int              `json:"limit"`
	// NextCursor asks for the next page (?cursor=); absent on the last.
	NextCursor string `json:"next_cursor,omitempty"`
}

// Page sizes of GET /api/v1/tickets.
const (
	listDefaultLimit = 100
	listMaxLimit     = 1000
)

func listItem(s *workflow.Summary) TicketListItem {
	allowed := workflow.AllowedEvents(s.Family, s.State)
	if allowed == nil {
		allowed = []workflow.Event{}
	}
	return TicketListItem{
		Ref: s.Ref, Mailbox: s.Mailbox, Type: s.Type, Family: s.Family, State: s.State, Subject: s.Subject,
		RequesterName: s.RequesterName, RequesterAddress: s.RequesterAddress, Org: s.Org, Assignee: s.Assignee,
		Created: s.Created, Updated: s.Updated, Messages: s.Messages, Bounced: s.Bounced, Flagged: s.Flagged,
		AllowedEvents: allowed,
	}
}

// listTickets answers GET /api/v1/tickets from the in-memory queue index,
// without reading a ticket from the store.
func (a *API) listTickets(w http.ResponseWriter, r *http.Request) {
	q, err := parseListQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := a.Store.Queue(q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := TicketList{Tickets: make([]TicketListItem, 0, len(res.Rows)), Total: res.Total, Offset: res.Start, Limit: q.Limit}
	for i := range res.Rows {
		out.Tickets = append(out.Tickets, listItem(&res.Rows[i]))
	}
	if n := len(res.Rows); n > 0 && res.Start+n < res.Total {
		out.NextCursor = encodeCursor(res.Rows[n-1].Pos())
	}
	writeJSON(w, http.StatusOK, out)
}

// parseListQuery turns the parameters of GET /api/v1/tickets into an index
// query; its errors name the parameter and are meant for the client.
func parseListQuery(v url.Values) (workflow.QueueQuery, error) {
	q := workflow.QueueQuery{AllStates: true, Sort: workflow.SortNewest, Limit: listDefaultLimit,
		State: workflow.State(v.Get("state")), Type: intake.Type(v.Get("type")), Mailbox: v.Get("mailbox")}
	for k := range v {
		switch k {
		case "state", "type", "mailbox", "limit", "offset", "cursor":
		default:
			return q, fmt.Errorf("unknown parameter %q (known: state, type, mailbox, limit, offset, cursor)", k)
		}
	}
	if q.State != "" && !slices.Contains(deskStates, q.State) {
		return q, fmt.Errorf("invalid state %q: not a ticket state", q.State)
	}
	if q.Type != "" && !slices.Contains(intake.Types, q.Type) {
		return q, fmt.Errorf("invalid type %q: not a request type", q.Type)
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > listMaxLimit {
			return q, fmt.Errorf("invalid limit %q: want a number from 1 to %d", s, listMaxLimit)
		}
		q.Limit = n
	}
	if s := v.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return q, fmt.Errorf("invalid offset %q: want a number from 0", s)
		}
		q.Offset = n
	}
	if s := v.Get("cursor"); s != "" {
		if v.Get("offset") != "" {
			return q, errors.New("invalid cursor: give either offset or cursor, not both")
		}
		pos, err := decodeCursor(s)
		if err != nil {
			return q, fmt.Errorf("invalid cursor: %w", err)
		}
		q.After = &pos
	}
	return q, nil
}

// A cursor is the position of the last ticket of a page, opaque to the
// client: base64url of its creation time (RFC 3339) and ref. It stays valid
// when that ticket changes or is removed.
func encodeCursor(p workflow.QueuePos) string {
	return base64.RawURLEncoding.EncodeToString([]byte(p.Created.UTC().Format(time.RFC3339Nano) + " " + p.Ref))
}

func decodeCursor(s string) (workflow.QueuePos, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return workflow.QueuePos{}, errors.New("not a cursor from next_cursor")
	}
	created, ref, ok := strings.Cut(string(b), " ")
	t, err := time.Parse(time.RFC3339Nano, created)
	if !ok || ref == "" || err != nil {
		return workflow.QueuePos{}, errors.New("not a cursor from next_cursor")
	}
	return workflow.QueuePos{Created: t, Ref: ref}, nil
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
	// Purged: the content was removed (retention, a request to be
	// forgotten); Message holds only what threading needs.
	Purged bool                  `json:"purged,omitempty"`
	Outbox *workflow.OutboxEntry `json:"outbox,omitempty"`
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
			Message: rec.Message, Class: rec.Class, HeaderOnly: rec.HeaderOnly, Purged: rec.Purged}
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
	// Ping, not Stats: Stats reads every ticket, seconds with 100 000.
	if err := a.Store.Ping(); err != nil {
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
