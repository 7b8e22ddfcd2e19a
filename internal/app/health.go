package app

import (
	"fmt"
	"time"

	"github.com/poraad/loket/intake"
)

// MailboxHealth is what /healthz shows of one mailbox: the poller's status
// and, when it is not healthy, why in one line.
type MailboxHealth struct {
	intake.PollerStatus
	Reason string `json:"reason,omitempty"`
}

// mailboxHealth judges a poller's status at now. A mailbox is unhealthy
// as soon as it fails and stays so until a pass completes after the
// failure: a message that cannot be stored (the store's disk is full) makes
// every session fail at that message, so the poller stops advancing, and
// that must show at once, not after minutes. Before its first pass a
// mailbox is healthy while connected; after it, while connected or while
// its last complete pass is recent.
func mailboxHealth(s intake.PollerStatus, interval time.Duration, now time.Time) (bool, MailboxHealth) {
	h := MailboxHealth{PollerStatus: s}
	switch {
	case !s.LastErrorAt.IsZero() && s.LastErrorAt.After(s.LastPoll):
		h.Reason = fmt.Sprintf("mailbox %s: failing since %s (%d failure(s) in a row): %s",
			s.Mailbox, s.LastErrorAt.Format(time.RFC3339), max(s.Failures, 1), s.LastError)
		if !s.RetryAt.IsZero() {
			h.Reason += fmt.Sprintf("; next attempt in %s", s.RetryAt.Sub(now).Round(time.Second))
		}
	case s.Connected:
	case s.LastPoll.IsZero():
		h.Reason = fmt.Sprintf("mailbox %s: not connected yet", s.Mailbox)
	case now.Sub(s.LastPoll) >= 3*interval+time.Minute:
		h.Reason = fmt.Sprintf("mailbox %s: no complete pass since %s", s.Mailbox, s.LastPoll.Format(time.RFC3339))
	}
	return h.Reason == "", h
}
