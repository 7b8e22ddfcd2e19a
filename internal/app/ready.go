package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/workflow"
)

// outboxStuckAfter is how old the oldest pending outbox entry may be
// before /readyz (and /healthz) call the outbox stuck.
const outboxStuckAfter = time.Hour

// readiness answers /readyz: 200 only when the store is open, every
// mailbox completed a pass within 3 of its poll intervals and the outbox
// is not stuck; else 503 with what is wrong. /healthz (web/api.go) says
// whether the parts are alive; /readyz whether Loket does its work.
type readiness struct {
	store     *workflow.Store
	pollers   pollerStatus
	intervals map[string]time.Duration
	now       func() time.Time
}

// Readiness is the body of /readyz.
type Readiness struct {
	Ready     bool                     `json:"ready"`
	Problems  []string                 `json:"problems,omitempty"`
	Mailboxes map[string]MailboxStatus `json:"mailboxes"`
	Outbox    OutboxStatus             `json:"outbox"`
}

// MailboxStatus is one mailbox in /readyz.
type MailboxStatus struct {
	Connected   bool      `json:"connected"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	Within      string    `json:"must_poll_within"`
}

// OutboxStatus is the outbox in /readyz.
type OutboxStatus struct {
	Queued        int    `json:"queued"`
	Failed        int    `json:"failed"`
	OldestPending string `json:"oldest_pending,omitempty"`
}

func (rd *readiness) check() Readiness {
	now := rd.now()
	r := Readiness{Mailboxes: map[string]MailboxStatus{}}
	if err := rd.store.Ping(); err != nil {
		r.Problems = append(r.Problems, "store: "+err.Error())
	}
	names := make([]string, 0, len(rd.pollers))
	for name := range rd.pollers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := rd.pollers[name]()
		within := 3 * rd.intervals[name]
		if within <= 0 {
			within = 3 * time.Minute
		}
		r.Mailboxes[name] = MailboxStatus{Connected: s.Connected, LastSuccess: s.LastPoll, LastError: s.LastError, Within: within.String()}
		switch {
		case s.LastPoll.IsZero():
			p := fmt.Sprintf("mailbox %s: no complete pass yet", name)
			if s.LastError != "" {
				p += ": " + s.LastError
			}
			r.Problems = append(r.Problems, p)
		case now.Sub(s.LastPoll) > within:
			p := fmt.Sprintf("mailbox %s: last complete pass %s ago (limit %s)", name, now.Sub(s.LastPoll).Round(time.Second), within)
			if s.LastError != "" && s.LastErrorAt.After(s.LastPoll) {
				p += ": " + s.LastError
			}
			r.Problems = append(r.Problems, p)
		}
	}
	oc, err := rd.store.OutboxCounts()
	if err != nil {
		r.Problems = append(r.Problems, "outbox: "+err.Error())
	} else {
		r.Outbox = OutboxStatus{Queued: oc.ByStatus[workflow.OutboxQueued], Failed: oc.ByStatus[workflow.OutboxFailed]}
		if !oc.OldestPending.IsZero() {
			age := now.Sub(oc.OldestPending)
			r.Outbox.OldestPending = age.Round(time.Second).String()
			if age >= outboxStuckAfter {
				r.Problems = append(r.Problems, fmt.Sprintf("outbox: oldest pending mail waits %s (limit %s)", age.Round(time.Second), outboxStuckAfter))
			}
		}
	}
	r.Ready = len(r.Problems) == 0
	return r
}

func (rd *readiness) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	r := rd.check()
	status := http.StatusOK
	if !r.Ready {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(r)
}

// withOps serves /metrics and /readyz beside the API and the desk.
func withOps(h http.Handler, metrics, ready http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.Handle("GET /readyz", ready)
	mux.Handle("/", h)
	return mux
}

// newOps registers the scrape-time collector and returns /readyz's
// handler.
func newOps(mx *metrics, st *workflow.Store, pollers map[string]*intake.Poller, o Options) *readiness {
	intervals := map[string]time.Duration{}
	for _, m := range o.Mailboxes {
		intervals[m.Name] = m.PollInterval
		if intervals[m.Name] <= 0 {
			intervals[m.Name] = time.Minute
		}
	}
	status := statusOf(pollers)
	mx.watch(&stateCollector{store: st, pollers: status, now: time.Now})
	return &readiness{store: st, pollers: status, intervals: intervals, now: time.Now}
}

// pollerStatus gives each mailbox's poller status by name; tests set their
// own.
type pollerStatus map[string]func() intake.PollerStatus

func statusOf(pollers map[string]*intake.Poller) pollerStatus {
	out := pollerStatus{}
	for name, p := range pollers {
		out[name] = p.Status
	}
	return out
}
