package intake

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// startingHandler is a testHandler that stores a first cursor and keeps
// its backlog boundary, as the workflow's store does.
type startingHandler struct {
	*testHandler
	starts int
}

func (h *startingHandler) StartCursor(_ context.Context, _ string, c Cursor) (Cursor, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.starts++
	if h.cursor == (Cursor{}) {
		h.cursor = c
	}
	return h.cursor, nil
}

func (h *startingHandler) Handle(ctx context.Context, f Fetched) error {
	h.mu.Lock()
	until := h.cursor.BacklogUntil
	h.mu.Unlock()
	if err := h.testHandler.Handle(ctx, f); err != nil {
		return err
	}
	h.mu.Lock()
	h.cursor.BacklogUntil = until
	h.mu.Unlock()
	return nil
}

func backlogFlags(fs []Fetched) string {
	var s string
	for _, f := range fs {
		s += fmt.Sprintf("%d:%v ", f.UID, f.Backlog)
	}
	return s
}

// TestPollerInitialSync checks the three first-start modes: the backlog is
// the mail in the folder at the first SELECT; mail after it is new mail.
func TestPollerInitialSync(t *testing.T) {
	for _, tc := range []struct {
		mode  string
		start Cursor // stored before the start: resuming an import
		want  string // UID:Backlog of what the handler gets
	}{
		{InitialSyncImportSilent, Cursor{}, "1:true 2:true 3:true 4:false "},
		{InitialSyncImport, Cursor{}, "1:false 2:false 3:false 4:false "},
		{"", Cursor{}, "1:false 2:false 3:false 4:false "},
		{InitialSyncNewOnly, Cursor{}, "4:false "},
		// A crash after UID 1 of a silent import: the boundary is kept.
		{InitialSyncImportSilent, Cursor{LastUID: 1, BacklogUntil: 3}, "2:true 3:true 4:false "},
	} {
		t.Run(fmt.Sprintf("%s-%d", tc.mode, tc.start.LastUID), func(t *testing.T) {
			srv := startIMAP(t)
			for i := 1; i <= 3; i++ {
				if err := srv.Append("desk", "INBOX", testMessage(i)); err != nil {
					t.Fatal(err)
				}
			}
			h := &startingHandler{testHandler: newTestHandler()}
			cfg := configFor(srv, "desk", "geheim")
			cfg.InitialSync = tc.mode
			if tc.start != (Cursor{}) {
				// The UIDVALIDITY of the in-memory server, learnt from a
				// first poller that stores a cursor and fetches nothing.
				probe := &startingHandler{testHandler: newTestHandler()}
				pc := cfg
				pc.InitialSync = InitialSyncNewOnly
				pp := newTestPoller(t, pc, probe)
				stop := run(t, pp)
				waitUntil(t, 5*time.Second, "the probe's pass", func() bool { return !pp.Status().LastPoll.IsZero() })
				stop()
				c, _ := probe.Cursor(context.Background(), "")
				tc.start.UIDValidity = c.UIDValidity
				h.setCursor(tc.start)
			}
			p := newTestPoller(t, cfg, h)
			run(t, p)
			waitUntil(t, 5*time.Second, "the first pass", func() bool { return !p.Status().LastPoll.IsZero() })
			if err := srv.Append("desk", "INBOX", testMessage(4)); err != nil {
				t.Fatal(err)
			}
			p.Kick()
			waitUntil(t, 5*time.Second, "UID 4", func() bool {
				fs := h.fetched()
				return len(fs) > 0 && fs[len(fs)-1].UID == 4
			})
			if got := backlogFlags(h.fetched()); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			h.checkContract(t)
		})
	}
}
