package workflow

import (
	"errors"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/poraad/loket/intake"
)

// setState puts a ticket in a state at a time, as the desk would.
func (f *fixture) closeAt(ref string, s State, at time.Time) {
	f.t.Helper()
	err := f.store.db.Update(func(tx *bolt.Tx) error {
		t, err := ticketTx(tx, ref)
		if err != nil {
			return err
		}
		t.State = s
		t.audit(at, "a.leider@poraad.nl", "transition", "naar "+string(s), "gesprek met Marloes over leerling Sem")
		return putTicketTx(tx, t)
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func TestPurgeClosed(t *testing.T) {
	f := newFixture(t)
	m := msg("old-1@swv.example", "m.duinkerk@swv.example", "aanmelding clinic")
	m.Attachments = []intake.Attachment{{Filename: "verslag-sem.pdf", ContentType: "application/pdf", Size: 100}}
	old := f.ingest("ondersteuning", m, newClass(intake.TypeClinic)).TicketRef
	recent := f.ingest("ondersteuning", msg("new-1@swv.example", "j.jansen@swv.example", "aanmelding"), newClass(intake.TypeClinic)).TicketRef
	open := f.ingest("ondersteuning", msg("open-1@swv.example", "k.klaas@swv.example", "aanmelding"), newClass(intake.TypeClinic)).TicketRef
	f.closeAt(old, StateClosed, f.now)
	f.closeAt(recent, StateClosed, f.now.AddDate(0, 5, 0))
	ooo := f.ingest("ondersteuning", msg("ooo-1@swv.example", "p.pieters@swv.example", "Afwezig"), intake.Classification{Kind: intake.KindAutoReply})
	if !ooo.Unmatched {
		t.Fatal("out-of-office not unmatched")
	}

	now := f.now.AddDate(0, 7, 0)
	res, err := f.store.PurgeClosed(now.AddDate(0, -6, 0), 6, now)
	if err != nil {
		t.Fatal(err)
	}
	if res.Tickets != 1 || res.Refs[0] != old || res.Messages != 3 { // the request, its confirmation, the out-of-office
		t.Fatalf("purge %+v, want only %s and 3 messages", res, old)
	}
	if rec, _ := f.store.Message(ooo.Seq); rec.Message.Text != "" {
		t.Errorf("unmatched mail not purged")
	}
	tk := f.ticket(old)
	if tk.Requester.Address != "m.duinkerk@swv.example" || tk.State != StateClosed || tk.Subject != "aanmelding clinic" {
		t.Errorf("ticket metadata changed: %+v", tk)
	}
	last := tk.Audit[len(tk.Audit)-1]
	if last.Action != "retention-purge" || !strings.Contains(last.Detail, "2 bericht(en)") || !strings.Contains(last.Detail, "6 maand(en)") {
		t.Errorf("audit %+v", last)
	}
	for _, ref := range tk.Messages {
		rec, err := f.store.Message(ref.Seq)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Message.Text != "" || len(rec.Message.Attachments) > 0 || len(rec.Message.Header) > 0 || rec.Message.MessageID != ref.MessageID {
			t.Errorf("message %d not purged: %+v", ref.Seq, rec.Message)
		}
		if _, err := f.store.Raw(ref.Seq); !IsNotFound(err) {
			t.Errorf("raw of %d: %v, want not found", ref.Seq, err)
		}
		if ref.OutboxID != 0 {
			e, _ := f.store.OutboxEntry(ref.OutboxID)
			if e.Status == OutboxQueued && e.Body == "" {
				t.Errorf("queued mail lost its body")
			}
		}
	}
	// The Message-ID still dedupes: fetching the request again adds nothing.
	if r := f.ingest("ondersteuning", msg("old-1@swv.example", "m.duinkerk@swv.example", "aanmelding clinic"), newClass(intake.TypeClinic)); !r.Duplicate {
		t.Errorf("re-fetched purged message not a duplicate: %+v", r)
	}
	// Untouched: the recently closed and the open ticket.
	for _, ref := range []string{recent, open} {
		rec, _ := f.store.Message(f.ticket(ref).Messages[0].Seq)
		if rec.Message.Text == "" {
			t.Errorf("%s purged", ref)
		}
	}
	// Search no longer finds the purged words.
	if q, err := f.store.Queue(QueueQuery{Text: "melden", AllStates: true}); err == nil {
		for _, s := range q.Rows {
			if s.Ref == old {
				t.Errorf("purged ticket still found by its words")
			}
		}
	}
	// A second run finds nothing left to do and writes no audit entry.
	n := len(f.ticket(old).Audit)
	if res, err := f.store.PurgeClosed(now.AddDate(0, -6, 0), 6, now); err != nil || res.Tickets != 0 {
		t.Errorf("second purge %+v, %v", res, err)
	}
	if len(f.ticket(old).Audit) != n {
		t.Errorf("second purge audited")
	}
}

func TestExportAndForget(t *testing.T) {
	f := newFixture(t)
	addr := "m.duinkerk@swv.example"
	closed := f.ingest("ondersteuning", msg("a-1@swv.example", addr, "leerling Sem"), newClass(intake.TypeClinic)).TicketRef
	open := f.ingest("ondersteuning", msg("a-2@swv.example", "M.Duinkerk@swv.example", "tweede vraag"), newClass(intake.TypeClinic)).TicketRef
	om := msg("b-1@swv.example", "j.jansen@swv.example", "iets anders")
	om.From.Name = "Joop Jansen"
	other := f.ingest("ondersteuning", om, newClass(intake.TypeClinic)).TicketRef
	f.closeAt(closed, StateClosed, f.now)

	ex, err := f.store.ExportAddress(" M.Duinkerk@SWV.example ", f.now)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Tickets) != 2 || ex.Tickets[0].Ticket.Ref != closed || ex.Tickets[1].Ticket.Ref != open {
		t.Fatalf("export tickets %d", len(ex.Tickets))
	}
	if te := ex.Tickets[0]; len(te.Messages) != 2 || te.Messages[0].Message.Text != "Hierbij melden wij ons aan." ||
		len(te.Ticket.Audit) == 0 || len(te.Outbox) != 1 || len(ex.AutoSent) != 2 {
		t.Errorf("export of %s incomplete: %d messages, %d audit, %d outbox, %d auto-sent", closed, len(te.Messages), len(te.Ticket.Audit), len(te.Outbox), len(ex.AutoSent))
	}

	// An open ticket: refused without force, nothing changed.
	if _, err := f.store.ForgetAddress(addr, false, "api", f.now); !errors.Is(err, ErrOpenTickets) || !strings.Contains(err.Error(), open) {
		t.Fatalf("forget with an open ticket: %v", err)
	}
	if f.ticket(closed).Requester.Address != addr {
		t.Fatal("refused forget changed a ticket")
	}
	res, err := f.store.ForgetAddress(addr, true, "api", f.now)
	if err != nil {
		t.Fatal(err)
	}
	if res.Tickets != 2 {
		t.Errorf("forget %+v", res)
	}
	for _, ref := range []string{closed, open} {
		tk := f.ticket(ref)
		if tk.Requester.Address == addr || tk.Requester.Name == "Marloes Duinkerk" || tk.Subject != removedText || tk.Org != "" {
			t.Errorf("%s not anonymised: %+v %q", ref, tk.Requester, tk.Subject)
		}
		for _, a := range tk.Audit {
			if strings.Contains(strings.ToLower(a.Detail+a.Note+a.Actor), "duinkerk") || strings.Contains(a.Note, "Sem") {
				t.Errorf("%s audit keeps personal data: %+v", ref, a)
			}
		}
		if last := tk.Audit[len(tk.Audit)-1]; last.Action != "forget" {
			t.Errorf("no forget audit entry: %+v", last)
		}
		for _, m := range tk.Messages {
			rec, _ := f.store.Message(m.Seq)
			if rec.Message.Text != "" || rec.Message.From.Address != "" || m.From != "" {
				t.Errorf("%s message %d keeps content: %+v", ref, m.Seq, rec.Message)
			}
			if m.OutboxID != 0 {
				if e, _ := f.store.OutboxEntry(m.OutboxID); len(e.To) != 0 || e.Body != "" {
					t.Errorf("outbox %d keeps %v %q", e.ID, e.To, e.Body)
				}
			}
		}
	}
	if tk := f.ticket(other); tk.Requester.Address != "j.jansen@swv.example" {
		t.Errorf("other requester's ticket changed")
	}
	ex, err = f.store.ExportAddress(addr, f.now)
	if err != nil || len(ex.Tickets) != 0 || len(ex.AutoSent) != 0 {
		t.Errorf("after forget the export still holds %d tickets, %d auto-sent (%v)", len(ex.Tickets), len(ex.AutoSent), err)
	}
	if q, err := f.store.Queue(QueueQuery{Text: "duinkerk", AllStates: true}); err != nil || q.Total != 0 {
		t.Errorf("queue search still finds the forgotten requester: %+v %v", q.Rows, err)
	}
}
