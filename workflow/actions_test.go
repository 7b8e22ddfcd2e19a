package workflow

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/poraad/loket/intake"
)

func deskFixture(t *testing.T) (*fixture, *Desk) {
	f := newFixture(t)
	f.pol.Settings = &Settings{
		BaseURL: "https://loket.example.org/",
		Leaders: []Leader{
			{Name: "Anna de Vries", Address: "anna@poraad.nl", Types: []intake.Type{intake.TypeClinic, intake.TypeWerkbijeenkomst}},
			{Name: "Bram Jansen", Address: "bram@poraad.nl", Types: []intake.Type{intake.TypeClinic}},
		},
		Sessions: []MeetingSession{{ID: "wb-utrecht", Type: intake.TypeWerkbijeenkomst, Title: "Werkbijeenkomst Utrecht",
			Start: time.Date(2026, 4, 14, 13, 0, 0, 0, amsterdam), End: time.Date(2026, 4, 14, 16, 0, 0, 0, amsterdam), Location: "Utrecht", Capacity: 2}},
		Timers: TimerSettings{ReminderDaysBefore: 2, NudgeWorkingDays: 3, WaitingReminderDays: 7, WaitingCloseDays: 7},
	}
	return f, &Desk{Store: f.store, Policy: f.pol}
}

// lastMail returns the newest outbox entry of a ticket.
func lastMail(t *testing.T, st *Store, ref string) *OutboxEntry {
	t.Helper()
	all, err := st.Outbox(false)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if e.TicketRef == ref {
			return &e
		}
	}
	t.Fatalf("no mail for %s", ref)
	return nil
}

func parseICS(t *testing.T, s string) (*ical.Calendar, ical.Event) {
	t.Helper()
	cal, err := ical.NewDecoder(strings.NewReader(s)).Decode()
	if err != nil {
		t.Fatalf("iCalendar does not parse: %v\n%s", err, s)
	}
	evs := cal.Events()
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	return cal, evs[0]
}

