package app

import (
	"strings"
	"testing"
	"time"

	"github.com/poraad/loket/intake"
)

func TestMailboxHealth(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	tests := []struct {
		name   string
		s      intake.PollerStatus
		ok     bool
		reason []string // each must be in the reason
	}{
		{"starting", intake.PollerStatus{Mailbox: "ondersteuning"}, false, []string{"ondersteuning", "not connected yet"}},
		{"connected, first pass running", intake.PollerStatus{Mailbox: "ondersteuning", Connected: true}, true, nil},
		{"connected and polling", intake.PollerStatus{Mailbox: "ondersteuning", Connected: true, LastPoll: ago(time.Second)}, true, nil},
		{"recovered from an old error", intake.PollerStatus{Mailbox: "ondersteuning", Connected: true, LastPoll: ago(time.Second),
			LastError: "connect: refused", LastErrorAt: ago(time.Minute)}, true, nil},
		{"handler failing, backing off", intake.PollerStatus{Mailbox: "praktijktoets", LastPoll: ago(time.Minute),
			LastError: "handle UID 7: ingest: no space left on device", LastErrorAt: ago(time.Second), RetryAt: now.Add(4 * time.Second), Failures: 3},
			false, []string{"mailbox praktijktoets", "no space left on device", "3 failure(s)", "next attempt in 4s"}},
		{"handler failing, reconnected for the next try", intake.PollerStatus{Mailbox: "praktijktoets", Connected: true, LastPoll: ago(time.Minute),
			LastError: "handle UID 7: ingest: no space left on device", LastErrorAt: ago(time.Second), Failures: 3},
			false, []string{"mailbox praktijktoets", "no space left on device"}},
		{"server down before the first pass", intake.PollerStatus{Mailbox: "ondersteuning",
			LastError: "connect to 127.0.0.1:143: connection refused", LastErrorAt: ago(time.Second), RetryAt: now.Add(time.Second), Failures: 1},
			false, []string{"mailbox ondersteuning", "connection refused"}},
		{"disconnected, last pass long ago", intake.PollerStatus{Mailbox: "ondersteuning", LastPoll: ago(10 * time.Minute)},
			false, []string{"no complete pass since"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, h := mailboxHealth(tt.s, time.Minute, now)
			if ok != tt.ok {
				t.Errorf("ok = %v, want %v (reason %q)", ok, tt.ok, h.Reason)
			}
			if tt.ok && h.Reason != "" {
				t.Errorf("healthy with reason %q", h.Reason)
			}
			for _, want := range tt.reason {
				if !strings.Contains(h.Reason, want) {
					t.Errorf("reason %q lacks %q", h.Reason, want)
				}
			}
		})
	}
}
