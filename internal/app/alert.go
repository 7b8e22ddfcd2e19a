package app

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/workflow"
)

// Alerter mails the operator ([alerts] address) when something keeps
// Loket from its work, and again when it recovers: a desk must never learn
// from a requester that mail stopped arriving days ago.
//
// Every problem has a key ("mailbox:ondersteuning", "oauth2:praktijktoets").
// Problem and Resolved set what is true now; a mail goes out when that
// differs from what was last mailed for the key, at most one per key per
// MinInterval, so a flapping mailbox cannot flood the operator. Mail goes
// through the outbox (workflow.Store.EnqueueSystemMail): it survives a
// restart and is retried. What was mailed is kept in memory only: after a
// restart a problem that persists is mailed again once.
//
// The pollers are watched by Watch; other parts (the OAuth2 token source)
// call Problem and Resolved themselves. A nil *Alerter does nothing.
type Alerter struct {
	Store       *workflow.Store
	To          string // the operator's address; empty disables alerts
	From        string // a mailbox address Loket sends from
	FromName    string
	MinInterval time.Duration
	NoPollAfter time.Duration // Watch: a mailbox without a complete pass this long is a problem
	Kick        func()        // the sender's Kick
	Log         *slog.Logger
	Now         func() time.Time

	mu   sync.Mutex
	keys map[string]*alertState
}

type alertState struct {
	problem  bool   // true now
	text     string // what is wrong, while problem
	since    time.Time
	mailed   bool // the state last mailed is "problem"
	lastMail time.Time
}

func (a *Alerter) logger() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

func (a *Alerter) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Problem records that key is wrong now, text saying what, and mails the
// operator unless that was done or the rate limit holds it back (then the
// next Problem, Resolved or Flush sends it).
func (a *Alerter) Problem(key, text string) {
	if a == nil {
		return
	}
	a.set(key, true, text)
}

// Resolved records that key is fine now; when a problem was mailed for
// it, a recovery mail follows.
func (a *Alerter) Resolved(key string) {
	if a == nil {
		return
	}
	a.set(key, false, "")
}

func (a *Alerter) set(key string, problem bool, text string) {
	a.mu.Lock()
	if a.keys == nil {
		a.keys = map[string]*alertState{}
	}
	s := a.keys[key]
	if s == nil {
		s = &alertState{}
		a.keys[key] = s
	}
	if problem && !s.problem {
		s.since = a.now()
	}
	s.problem = problem
	if problem {
		s.text = text
	}
	a.mu.Unlock()
	a.Flush()
}

// Flush mails every key whose state differs from what was last mailed and
// whose rate limit has passed.
func (a *Alerter) Flush() {
	if a == nil || a.To == "" {
		return
	}
	now := a.now()
	a.mu.Lock()
	keys := make([]string, 0, len(a.keys))
	for k := range a.keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	type pending struct {
		key string
		s   alertState
	}
	var due []pending
	for _, k := range keys {
		s := a.keys[k]
		if s.problem == s.mailed || (!s.lastMail.IsZero() && now.Sub(s.lastMail) < a.MinInterval) {
			continue
		}
		due = append(due, pending{k, *s})
		s.mailed, s.lastMail = s.problem, now
	}
	a.mu.Unlock()
	sent := false
	for _, d := range due {
		if err := a.mail(d.key, d.s, now); err != nil {
			a.logger().Error("queue alert mail", "key", d.key, "err", err)
			a.mu.Lock()
			a.keys[d.key].mailed = !d.s.problem // try again at the next Flush
			a.keys[d.key].lastMail = time.Time{}
			a.mu.Unlock()
			continue
		}
		sent = true
	}
	if sent && a.Kick != nil {
		a.Kick()
	}
}