func TestClinicLifecycle(t *testing.T) {
	f, d := deskFixture(t)
	res := f.ingest("ondersteuning", msg("req@swv.example", "marloes@swv.example", "Clinic aanvragen"), newClass(intake.TypeClinic))
	ref := res.TicketRef
	tk := f.ticket(ref)
	if tk.Assignee != "anna@poraad.nl" || tk.State != StateAssigned {
		t.Fatalf("auto-assign: assignee %q state %s", tk.Assignee, tk.State)
	}
	if e := lastMail(t, f.store, ref); e.To[0] != "anna@poraad.nl" || !strings.Contains(e.Body, "https://loket.example.org/tickets/"+ref) {
		t.Errorf("leader notification: to %v body\n%s", e.To, e.Body)
	}

	// A registration-only event is refused with the allowed list.
	_, err := d.Place(ref, "anna@poraad.nl", "wb-utrecht")
	var in *InputError
	if !errors.As(err, &in) {
		t.Errorf("place on a clinic: %v", err)
	}
	_, err = d.Transition(ref, EventPublish, "anna@poraad.nl", "")
	var ie *IllegalEventError
	if !errors.As(err, &ie) || len(ie.Allowed) == 0 {
		t.Fatalf("publish on a clinic: %v", err)
	}

	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, amsterdam) }
	slots := []Slot{{day(10, 9), day(10, 12)}, {day(12, 13), day(12, 16)}, {day(17, 9), day(17, 12)}}
	if _, err := d.Propose(ref, "anna@poraad.nl", slots, "Stadskantoor"); err != nil {
		t.Fatal(err)
	}
	prop := lastMail(t, f.store, ref)
	if !strings.Contains(prop.Body, "optie 2: donderdag 12 maart 2026, 13:00 tot 16:00 uur") || prop.Automatic || prop.InReplyTo != "req@swv.example" {
		t.Errorf("proposal mail (automatic %v, in-reply-to %s):\n%s", prop.Automatic, prop.InReplyTo, prop.Body)
	}

	// The requester answers: a suggestion, not a schedule.
	ans := msg("ans@swv.example", "marloes@swv.example", "Re: "+prop.Subject)
	ans.Text = "Donderdag 12 maart is goed!\n\n> optie 1: dinsdag 10 maart\n> optie 2: donderdag 12 maart"
	f.ingest("ondersteuning", ans, intake.Classification{Kind: intake.KindFollowUp, ThreadMessageID: prop.MessageID})
	tk = f.ticket(ref)
	if tk.State != StateProposed || tk.Suggestion == nil || tk.Suggestion.Slot != 2 {
		t.Fatalf("after the answer: state %s suggestion %+v", tk.State, tk.Suggestion)
	}

	if _, err := d.Schedule(ref, "anna@poraad.nl", slots[1].Start, slots[1].End, "Stadskantoor"); err != nil {
		t.Fatal(err)
	}
	inv := lastMail(t, f.store, ref)
	cal, ev := parseICS(t, inv.ICS)
	if m, _ := cal.Props.Text(ical.PropMethod); m != "REQUEST" || inv.Cc[0] != "anna@poraad.nl" {
		t.Errorf("method %q cc %v", m, inv.Cc)
	}
	uid, _ := ev.Props.Text(ical.PropUID)
	start, err := ev.DateTimeStart(nil)
	if err != nil || !start.Equal(slots[1].Start) || ev.Props.Get(ical.PropDateTimeStart).Params.Get("TZID") != "Europe/Amsterdam" {
		t.Errorf("DTSTART %v (%v)", start, err)
	}
	if !strings.Contains(inv.ICS, "BEGIN:VTIMEZONE") || !strings.Contains(inv.ICS, "SEQUENCE:0") {
		t.Errorf("ics:\n%s", inv.ICS)
	}
	raw, err := renderRaw(inv)
	if err != nil || !bytes.Contains(raw, []byte("text/calendar; method=REQUEST")) || !bytes.Contains(raw, []byte("uitnodiging.ics")) || bytes.Contains(raw, []byte("Auto-Submitted")) {
		t.Errorf("raw invite (%v):\n%s", err, raw)
	}

	// Reschedule: same UID, SEQUENCE 1.
	if _, err := d.Schedule(ref, "anna@poraad.nl", slots[2].Start, slots[2].End, "Stadskantoor"); err != nil {
		t.Fatal(err)
	}
	_, ev = parseICS(t, lastMail(t, f.store, ref).ICS)
	if u, _ := ev.Props.Text(ical.PropUID); u != uid || ev.Props.Get(ical.PropSequence).Value != "1" {
		t.Errorf("reschedule: uid %s seq %s", u, ev.Props.Get(ical.PropSequence).Value)
	}

	// The requester declines in the calendar: back to proposed.
	reply := fmt.Sprintf("From: marloes@swv.example\r\nSubject: Afgewezen: [%s]\r\nMessage-ID: <decl@swv.example>\r\nContent-Type: text/calendar; method=REPLY; charset=utf-8\r\n\r\n"+
		"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//NL\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:%s\r\nSEQUENCE:1\r\nDTSTAMP:20260303T100000Z\r\n"+
		"ATTENDEE;PARTSTAT=DECLINED:mailto:marloes@swv.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", ref, uid)
	f.uid++
	if _, err := f.store.Ingest(Inbound{Mailbox: "ondersteuning", UIDValidity: 7, UID: f.uid, Raw: []byte(reply), Msg: intake.Parse([]byte(reply)),
		Class: intake.Classification{Kind: intake.KindFollowUp, TicketRef: ref}}, f.pol); err != nil {
		t.Fatal(err)
	}
	if tk = f.ticket(ref); tk.State != StateProposed || tk.Appointment.Responses["marloes@swv.example"] != "DECLINED" {
		t.Fatalf("after decline: %s %+v", tk.State, tk.Appointment)
	}

	steps := []struct {
		ev   Event
		want State
	}{{EventSchedule, StateScheduled}, {EventHold, StateHeld}, {EventClose, StateClosed}}
	for _, s := range steps {
		var err error
		if s.ev == EventSchedule {
			_, err = d.Schedule(ref, "anna@poraad.nl", slots[0].Start, slots[0].End, "")
		} else {
			_, err = d.Transition(ref, s.ev, "anna@poraad.nl", "klaar")
		}
		if err != nil {
			t.Fatalf("%s: %v", s.ev, err)
		}
		if tk = f.ticket(ref); tk.State != s.want {
			t.Fatalf("%s: state %s, want %s", s.ev, tk.State, s.want)
		}
	}
	if tk.Appointment.Sequence != 2 {
		t.Errorf("sequence after a new schedule = %d, want 2", tk.Appointment.Sequence)
	}
	// Every state change is in the audit log.
	n := 0
	for _, a := range tk.Audit {
		if a.Action == "state" {
			n++
		}
	}
	if n != 9 { // acknowledge, assign, propose, schedule, reschedule, invite-declined, schedule, hold, close
		t.Errorf("%d state changes audited, want 9", n)
	}
}

