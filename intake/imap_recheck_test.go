package intake

import (
	"fmt"
	"testing"
	"time"

	"github.com/poraad/loket/internal/mailtest"
)

// TestPollerIdleRecheck: with IdleRecheck the poller finds new mail by
// NOOP, with no IDLE, interval or kick, hands it over through the normal
// pass in UID order, each message once, and stops promptly.
func TestPollerIdleRecheck(t *testing.T) {
	tests := []struct {
		name   string
		server string // "memory" or "dovecot"
		noIdle bool
	}{
		{"memory server", "memory", false},
		{"memory server without IDLE", "memory", true},
		{"dovecot", "dovecot", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg MailboxConfig
			var appendMsg func(raw []byte) error
			switch tt.server {
			case "dovecot":
				mailtest.RequireDovecot(t)
				d, err := mailtest.StartDovecot(t.TempDir(), map[string]string{"desk": "geheim"})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { d.Stop() })
				cfg = configFor(d, "desk", "geheim")
				appendMsg = func(raw []byte) error { return d.Append("desk", "INBOX", raw) }
			default:
				srv := startIMAP(t)
				cfg = configFor(srv, "desk", "geheim")
				appendMsg = func(raw []byte) error { return srv.Append("desk", "INBOX", raw) }
			}
			cfg.IdleRecheck = 20 * time.Millisecond
			h := newTestHandler()
			p := newTestPoller(t, cfg, h)
			p.noIdle = tt.noIdle
			stop := run(t, p)
			waitUntil(t, 5*time.Second, "the first pass", func() bool { return !p.Status().LastPoll.IsZero() })

			for i := 1; i <= 3; i++ {
				if err := appendMsg(testMessage(i)); err != nil {
					t.Fatal(err)
				}
				h.waitFor(t, i, 5*time.Second)
			}
			time.Sleep(100 * time.Millisecond) // room for a wrongly doubled message
			if got := uidsOf(h.fetched()); fmt.Sprint(got) != "[1 2 3]" {
				t.Errorf("UIDs %v, want [1 2 3]", got)
			}
			if st := p.Status(); st.Cursor.LastUID != 3 || st.Handled != 3 {
				t.Errorf("status %+v", st)
			}
			stop()
			h.checkContract(t)
		})
	}
}
