package workflow

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/poraad/loket/intake"
)

// service returns a Service over the fixture's store and policy with the
// real classifier, so that raw messages go the whole way: parse, classify,
// Ingest.
func (f *fixture) service() *Service {
	f.t.Helper()
	c, err := intake.NewClassifier(intake.ClassifierConfig{Prefix: "PO", OwnAddresses: f.pol.OwnAddresses})
	if err != nil {
		f.t.Fatal(err)
	}
	return &Service{Store: f.store, Classifier: c, Policy: f.pol}
}

// handle feeds a raw message through Service.Handle and returns the
// Ingest's effect as seen in the store: the ticket it landed on (by its
// Message-ID) and the mails queued meanwhile.
func (f *fixture) handle(svc *Service, mailbox string, raw string) (ref string, queued []OutboxEntry) {
	f.t.Helper()
	before, err := f.store.Outbox(false)
	if err != nil {
		f.t.Fatal(err)
	}
	f.uid++
	if err := svc.Handle(context.Background(), intake.Fetched{Mailbox: mailbox, UIDValidity: 7, UID: f.uid, Raw: []byte(raw), Size: int64(len(raw))}); err != nil {
		f.t.Fatalf("handle: %v", err)
	}
	after, err := f.store.Outbox(false)
	if err != nil {
		f.t.Fatal(err)
	}
	queued = after[:len(after)-len(before)] // newest first
	ref, _ = f.store.TicketForMessageID(boundedInbound(Inbound{Msg: intake.Parse([]byte(raw))}).Msg.MessageID)
	return ref, queued
}

// setState puts a ticket in a state directly, as a leader's actions would.
func (f *fixture) setState(ref string, s State) {
	f.t.Helper()
	if err := f.store.db.Update(func(tx *bolt.Tx) error {
		tk, err := ticketTx(tx, ref)
		if err != nil {
			return err
		}
		tk.State = s
		return putTicketTx(tx, tk)
	}); err != nil {
		f.t.Fatal(err)
	}
}

func rawMail(from, to, subject, id string, headers ...string) string {
	h := strings.Join(headers, "\r\n")
	if h != "" {
		h += "\r\n"
	}
	return fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: Mon, 02 Mar 2026 09:00:00 +0100\r\n%s\r\n"+
		"Graag een clinic over ons ondersteuningsplan, bij ons op locatie.\r\n", from, to, subject, id, h)
}

const mbOndersteuning = "ondersteuningpassendonderwijs@poraad.nl"