func TestReplyNoteAndGuards(t *testing.T) {
	f, d := deskFixture(t)
	res := f.ingest("ondersteuning", msg("q@swv.example", "jan@swv.example", "Vraag over TLV"), newClass(intake.TypeInstrumentarium))
	ref := res.TicketRef
	if _, err := d.Reply(ref, "bram@poraad.nl", ReplyRequest{}); err == nil {
		t.Error("empty reply accepted")
	}
	if _, err := d.Reply(ref, "bram@poraad.nl", ReplyRequest{Body: "Zie de handreiking.", Event: EventAnswer}); err == nil {
		t.Error("answer without assignment accepted")
	}
	if _, err := d.Assign(ref, "nobody@elders.example", "api", ""); err == nil {
		t.Error("unknown leader accepted")
	}
	if _, err := d.Assign(ref, "bram@poraad.nl", "api", ""); err != nil {
		t.Fatal(err)
	}
	tk, err := d.Reply(ref, "bram@poraad.nl", ReplyRequest{Body: "Zie de handreiking.", Event: EventAnswer})
	if err != nil {
		t.Fatal(err)
	}
	e := lastMail(t, f.store, ref)
	if tk.State != StateAnswered || e.Automatic || e.InReplyTo != "q@swv.example" || e.From != "ondersteuningpassendonderwijs@poraad.nl" ||
		!strings.Contains(e.Subject, "["+ref+"]") || !strings.Contains(e.Body, "Bram Jansen") || !strings.Contains(e.FromName, "Bram Jansen") {
		t.Errorf("reply: state %s entry %+v", tk.State, e)
	}
	before := len(tk.Messages)
	if tk, err = d.Note(ref, "bram@poraad.nl", "Gebeld, morgen terugbellen."); err != nil || len(tk.Messages) != before {
		t.Errorf("note: %v, messages %d → %d", err, before, len(tk.Messages))
	}
}

func TestSessionsWaitlistPromotion(t *testing.T) {
	f, d := deskFixture(t)
	var refs []string
	for i := range 3 {
		res := f.ingest("ondersteuning", msg(fmt.Sprintf("r%d@swv.example", i), fmt.Sprintf("deelnemer%d@swv.example", i), "Aanmelding werkbijeenkomst"), newClass(intake.TypeWerkbijeenkomst))
		refs = append(refs, res.TicketRef)
	}
	want := []State{StatePlaced, StatePlaced, StateWaitlisted}
	for i, ref := range refs {
		tk, err := d.Place(ref, "anna@poraad.nl", "wb-utrecht")
		if err != nil {
			t.Fatal(err)
		}
		if tk.State != want[i] {
			t.Errorf("%s: %s, want %s", ref, tk.State, want[i])
		}
	}
	if e := lastMail(t, f.store, refs[2]); e.Purpose != "wachtlijst" || e.ICS != "" {
		t.Errorf("waitlist mail %s", e.Purpose)
	}
	if _, err := d.Transition(refs[0], EventCancel, "anna@poraad.nl", "kan niet"); err != nil {
		t.Fatal(err)
	}
	if tk := f.ticket(refs[2]); tk.State != StatePlaced || tk.Appointment == nil {
		t.Fatalf("promoted: %s", tk.State)
	}
	e := lastMail(t, f.store, refs[2])
	if e.Purpose != "plaats vrijgekomen" || !strings.Contains(e.ICS, "METHOD:REQUEST") {
		t.Errorf("promotion mail %s", e.Purpose)
	}
	if c := lastMail(t, f.store, refs[0]); !strings.Contains(c.ICS, "METHOD:CANCEL") {
		t.Errorf("cancelled registration got %s", c.Purpose)
	}
	views, err := d.Sessions()
	if err != nil || len(views) != 1 || len(views[0].Placed) != 2 || len(views[0].Waitlist) != 0 || views[0].Free != 0 {
		t.Errorf("sessions = %+v (%v)", views, err)
	}
}