func (a *Alerter) mail(key string, s alertState, now time.Time) error {
	m := workflow.SystemMail{Purpose: "alert", FromName: a.FromName, From: a.From, To: []string{a.To}}
	if s.problem {
		m.Subject = "[Loket] Probleem: " + key
		m.Body = fmt.Sprintf("Loket heeft een probleem dat aandacht nodig heeft.\n\n%s\n\nSinds: %s\nSleutel: %s\n\n"+
			"Je krijgt een nieuwe mail zodra het is opgelost. Kijk ook op /readyz.\n",
			s.text, s.since.In(time.Local).Format("2006-01-02 15:04 MST"), key)
	} else {
		m.Subject = "[Loket] Opgelost: " + key
		m.Body = fmt.Sprintf("Het probleem met %s is opgelost (%s).\n", key, now.In(time.Local).Format("2006-01-02 15:04 MST"))
	}
	id, err := a.Store.EnqueueSystemMail(m, now)
	if err == nil {
		a.logger().Warn("alert mail queued", "key", key, "problem", s.problem, "outbox_id", id)
	}
	return err
}

// checkPollers raises or clears "mailbox:NAME" for every poller: a
// problem when its last complete pass (or, before the first, start) is
// longer ago than noPollAfter.
func (a *Alerter) checkPollers(pollers pollerStatus, started time.Time, noPollAfter time.Duration) {
	now := a.now()
	for name, status := range pollers {
		s := status()
		last := s.LastPoll
		if last.IsZero() {
			last = started
		}
		key := "mailbox:" + name
		if now.Sub(last) < noPollAfter {
			a.Resolved(key)
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "Mailbox %s is sinds %s niet meer gelezen", name, noPollAfter)
		if !s.LastPoll.IsZero() {
			fmt.Fprintf(&b, " (laatste geslaagde ronde: %s)", s.LastPoll.In(time.Local).Format("2006-01-02 15:04 MST"))
		}
		b.WriteString(".")
		if s.LastError != "" {
			fmt.Fprintf(&b, "\nLaatste fout: %s", s.LastError)
		}
		a.Problem(key, b.String())
	}
}

// Watch checks the pollers every interval until ctx is done.
func (a *Alerter) Watch(ctx context.Context, pollers map[string]*intake.Poller, interval time.Duration) {
	if a == nil || a.To == "" {
		return
	}
	started := a.now()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.checkPollers(statusOf(pollers), started, a.NoPollAfter)
			a.Flush()
		}
	}
}

// AlertOptions is the [alerts] section.
type AlertOptions struct {
	Address     string        // empty: no alert mail
	NoPollAfter time.Duration // a mailbox without a complete pass this long is a problem; default 30m
	MinInterval time.Duration // at most one mail per problem this often; default 1h
}

func newAlerter(st *workflow.Store, o Options, log *slog.Logger) *Alerter {
	if o.Alerts.NoPollAfter <= 0 {
		o.Alerts.NoPollAfter = 30 * time.Minute
	}
	if o.Alerts.MinInterval <= 0 {
		o.Alerts.MinInterval = time.Hour
	}
	a := &Alerter{Store: st, To: o.Alerts.Address, FromName: "Loket", MinInterval: o.Alerts.MinInterval,
		NoPollAfter: o.Alerts.NoPollAfter, Log: log}
	if len(o.Mailboxes) > 0 {
		a.From = o.Mailboxes[0].Address
	}
	return a
}

// hookTokens makes an OAuth2 token source's hooks (intake.MailboxConfig,
// workflow.SMTPConfig: OnTokenError, OnTokenOK) raise and clear
// "oauth2:NAME", keeping hooks already set.
func (a *Alerter) hookTokens(onError *func(string, error), onOK *func(string)) {
	prevErr, prevOK := *onError, *onOK
	*onError = func(name string, err error) {
		if prevErr != nil {
			prevErr(name, err)
		}
		a.Problem("oauth2:"+name, fmt.Sprintf("Het OAuth2-token voor %s kan niet worden opgehaald of vernieuwd: %v\n"+
			"Zonder token leest Loket deze mailbox niet (of verstuurt het geen mail, bij smtp). Controleer de app-registratie en het client secret.", name, err))
	}
	*onOK = func(name string) {
		if prevOK != nil {
			prevOK(name)
		}
		a.Resolved("oauth2:" + name)
	}
}