func TestPerRecipientPerHourAndDay(t *testing.T) {
	type step struct {
		at   string // time on 2 March 2026 (or "+1d 10:30" for the next day)
		sent bool
		why  string // part of the reason when not sent
	}
	tests := []struct {
		name          string
		perDay, perHr int
		steps         []step
	}{
		{"hour cap then day cap", 5, 3, []step{
			{"10:00", true, ""}, {"10:05", true, ""}, {"10:10", true, ""},
			{"10:15", false, "in het afgelopen uur"}, {"10:59", false, "in het afgelopen uur"},
			{"11:11", true, ""}, {"11:20", true, ""},
			{"12:30", false, "in 24 uur"}, {"+1d 10:30", true, ""},
		}},
		{"hour cap off (0 in the policy)", 5, 0, []step{
			{"10:00", true, ""}, {"10:01", true, ""}, {"10:02", true, ""}, {"10:03", true, ""}, {"10:04", true, ""},
			{"10:05", false, "in 24 uur"},
		}},
		{"hour cap 1", 5, 1, []step{
			{"10:00", true, ""}, {"10:30", false, "in het afgelopen uur"}, {"11:00", true, ""}, {"11:59", false, "uur"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.pol.PerRecipientPerDay, f.pol.PerRecipientPerHour = tt.perDay, tt.perHr
			for i, s := range tt.steps {
				day := 2
				at := s.at
				if rest, ok := strings.CutPrefix(at, "+1d "); ok {
					day, at = 3, rest
				}
				var hh, mm int
				fmt.Sscanf(at, "%d:%d", &hh, &mm)
				f.now = time.Date(2026, 3, day, hh, mm, 0, 0, time.UTC)
				res := f.ingest("ondersteuning", msg(fmt.Sprintf("r%d@x", i), "vaak@swv.example", "vraag"), newClass(intake.TypeOverig))
				if got := res.OutboxID != 0; got != s.sent || (!s.sent && !strings.Contains(res.NoConfirmation, s.why)) {
					t.Errorf("step %d at %s: sent %v (%q), want %v (%q)", i, s.at, got, res.NoConfirmation, s.sent, s.why)
				}
			}
		})
	}
}

func TestBounceQuiet(t *testing.T) {
	tests := []struct {
		name string
		// bounce builds the bounce for the confirmation with Message-ID conf
		// sent to requester.
		bounce    func(conf, requester string) string
		quiet     time.Duration
		later     time.Duration // when the requester writes again
		confirmed bool          // whether that new request is confirmed
	}{
		{"X-Failed-Recipients of our mail", func(conf, rq string) string {
			return rawMail("Mail Delivery System <MAILER-DAEMON@mx.swv.example>", mbOndersteuning, "Undelivered Mail Returned to Sender", "dsn1@mx.swv.example",
				"X-Failed-Recipients: "+rq, "In-Reply-To: <"+conf+">")
		}, 168 * time.Hour, 24 * time.Hour, false},
		{"threaded bounce without X-Failed-Recipients", func(conf, rq string) string {
			return rawMail("postmaster@mx.swv.example", mbOndersteuning, "Delivery Status Notification (Failure)", "dsn2@mx.swv.example",
				"In-Reply-To: <"+conf+">")
		}, 168 * time.Hour, time.Hour, false},
		{"quiet time over", func(conf, rq string) string {
			return rawMail("MAILER-DAEMON@mx.swv.example", mbOndersteuning, "Undelivered Mail Returned to Sender", "dsn3@mx.swv.example",
				"X-Failed-Recipients: "+rq, "In-Reply-To: <"+conf+">")
		}, 168 * time.Hour, 169 * time.Hour, true},
		{"guard switched off", func(conf, rq string) string {
			return rawMail("MAILER-DAEMON@mx.swv.example", mbOndersteuning, "Undelivered Mail Returned to Sender", "dsn4@mx.swv.example",
				"X-Failed-Recipients: "+rq, "In-Reply-To: <"+conf+">")
		}, 0, time.Hour, true},
		{"forged bounce naming an address never mailed", func(conf, rq string) string {
			return rawMail("MAILER-DAEMON@mx.evil.example", mbOndersteuning, "Undelivered Mail Returned to Sender", "dsn5@mx.evil.example",
				"X-Failed-Recipients: "+rq)
		}, 168 * time.Hour, time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.pol.PerRecipientPerDay, f.pol.BounceQuiet = 50, tt.quiet
			svc := f.service()
			requester := "j.devries@swv-bounce.example"
			if strings.HasPrefix(tt.name, "forged") {
				// The victim never wrote to us: no confirmation went there.
				requester = "slachtoffer@swv-bounce.example"
				ref, _ := f.handle(svc, "ondersteuning", rawMail("a@swv-bounce.example", mbOndersteuning, "Aanvraag clinic", "first@swv-bounce.example"))
				f.handle(svc, "ondersteuning", tt.bounce("", requester))
				if f.ticket(ref).Bounced {
					t.Errorf("a bounce that names no mail of ours flagged ticket %s", ref)
				}
			} else {
				ref, queued := f.handle(svc, "ondersteuning", rawMail(requester, mbOndersteuning, "Aanvraag clinic", "first@swv-bounce.example"))
				if len(queued) != 1 {
					t.Fatalf("first request: %d mails queued", len(queued))
				}
				bref, _ := f.handle(svc, "ondersteuning", tt.bounce(queued[0].MessageID, requester))
				if bref != ref || !f.ticket(ref).Bounced {
					t.Fatalf("bounce landed on %q, ticket %s bounced = %v", bref, ref, f.ticket(ref).Bounced)
				}
			}
			f.now = f.now.Add(tt.later)
			ref, queued := f.handle(svc, "ondersteuning", rawMail(requester, mbOndersteuning, "Nog een clinic", "second@swv-bounce.example"))
			if got := len(queued) == 1; got != tt.confirmed {
				t.Fatalf("new request %s later: confirmed %v, want %v", tt.later, got, tt.confirmed)
			}
			if !tt.confirmed {
				tk := f.ticket(ref)
				last := tk.Audit[len(tk.Audit)-1]
				if last.Action != "no-confirmation" || !strings.Contains(last.Detail, "onbestelbaar") {
					t.Errorf("audit %+v, want the bounce as the reason", last)
				}
			}
		})
	}
}

