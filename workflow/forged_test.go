package workflow

import (
	"strings"
	"testing"

	"github.com/poraad/loket/intake"
)

// TestForgedLeaderAndOwnAddress: a From header is easily forged. Mail from
// a configured leader's address is relayed to the requester only when it
// names the ticket's reference in its subject; mail claiming to come from
// one of our own addresses is never relayed and never answered, not even
// at its Reply-To. Each message goes through the whole path: parse,
// classify, Ingest.
func TestForgedLeaderAndOwnAddress(t *testing.T) {
	const (
		requester = "ria@swv-forge.example"
		leader    = "anna@poraad.nl" // deskFixture's clinic leader
		mbPT      = "praktijktoets@ondersteuningpassendonderwijs.nl"
		attacker  = "aanvaller@elders.example"
	)
	tests := []struct {
		name    string
		from    string
		how     string   // "ref": [REF] in the subject; "thread": In-Reply-To our confirmation, no [REF]; "new": neither; "other-ref": In-Reply-To ours, another ticket's [REF]
		headers []string // more header fields
		relayed bool     // a mail to the requester queued
		audit   string   // the ticket's last audit action, when it lands on it
	}{
		{"leader names the ticket: relayed", leader, "ref", nil, true, "relay"},
		{"leader answers our mail without the reference", leader, "thread", nil, false, "no-relay"},
		{"leader answers our mail naming another ticket", leader, "other-ref", nil, false, "no-relay"},
		{"leader without any reference: a new ticket, nothing relayed", leader, "new", nil, false, ""},
		{"our own address names the ticket", mbOndersteuning, "ref", nil, false, "own-address"},
		{"our own address answers our mail", mbOndersteuning, "thread", nil, false, "own-address"},
		{"our other mailbox names the ticket", mbPT, "ref", nil, false, "own-address"},
		{"our own address, new mail", mbOndersteuning, "new", nil, false, ""},
		{"our own address, new mail with a Reply-To elsewhere", mbOndersteuning, "new", []string{"Reply-To: " + attacker}, false, ""},
		{"our own address in capitals, new mail with a Reply-To elsewhere", strings.ToUpper(mbOndersteuning), "new", []string{"Reply-To: " + attacker}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := deskFixture(t)
			svc := f.service()
			ref, queued := f.handle(svc, "ondersteuning", rawMail("Ria <"+requester+">", mbOndersteuning, "Clinic financiën", "req@swv-forge.example"))
			if ref == "" {
				t.Fatal("the request made no ticket")
			}
			var conf *OutboxEntry
			for i := range queued {
				if queued[i].Purpose == "bevestiging" {
					conf = &queued[i]
				}
			}
			if conf == nil {
				t.Fatalf("no confirmation among %d mails", len(queued))
			}
			other, _ := f.handle(svc, "ondersteuning", rawMail("piet@swv-forge.example", mbOndersteuning, "Nog een clinic", "req2@swv-forge.example"))

			var hdr []string
			subject := "Re: [" + ref + "] Clinic financiën"
			switch tt.how {
			case "thread":
				hdr, subject = []string{"In-Reply-To: <" + conf.MessageID + ">"}, "Re: Clinic financiën"
			case "other-ref":
				hdr, subject = []string{"In-Reply-To: <" + conf.MessageID + ">"}, "Re: ["+other+"] Clinic financiën"
			case "new":
				subject = "Stuur de gegevens van alle aanvragers"
			}
			hdr = append(hdr, tt.headers...)
			got, queued := f.handle(svc, "ondersteuning", rawMail(tt.from, mbOndersteuning, subject, "forged@x.example", hdr...)+
				"\r\nBeste Ria, stuur uw wachtwoord naar "+attacker+".\r\n")

			for _, e := range queued {
				for _, to := range append(append([]string(nil), e.To...), e.Cc...) {
					switch {
					case strings.EqualFold(to, requester) && !tt.relayed:
						t.Errorf("relayed to the requester: %s %q", e.Purpose, e.Subject)
					case strings.EqualFold(to, attacker):
						t.Errorf("mail to the Reply-To of a forged message: %s %q", e.Purpose, e.Subject)
					case f.pol.isOwn(to):
						t.Errorf("mail to our own address %s: %s", to, e.Purpose)
					case strings.EqualFold(to, tt.from) && f.pol.isOwn(tt.from):
						t.Errorf("answered mail claiming our own address: %s", e.Purpose)
					}
				}
			}
			relayed := false
			for _, e := range queued {
				relayed = relayed || (len(e.To) == 1 && e.To[0] == requester && strings.Contains(e.Body, "wachtwoord"))
			}
			if relayed != tt.relayed {
				t.Errorf("relayed = %v, want %v (%d mails queued)", relayed, tt.relayed, len(queued))
			}
			if tt.how == "new" {
				if got == ref || got == other {
					t.Errorf("mail without a reference landed on %s", got)
				}
				if f.pol.isOwn(tt.from) && len(queued) > 0 && queued[len(queued)-1].Purpose == "bevestiging" {
					t.Errorf("mail claiming our own address confirmed to %v", queued[len(queued)-1].To)
				}
				return
			}
			if got != ref {
				t.Fatalf("landed on %q, want %s", got, ref)
			}
			tk := f.ticket(ref)
			if last := tk.Audit[len(tk.Audit)-1]; last.Action != tt.audit {
				t.Errorf("last audit %+v, want %s", last, tt.audit)
			}
		})
	}
}

// TestOwnAddressNeverConfirmed: the classifier calls mail from our own
// addresses an auto-reply, but Ingest does not rely on that: a message
// from one of them that reaches it as a new request (a re-classification,
// another classifier) gets no confirmation, neither at its From nor at its
// Reply-To.
func TestOwnAddressNeverConfirmed(t *testing.T) {
	for _, from := range []string{mbOndersteuning, "Praktijktoets@OndersteuningPassendOnderwijs.nl"} {
		f := newFixture(t)
		m := msg("own-"+from, from, "Aanmelding")
		m.ReplyTo = []intake.Address{{Address: "aanvaller@elders.example"}}
		res := f.ingest("ondersteuning", m, newClass(intake.TypeClinic))
		if res.OutboxID != 0 || res.NoConfirmation == "" {
			t.Errorf("from %s: confirmation queued (outbox %d, reason %q)", from, res.OutboxID, res.NoConfirmation)
		}
		if all, _ := f.store.Outbox(false); len(all) != 0 {
			t.Errorf("from %s: %d mails queued, first to %v", from, len(all), all[0].To)
		}
	}
}
