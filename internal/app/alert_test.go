package app

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/workflow"
)

func TestAlerterMailboxStopsAndRecovers(t *testing.T) {
	e := newOpsEnv(t)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	now := t0
	kicks := 0
	a := &Alerter{Store: e.st, To: "beheer@poraad.nl", From: "ondersteuningpassendonderwijs@poraad.nl", FromName: "Loket",
		MinInterval: time.Hour, Kick: func() { kicks++ }, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
	var lastPoll time.Time // never polled
	pollers := pollerStatus{"ondersteuning": func() intake.PollerStatus {
		return intake.PollerStatus{Mailbox: "ondersteuning", LastPoll: lastPoll, LastError: "connect: connection refused"}
	}}
	step := func(at time.Duration) {
		now = t0.Add(at)
		a.checkPollers(pollers, t0, 30*time.Minute)
		a.Flush()
	}
	mails := func() []workflow.OutboxEntry {
		t.Helper()
		out, err := e.st.Outbox(false)
		if err != nil {
			t.Fatal(err)
		}
		// Newest first; return oldest first.
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		return out
	}
	check := func(n int, subject string) {
		t.Helper()
		m := mails()
		if len(m) != n {
			t.Fatalf("at %s: %d alert mails, want %d", now.Sub(t0), len(m), n)
		}
		if n > 0 && !strings.HasPrefix(m[n-1].Subject, subject) {
			t.Errorf("at %s: last mail %q, want %q", now.Sub(t0), m[n-1].Subject, subject)
		}
	}

	step(10 * time.Minute)
	check(0, "")
	step(31 * time.Minute) // no pass for 31 minutes since start
	check(1, "[Loket] Probleem: mailbox:ondersteuning")
	if m := mails()[0]; m.To[0] != "beheer@poraad.nl" || m.TicketRef != "" || m.Status != workflow.OutboxQueued ||
		!strings.Contains(m.Body, "connection refused") || !m.Automatic {
		t.Errorf("alert entry %+v", m)
	}
	step(40 * time.Minute) // still failing: no second mail
	check(1, "")

	lastPoll = t0.Add(44 * time.Minute)
	step(45 * time.Minute) // recovered, but within the hour of the last mail
	check(1, "")
	lastPoll = t0.Add(91 * time.Minute)
	step(92 * time.Minute)
	check(2, "[Loket] Opgelost: mailbox:ondersteuning")

	step(125 * time.Minute) // fails again (last pass 34 minutes ago): held back
	check(2, "")
	step(153 * time.Minute)
	check(3, "[Loket] Probleem: mailbox:ondersteuning")

	// Another part's problem (an OAuth2 token that cannot be refreshed) has
	// its own key and its own limit.
	a.Problem("oauth2:praktijktoets", "token vernieuwen mislukt: invalid_grant")
	check(4, "[Loket] Probleem: oauth2:praktijktoets")
	a.Resolved("oauth2:praktijktoets")
	check(4, "")
	if kicks != 4 {
		t.Errorf("sender kicked %d times, want 4", kicks)
	}

	// A nil or unaddressed Alerter does nothing.
	var none *Alerter
	none.Problem("x", "y")
	(&Alerter{Store: e.st}).Problem("x", "y")
	check(4, "")
}

func TestAlerterOAuth2Hooks(t *testing.T) {
	e := newOpsEnv(t)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	a := &Alerter{Store: e.st, To: "beheer@poraad.nl", From: "praktijktoets@ondersteuningpassendonderwijs.nl",
		MinInterval: time.Minute, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
	var prev []string
	mc := intake.MailboxConfig{Name: "praktijktoets",
		OnTokenError: func(name string, err error) { prev = append(prev, "error "+name) }}
	a.hookTokens(&mc.OnTokenError, &mc.OnTokenOK)
	mc.OnTokenError("praktijktoets", errors.New(`oauth2: "invalid_client"`))
	mc.OnTokenOK("praktijktoets") // within the minute: held back
	now = now.Add(2 * time.Minute)
	a.Flush()
	out, err := e.st.Outbox(false)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[1].Subject != "[Loket] Probleem: oauth2:praktijktoets" || !strings.Contains(out[1].Body, "invalid_client") ||
		out[0].Subject != "[Loket] Opgelost: oauth2:praktijktoets" {
		t.Errorf("alert mails: %d", len(out))
		for _, m := range out {
			t.Logf("%s", m.Subject)
		}
	}
	if len(prev) != 1 {
		t.Errorf("the hook set before was not kept: %v", prev)
	}
}