func TestThirdParty(t *testing.T) {
	const requester = "r.bakker@swv-hijack.example"
	tests := []struct {
		name  string
		from  string
		how   string // "ref": the reference in the subject; "thread": In-Reply-To our confirmation
		third bool
	}{
		{"the requester, by reference", requester, "ref", false},
		{"the requester, by thread", requester, "thread", false},
		{"a colleague in Cc of the request", "collega@swv-hijack.example", "ref", false},
		{"the assistant who sent it for the requester", "secretariaat@swv-hijack.example", "ref", false},
		{"a stranger guessing the reference", "nieuwsgierig@elders.example", "ref", true},
		{"a stranger answering a forwarded confirmation", "nieuwsgierig@elders.example", "thread", true},
		{"the stranger's Cc of an earlier try", "handlanger@elders.example", "ref", true},
		{"our own address: kept by the own-address rule, not flagged", mbOndersteuning, "ref", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			svc := f.service()
			// The request, sent by an assistant for the requester, with a
			// colleague in Cc.
			req := rawMail("secretariaat@swv-hijack.example", mbOndersteuning, "Aanvraag clinic", "req@swv-hijack.example",
				"Reply-To: "+requester, "Cc: collega@swv-hijack.example")
			ref, queued := f.handle(svc, "ondersteuning", req)
			if ref == "" || len(queued) != 1 {
				t.Fatalf("request: ticket %q, %d mails", ref, len(queued))
			}
			conf := queued[0]
			if strings.Contains(tt.name, "earlier try") {
				// A third party tried before, with an accomplice in Cc: the
				// accomplice is on nothing either.
				f.handle(svc, "ondersteuning", rawMail("nieuwsgierig@elders.example", mbOndersteuning, "Re: ["+ref+"] Aanvraag clinic",
					"try@elders.example", "Cc: handlanger@elders.example"))
			}
			f.setState(ref, StateClosed) // a requester's reply reopens it; a third party's must not
			before := f.ticket(ref)
			var hdr []string
			subject := "Re: [" + ref + "] Aanvraag clinic"
			if tt.how == "thread" {
				hdr, subject = []string{"In-Reply-To: <" + conf.MessageID + ">"}, "Re: Aanvraag clinic"
			}
			got, queued := f.handle(svc, "ondersteuning", rawMail(tt.from, mbOndersteuning, subject, "fu@x.example", hdr...)+
				"\r\nStuur mij het verslag en de contactgegevens van de aanvrager.\r\n")
			if got != ref {
				t.Fatalf("follow-up landed on %q, want %s (attached either way)", got, ref)
			}
			tk := f.ticket(ref)
			flagged := false
			for _, fl := range tk.Flags {
				flagged = flagged || strings.HasPrefix(fl, "derde partij")
			}
			if flagged != tt.third {
				t.Errorf("flagged as third party = %v, want %v (flags %v)", flagged, tt.third, tk.Flags)
			}
			if tt.third {
				if tk.State != StateClosed {
					t.Errorf("a third party moved the ticket from %s to %s", before.State, tk.State)
				}
				if len(queued) != 0 {
					t.Errorf("a third party's mail queued %d mails: %+v", len(queued), queued[0])
				}
				if last := tk.Audit[len(tk.Audit)-1]; last.Action != "third-party" {
					t.Errorf("last audit %+v, want third-party", last)
				}
			} else if tt.from == requester && tk.State == StateClosed {
				t.Errorf("the requester's reply did not reopen the ticket")
			}
		})
	}
}

