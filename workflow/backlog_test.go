package workflow

import (
	"testing"

	"github.com/poraad/loket/intake"
)

// TestIngestBacklog checks a silent import: the backlog becomes tickets
// with the audit note and no mail; the cursor keeps its boundary; mail
// after the boundary is confirmed as always.
func TestIngestBacklog(t *testing.T) {
	f := newFixture(t)
	start := intake.Cursor{UIDValidity: 7, BacklogUntil: 2}
	if got, err := f.store.StartCursor("ondersteuning", start); err != nil || got != start {
		t.Fatalf("StartCursor = %+v, %v", got, err)
	}
	// A second start (a restart mid-import) keeps what is stored.
	if got, err := f.store.StartCursor("ondersteuning", intake.Cursor{UIDValidity: 7, LastUID: 99}); err != nil || got != start {
		t.Fatalf("second StartCursor = %+v, %v", got, err)
	}
	ingest := func(uid uint32, id string, backlog bool) IngestResult {
		t.Helper()
		res, err := f.store.Ingest(Inbound{Mailbox: "ondersteuning", UIDValidity: 7, UID: uid, Raw: []byte("raw " + id),
			Msg: msg(id, "m.duinkerk@swv.example", "Clinic"), Class: newClass(intake.TypeClinic), Backlog: backlog}, f.pol)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for i, id := range []string{"old1@x", "old2@x"} { // in UID order: a lower UID after a higher one is skipped
		uid := uint32(i + 1)
		res := ingest(uid, id, true)
		if !res.NewTicket || res.OutboxID != 0 || res.Queued != 0 || res.NoConfirmation != AuditImported {
			t.Errorf("backlog UID %d: %+v", uid, res)
		}
		tk := f.ticket(res.TicketRef)
		found := false
		for _, a := range tk.Audit {
			found = found || a.Detail == AuditImported
		}
		if !found || tk.State != StateNew {
			t.Errorf("ticket %s: state %s, audit %+v", tk.Ref, tk.State, tk.Audit)
		}
	}
	if c, _ := f.store.Cursor("ondersteuning"); c != (intake.Cursor{UIDValidity: 7, LastUID: 2, BacklogUntil: 2}) {
		t.Errorf("cursor after the backlog = %+v", c)
	}
	if res := ingest(3, "new@x", false); res.OutboxID == 0 {
		t.Errorf("new mail after the backlog not confirmed: %+v", res)
	}
	if st, _ := f.store.Stats(); st.OutboxPending != 1 {
		t.Errorf("%d mails pending, want 1", st.OutboxPending)
	}
}