func TestTimersFireOnce(t *testing.T) {
	f, d := deskFixture(t)
	ctx := t.Context()
	res := f.ingest("ondersteuning", msg("c@swv.example", "kees@swv.example", "Clinic"), newClass(intake.TypeClinic))
	ref := res.TicketRef
	start := f.now.Add(5 * 24 * time.Hour)
	if _, err := d.Schedule(ref, "anna@poraad.nl", start, start.Add(2*time.Hour), "Zwolle"); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		all, _ := f.store.Outbox(false)
		return len(all)
	}
	n0 := count()
	f.now = f.now.Add(3*24*time.Hour + time.Minute) // 2 days before the start
	for i, want := range []int{1, 0} {
		if n, err := d.FireDue(ctx); err != nil || n != want {
			t.Fatalf("pass %d: fired %d (%v), want %d", i, n, err, want)
		}
	}
	if e := lastMail(t, f.store, ref); e.Purpose != "herinnering afspraak" || count() != n0+1 {
		t.Errorf("reminder: %s, %d mails", e.Purpose, count()-n0)
	}

	// Waiting on the requester: one reminder, then closed with a mail.
	res = f.ingest("ondersteuning", msg("w@swv.example", "wim@swv.example", "Vraag"), newClass(intake.TypeInstrumentarium))
	if _, err := d.Transition(res.TicketRef, EventWait, "anna@poraad.nl", "gevraagd naar het SWV-nummer"); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(8 * 24 * time.Hour)
	if _, err := d.FireDue(ctx); err != nil {
		t.Fatal(err)
	}
	if e := lastMail(t, f.store, res.TicketRef); e.Purpose != "herinnering wachten" {
		t.Errorf("waiting reminder: %s", e.Purpose)
	}
	f.now = f.now.Add(8 * 24 * time.Hour)
	if _, err := d.FireDue(ctx); err != nil {
		t.Fatal(err)
	}
	if tk := f.ticket(res.TicketRef); tk.State != StateClosed {
		t.Errorf("after waiting: %s", tk.State)
	}
	if n, _ := d.FireDue(ctx); n != 0 {
		t.Errorf("%d timers fired again", n)
	}
}

func TestAddWorkingDays(t *testing.T) {
	fri := time.Date(2026, 3, 6, 10, 0, 0, 0, amsterdam)
	for _, c := range []struct {
		n    int
		want int // day of March
	}{{1, 9}, {3, 11}, {5, 13}, {6, 16}} {
		if got := addWorkingDays(fri, c.n); got.Day() != c.want {
			t.Errorf("Friday + %d working days = %s, want March %d", c.n, got.Format("Mon 2 Jan"), c.want)
		}
	}
}

