package workflow

import (
	"errors"
	"testing"

	"github.com/poraad/loket/intake"
)

func TestAttachAndDismissUnmatched(t *testing.T) {
	f := newFixture(t)
	ref := f.ingest("ondersteuning", msg("req@swv.example", "r@swv.example", "aanvraag"), newClass(intake.TypeClinic)).TicketRef
	bounce := f.ingest("ondersteuning", msg("b@mailer.example", "mailer-daemon@mailer.example", "Undeliverable"), intake.Classification{Kind: intake.KindBounce})
	ooo := f.ingest("ondersteuning", msg("o@swv.example", "o@swv.example", "Afwezig"), intake.Classification{Kind: intake.KindAutoReply})
	if !bounce.Unmatched || !ooo.Unmatched {
		t.Fatal("not unmatched")
	}
	var nu *NotUnmatchedError
	if _, err := f.store.AttachUnmatched(bounce.Seq, "PO-2099-0001", "l@poraad.nl", f.now); !IsNotFound(err) {
		t.Errorf("attach to unknown ticket: %v", err)
	}
	tk, err := f.store.AttachUnmatched(bounce.Seq, " "+ref, "l@poraad.nl", f.now)
	if err != nil {
		t.Fatal(err)
	}
	last := tk.Audit[len(tk.Audit)-1]
	if !tk.Bounced || tk.Messages[len(tk.Messages)-1].Seq != bounce.Seq || last.Action != "attach" || last.Actor != "l@poraad.nl" {
		t.Errorf("ticket after attach: bounced %v, audit %+v", tk.Bounced, last)
	}
	if got, ok := f.store.TicketForMessageID("b@mailer.example"); !ok || got != ref {
		t.Errorf("message now threads to %q", got)
	}
	if _, err := f.store.AttachUnmatched(bounce.Seq, ref, "l@poraad.nl", f.now); !errors.As(err, &nu) {
		t.Errorf("attach twice: %v", err)
	}
	if err := f.store.DismissUnmatched(ooo.Seq); err != nil {
		t.Fatal(err)
	}
	if err := f.store.DismissUnmatched(ooo.Seq); !errors.As(err, &nu) {
		t.Errorf("dismiss twice: %v", err)
	}
	if un, _ := f.store.Unmatched(); len(un) != 0 {
		t.Errorf("unmatched left: %d", len(un))
	}
	if rec, _ := f.store.Message(ooo.Seq); !rec.Dismissed {
		t.Error("not marked dismissed")
	}
}
