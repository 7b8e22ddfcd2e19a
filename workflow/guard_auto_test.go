package workflow

import (
	"fmt"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/poraad/loket/intake"
)

// TestAutomaticMailOfTheDeskRespectsLoopGuards: the timers' reminders and
// closing mail and the mail of a promotion from the waitlist are automatic
// mail to a requester, so the loop guards (hourly and daily cap, quiet
// after a bounce) hold them back like a confirmation, with an audit entry
// saying so; what does go out counts towards the caps. A leader's
// notification is not held.
func TestAutomaticMailOfTheDeskRespectsLoopGuards(t *testing.T) {
	ctx := t.Context()
	// mailsTo returns the outbox entries of ticket ref to addr.
	mailsTo := func(t *testing.T, st *Store, ref, addr string) []OutboxEntry {
		t.Helper()
		all, err := st.Outbox(false)
		if err != nil {
			t.Fatal(err)
		}
		var out []OutboxEntry
		for _, e := range all {
			if e.TicketRef == ref && len(e.To) > 0 && strings.EqualFold(e.To[0], addr) {
				out = append(out, e)
			}
		}
		return out
	}
	bounced := func(t *testing.T, f *fixture, addr string, at time.Time) {
		t.Helper()
		if err := f.store.db.Update(func(tx *bolt.Tx) error {
			return putJSON(tx.Bucket(bucketBounced), []byte(addr), Bounced{Address: addr, At: at, MessageID: "bounce@mta.example"})
		}); err != nil {
			t.Fatal(err)
		}
	}
	autoSent := func(t *testing.T, f *fixture, addr string, n int) {
		t.Helper()
		if err := f.store.db.Update(func(tx *bolt.Tx) error {
			for range n {
				if err := noteAutoSentTx(tx, addr, f.now); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	recent := func(t *testing.T, f *fixture, addr string) int {
		t.Helper()
		var n int
		if err := f.store.db.View(func(tx *bolt.Tx) error {
			r, err := recentAutoSentTx(tx, addr, f.now)
			n = len(r)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	checkHeld := func(t *testing.T, f *fixture, ref, purpose, because string) {
		t.Helper()
		tk := f.ticket(ref)
		for _, a := range tk.Audit {
			if a.Action == "guard" && strings.Contains(a.Detail, purpose) && strings.Contains(a.Detail, because) {
				return
			}
		}
		t.Errorf("%s: no audit entry \"guard\" for %q (%q); audit:\n%+v", ref, purpose, because, tk.Audit)
	}

	t.Run("appointment reminder after a bounce", func(t *testing.T) {
		f, d := deskFixture(t)
		f.pol.BounceQuiet = 7 * 24 * time.Hour
		var refs []string
		for _, who := range []string{"kees@swv.example", "karin@swv.example"} {
			res := f.ingest("ondersteuning", msg("c-"+who, who, "Clinic"), newClass(intake.TypeClinic))
			start := f.now.Add(5 * 24 * time.Hour)
			if _, err := d.Schedule(res.TicketRef, "anna@poraad.nl", start, start.Add(2*time.Hour), "Zwolle"); err != nil {
				t.Fatal(err)
			}
			refs = append(refs, res.TicketRef)
		}
		bounced(t, f, "kees@swv.example", f.now.Add(time.Hour))
		f.now = f.now.Add(3*24*time.Hour + time.Minute)
		if n, err := d.FireDue(ctx); err != nil || n != 2 {
			t.Fatalf("fired %d (%v), want 2", n, err)
		}
		for _, e := range mailsTo(t, f.store, refs[0], "kees@swv.example") {
			if e.Purpose == "herinnering afspraak" {
				t.Errorf("reminder queued to an address that bounced: %+v", e)
			}
		}
		checkHeld(t, f, refs[0], "herinnering afspraak", "onbestelbaar")
		// The other requester's reminder goes out, and counts.
		found := false
		for _, e := range mailsTo(t, f.store, refs[1], "karin@swv.example") {
			found = found || (e.Purpose == "herinnering afspraak" && e.Automatic)
		}
		if !found {
			t.Error("reminder to an address without a bounce not queued")
		}
		if n := recent(t, f, "KARIN@swv.example"); n != 1 { // the confirmation is 3 days old
			t.Errorf("automatic mails to karin in 24 hours: %d, want 1 (the reminder)", n)
		}
	})

	t.Run("waiting reminder and closing mail over the caps", func(t *testing.T) {
		f, d := deskFixture(t)
		f.pol.PerRecipientPerHour, f.pol.PerRecipientPerDay = 2, 3
		res := f.ingest("ondersteuning", msg("w@swv.example", "wim@swv.example", "Vraag"), newClass(intake.TypeInstrumentarium))
		ref := res.TicketRef
		if _, err := d.Transition(ref, EventWait, "anna@poraad.nl", "gevraagd naar het SWV-nummer"); err != nil {
			t.Fatal(err)
		}
		before := len(mailsTo(t, f.store, ref, "wim@swv.example"))
		f.now = f.now.Add(8 * 24 * time.Hour)
		autoSent(t, f, "Wim@swv.example", 2) // a loop with wim's responder in the last hour
		if _, err := d.FireDue(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(mailsTo(t, f.store, ref, "wim@swv.example")); n != before {
			t.Errorf("%d mails queued to wim over the hourly cap", n-before)
		}
		checkHeld(t, f, ref, "herinnering wachten", "in het afgelopen uur")

		// A day later: the closing mail is held by the daily cap.
		f.now = f.now.Add(7*24*time.Hour + time.Minute)
		autoSent(t, f, "wim@swv.example", 3)
		if _, err := d.FireDue(ctx); err != nil {
			t.Fatal(err)
		}
		if tk := f.ticket(ref); tk.State != StateClosed {
			t.Errorf("state %s, want closed (the guard holds the mail, not the close)", tk.State)
		}
		if n := len(mailsTo(t, f.store, ref, "wim@swv.example")); n != before {
			t.Errorf("%d mails queued to wim over the caps", n-before)
		}
		checkHeld(t, f, ref, "gesloten zonder reactie", "in het afgelopen uur")
	})

	t.Run("daily cap", func(t *testing.T) {
		f, d := deskFixture(t)
		f.pol.PerRecipientPerHour, f.pol.PerRecipientPerDay = 0, 3
		res := f.ingest("ondersteuning", msg("w2@swv.example", "wil@swv.example", "Vraag"), newClass(intake.TypeInstrumentarium))
		if _, err := d.Transition(res.TicketRef, EventWait, "anna@poraad.nl", "gevraagd"); err != nil {
			t.Fatal(err)
		}
		f.now = f.now.Add(8 * 24 * time.Hour)
		autoSent(t, f, "wil@swv.example", 3)
		if _, err := d.FireDue(ctx); err != nil {
			t.Fatal(err)
		}
		checkHeld(t, f, res.TicketRef, "herinnering wachten", "in 24 uur")
	})

	t.Run("promotion from the waitlist after a bounce", func(t *testing.T) {
		f, d := deskFixture(t)
		f.pol.BounceQuiet = 7 * 24 * time.Hour
		var refs []string
		for i := range 3 {
			res := f.ingest("ondersteuning", msg(fmt.Sprintf("r%d@swv.example", i), fmt.Sprintf("deelnemer%d@swv.example", i), "Aanmelding werkbijeenkomst"), newClass(intake.TypeWerkbijeenkomst))
			refs = append(refs, res.TicketRef)
			if _, err := d.Place(res.TicketRef, "anna@poraad.nl", "wb-utrecht"); err != nil {
				t.Fatal(err)
			}
		}
		bounced(t, f, "deelnemer2@swv.example", f.now)
		before := len(mailsTo(t, f.store, refs[2], "deelnemer2@swv.example"))
		if _, err := d.Transition(refs[0], EventCancel, "anna@poraad.nl", "kan niet"); err != nil {
			t.Fatal(err)
		}
		if tk := f.ticket(refs[2]); tk.State != StatePlaced {
			t.Fatalf("not promoted: %s", tk.State)
		}
		if n := len(mailsTo(t, f.store, refs[2], "deelnemer2@swv.example")); n != before {
			t.Errorf("%d promotion mails queued to an address that bounced", n-before)
		}
		checkHeld(t, f, refs[2], "plaats vrijgekomen", "onbestelbaar")
		// The leader's cancellation mail to deelnemer0 is not automatic.
		if c := lastMail(t, f.store, refs[0]); !strings.Contains(c.ICS, "METHOD:CANCEL") {
			t.Errorf("cancelled registration got %s", c.Purpose)
		}
	})

	t.Run("leader notification is not held", func(t *testing.T) {
		f, _ := deskFixture(t)
		f.pol.BounceQuiet, f.pol.PerRecipientPerHour = 7*24*time.Hour, 1
		bounced(t, f, "anna@poraad.nl", f.now)
		autoSent(t, f, "anna@poraad.nl", 5)
		res := f.ingest("ondersteuning", msg("n@swv.example", "nina@swv.example", "Clinic"), newClass(intake.TypeClinic))
		if len(mailsTo(t, f.store, res.TicketRef, "anna@poraad.nl")) != 1 {
			t.Error("leader notification held back")
		}
	})
}