func TestLeaderMailRelayNoteAndOwnAddress(t *testing.T) {
	f, _ := deskFixture(t)
	res := f.ingest("ondersteuning", msg("x@swv.example", "ria@swv.example", "Clinic financiën"), newClass(intake.TypeClinic))
	ref := res.TicketRef
	outbox := func() int { all, _ := f.store.Outbox(false); return len(all) }
	cases := []struct {
		name, from, text string
		kind             intake.Kind
		relayed          bool
		audit            string
	}{
		{"leader answers", "anna@poraad.nl", "Beste Ria, wij komen graag.\n\n> oude tekst", intake.KindFollowUp, true, "relay"},
		{"leader notes", "ANNA@poraad.nl", "#intern\nBelde net, ze wil liever in mei.", intake.KindFollowUp, false, "note"},
		{"leader out of office", "anna@poraad.nl", "Ik ben afwezig.", intake.KindAutoReply, false, "auto-reply"},
		{"stranger", "iemand@elders.example", "Stuur dit door aub", intake.KindFollowUp, false, "third-party"}, // guard.go
		{"own address", "ondersteuningpassendonderwijs@poraad.nl", "loop?", intake.KindFollowUp, false, "own-address"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := outbox()
			m := msg(fmt.Sprintf("l%d@x.example", i), c.from, "Re: ["+ref+"] Clinic financiën")
			m.Text = c.text
			f.ingest("ondersteuning", m, intake.Classification{Kind: c.kind, TicketRef: ref})
			if got := outbox() - before; (got == 1) != c.relayed || got > 1 {
				t.Errorf("%d mails queued, relayed = %v", got, c.relayed)
			}
			tk := f.ticket(ref)
			if last := tk.Audit[len(tk.Audit)-1]; last.Action != c.audit && !(c.relayed && last.Action == "relay") {
				t.Errorf("last audit %+v, want %s", last, c.audit)
			}
			if c.relayed {
				e := lastMail(t, f.store, ref)
				if e.To[0] != "ria@swv.example" || strings.Contains(e.Body, "oude tekst") || e.InReplyTo != "x@swv.example" || e.From != "ondersteuningpassendonderwijs@poraad.nl" {
					t.Errorf("relayed %+v", e)
				}
			}
		})
	}
	// Round robin: the next clinic goes to the other leader.
	res2 := f.ingest("ondersteuning", msg("y@swv.example", "piet@swv.example", "Nog een clinic"), newClass(intake.TypeClinic))
	if tk := f.ticket(res2.TicketRef); tk.Assignee != "bram@poraad.nl" {
		t.Errorf("second clinic assigned to %q", tk.Assignee)
	}
}

func TestMatchSlot(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, amsterdam) }
	slots := []Slot{{day(10, 9), day(10, 12)}, {day(12, 13), day(12, 16)}, {day(19, 9), day(19, 12)}}
	for _, c := range []struct {
		text string
		want int // 0: no suggestion
	}{
		{"Optie 2 past ons goed.", 2},
		{"De tweede datum is prima", 2},
		{"donderdag 12 maart is goed", 2},
		{"Dinsdag graag", 1},
		{"Wij kiezen de laatste optie", 3},
		{"12-3 lukt", 2},
		{"Donderdag kan, welke donderdag maakt niet uit", 0}, // two Thursdays
		{"Optie 1 kan helaas niet. Optie 3 wel!", 3},
		{"Optie 1 of optie 2, beide goed", 0},
		{"Dank voor de voorstellen.\n> optie 2: donderdag 12 maart", 0},
		{"Geen van deze data past ons", 0},
	} {
		s, ok := MatchSlot(c.text, slots)
		if got := map[bool]int{true: s.Slot}[ok]; got != c.want {
			t.Errorf("%q: slot %d (%q), want %d", c.text, got, s.Matched, c.want)
		}
	}
}

// TestAssignMailQuotesRequest: the mail to a newly assigned leader quotes
// the request's text, also when its record leaves the text to the raw
// bytes (TextInRaw).
func TestAssignMailQuotesRequest(t *testing.T) {
	f, d := deskFixture(t)
	raw := "From: Jan <jan@swv.example>\r\nTo: ondersteuningpassendonderwijs@poraad.nl\r\nSubject: Clinic aanvragen\r\n" +
		"Message-ID: <assign-1@swv.example>\r\n\r\nWij willen graag een clinic over thuiszitters voor ons zorgteam.\r\n"
	ref, _ := f.handle(f.service(), "ondersteuning", raw)
	tk := f.ticket(ref)
	rec, err := f.store.Message(tk.Messages[0].Seq)
	if err != nil || !rec.TextInRaw {
		t.Fatalf("record: %v, TextInRaw %v", err, rec != nil && rec.TextInRaw)
	}
	if _, err := d.Assign(ref, "bram@poraad.nl", "api", ""); err != nil {
		t.Fatal(err)
	}
	if e := lastMail(t, f.store, ref); !strings.Contains(e.Body, "clinic over thuiszitters") {
		t.Errorf("the leader's mail (%s) does not quote the request:\n%s", e.Purpose, e.Body)
	}
}