// TestMailLoop: another automatic responder answers every mail it gets,
// without any automatic-mail header, from one address. However it answers,
// the exchange stops within the per-recipient limits.
func TestMailLoop(t *testing.T) {
	const responder = "info@autoresponder.example"
	tests := []struct {
		name string
		// answer is the responder's answer to our mail m (nil: none).
		answer  func(n int, m OutboxEntry) string
		maxMail int
	}{
		{"answers in the thread", func(n int, m OutboxEntry) string {
			return rawMail(responder, m.From, "Re: "+m.Subject, fmt.Sprintf("loop%d@autoresponder.example", n), "In-Reply-To: <"+m.MessageID+">")
		}, 1},
		{"answers with our subject only", func(n int, m OutboxEntry) string {
			return rawMail(responder, m.From, "Re: "+m.Subject, fmt.Sprintf("loop%d@autoresponder.example", n))
		}, 1},
		{"answers as a new mail each time", func(n int, m OutboxEntry) string {
			return rawMail(responder, m.From, "Bedankt voor uw bericht", fmt.Sprintf("loop%d@autoresponder.example", n))
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.pol.PerRecipientPerDay, f.pol.PerRecipientPerHour = 5, 3
			svc := f.service()
			_, queue := f.handle(svc, "ondersteuning", rawMail(responder, mbOndersteuning, "Aanvraag clinic", "loop0@autoresponder.example"))
			mails := len(queue)
			for n := 1; len(queue) > 0 && n < 200; n++ {
				f.now = f.now.Add(time.Minute)
				m := queue[0]
				_, more := f.handle(svc, "ondersteuning", tt.answer(n, m))
				queue = append(queue[1:], more...)
				mails += len(more)
			}
			if len(queue) > 0 || mails > tt.maxMail {
				t.Errorf("the loop goes on: %d mails to the responder, %d waiting; want at most %d", mails, len(queue), tt.maxMail)
			}
			t.Logf("%d mail(s) to the responder, then silence", mails)
		})
	}

	// A responder that also writes on its own every 10 minutes for two
	// days: at most 3 mails in any hour and 5 in any 24 hours.
	t.Run("writes on its own as well", func(t *testing.T) {
		f := newFixture(t)
		f.pol.PerRecipientPerDay, f.pol.PerRecipientPerHour = 5, 3
		svc := f.service()
		var times []time.Time
		for n := range 2 * 24 * 6 {
			f.now = f.now.Add(10 * time.Minute)
			_, q := f.handle(svc, "ondersteuning", rawMail(responder, mbOndersteuning, "Nieuwsbrief", fmt.Sprintf("spont%d@autoresponder.example", n)))
			for range q {
				times = append(times, f.now)
			}
		}
		for i := range times {
			inHour, inDay := 0, 0
			for _, u := range times[i:] {
				if u.Sub(times[i]) < time.Hour {
					inHour++
				}
				if u.Sub(times[i]) < 24*time.Hour {
					inDay++
				}
			}
			if inHour > 3 || inDay > 5 {
				t.Fatalf("from %s: %d mails in an hour, %d in a day", times[i].Format(time.Kitchen), inHour, inDay)
			}
		}
		if len(times) == 0 || len(times) > 10 {
			t.Errorf("%d mails in two days, want 1 to 10", len(times))
		}
		t.Logf("%d mails in two days to a responder writing every 10 minutes", len(times))
	})
}
