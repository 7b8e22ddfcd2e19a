package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-message"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/internal/mailtest"
	"github.com/poraad/loket/web"
	"github.com/poraad/loket/workflow"
)

const (
	leaderAnna = "anna.leider@poraad.example"
	leaderBram = "bram.leider@poraad.example"
)

// post sends a JSON body to the API and decodes the answer; it returns the
// HTTP status.
func (h *harness) post(path string, in, out any) int {
	h.t.Helper()
	b, _ := json.Marshal(in)
	req, _ := http.NewRequest("POST", "http://"+h.addr+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			h.t.Fatalf("POST %s: %s: %v", path, body, err)
		}
	}
	return resp.StatusCode
}

func (h *harness) mustPost(path string, in any) web.TicketDetail {
	h.t.Helper()
	var d web.TicketDetail
	if code := h.post(path, in, &d); code != 200 {
		var e map[string]any
		h.post(path, in, &e) // for the message; the same refusal again
		h.t.Fatalf("POST %s: %d %v", path, code, e)
	}
	return d
}

func (h *harness) ticket(ref string) web.TicketDetail {
	var d web.TicketDetail
	h.get("/api/v1/tickets/"+ref, &d)
	return d
}

// mailsTo returns the captured mails to addr whose subject contains part.
func (h *harness) mailsTo(addr, part string) []mailtest.Captured {
	var out []mailtest.Captured
	for _, c := range h.smtp.Messages() {
		for _, to := range c.To {
			if strings.EqualFold(to, addr) && strings.Contains(intake.Parse(c.Data).Subject, part) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// waitMail waits for the n-th mail to addr with part in its subject.
func (h *harness) waitMail(addr, part string, n int) *intake.Message {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("mail %d to %s about %q", n, addr, part), 30*time.Second, func() bool { return len(h.mailsTo(addr, part)) >= n })
	m := h.mailsTo(addr, part)
	return intake.Parse(m[n-1].Data)
}

// invite finds the text/calendar part of a sent mail and parses it with go-ical.
func invite(t *testing.T, raw []byte) (method string, ev ical.Event) {
	t.Helper()
	ent, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var cal *ical.Calendar
	var attachment bool
	_ = ent.Walk(func(_ []int, e *message.Entity, err error) error {
		ct, params, _ := e.Header.ContentType()
		switch ct {
		case "text/calendar":
			c, derr := ical.NewDecoder(e.Body).Decode()
			if derr != nil {
				t.Errorf("iCalendar part does not parse: %v", derr)
				return nil
			}
			cal = c
			if params["method"] != "" {
				method = params["method"]
			}
		case "application/ics":
			attachment = true
		}
		return nil
	})
	if cal == nil || !attachment {
		t.Fatalf("no text/calendar part (%v) or .ics attachment (%v) in\n%s", cal != nil, attachment, raw)
	}
	if m, _ := cal.Props.Text(ical.PropMethod); m != method {
		t.Errorf("METHOD %q, content type says %q", m, method)
	}
	if len(cal.Events()) != 1 {
		t.Fatalf("%d events", len(cal.Events()))
	}
	tz := false
	for _, c := range cal.Children {
		if c.Name == ical.CompTimezone {
			tz = true
		}
	}
	if !tz {
		t.Error("no VTIMEZONE")
	}
	return method, cal.Events()[0]
}

func TestWorkflowEndToEnd(t *testing.T) {
	h := newHarness(t)
	amsterdam, _ := time.LoadLocation("Europe/Amsterdam")
	sessStart := time.Now().In(amsterdam).AddDate(0, 0, 20).Truncate(time.Hour)
	h.opts.Settings = &workflow.Settings{
		Leaders: []workflow.Leader{
			{Name: "Anna Leider", Address: leaderAnna, Types: []intake.Type{intake.TypeClinic}},
			{Name: "Bram Leider", Address: leaderBram},
		},
		Sessions: []workflow.MeetingSession{{ID: "wb-1", Type: intake.TypeWerkbijeenkomst, Title: "Werkbijeenkomst Utrecht",
			Start: sessStart, End: sessStart.Add(3 * time.Hour), Location: "Utrecht", Capacity: 2}},
		Timers: workflow.TimerSettings{ReminderDaysBefore: 2},
	}
	h.opts.TimerInterval = time.Second
	h.start()

	// 1. A clinic request arrives: confirmed, and Anna (the clinic leader) notified.
	requester := "marloes@swv-noordkop.example"
	reqID := "clinic-req@swv-noordkop.example"
	h.append("ondersteuning", fmt.Appendf(nil, "From: Marloes Duinkerk <%s>\r\nTo: %s\r\nSubject: Aanvraag clinic ondersteuningsplan\r\nMessage-ID: <%s>\r\nDate: %s\r\n\r\n"+
		"Graag vragen wij een clinic aan over ons ondersteuningsplan, bij ons op locatie.\r\n", requester, addrOndersteuning, reqID, time.Now().Format(time.RFC1123Z)))
	conf := h.waitMail(requester, "Ontvangstbevestiging", 1)
	ref := ticketOf(t, conf.Subject)
	h.waitMail(leaderAnna, ref, 1)
	if d := h.ticket(ref); d.Assignee != leaderAnna || d.State != workflow.StateAssigned || d.Type != intake.TypeClinic {
		t.Fatalf("after intake: %s %s %s", d.Assignee, d.State, d.Type)
	}

	// An illegal event is a 409 with the allowed events.
	var refusal struct {
		Allowed []workflow.Event `json:"allowed_events"`
	}
	if code := h.post("/api/v1/tickets/"+ref+"/transition", map[string]string{"event": "hold"}, &refusal); code != 409 || len(refusal.Allowed) == 0 {
		t.Errorf("hold on an assigned clinic: %d %v", code, refusal.Allowed)
	}

	// 2. Reassign to Bram, who proposes two dates.
	h.mustPost("/api/v1/tickets/"+ref+"/assign", map[string]string{"to": leaderBram})
	h.waitMail(leaderBram, ref, 1)
	day := time.Now().In(amsterdam).AddDate(0, 0, 14)
	slot := func(d, hour int) workflow.Slot {
		s := time.Date(day.Year(), day.Month(), day.Day()+d, hour, 0, 0, 0, amsterdam)
		return workflow.Slot{Start: s, End: s.Add(3 * time.Hour)}
	}
	slots := []workflow.Slot{slot(0, 9), slot(2, 13)}
	h.mustPost("/api/v1/tickets/"+ref+"/propose", map[string]any{"slots": slots, "location": "Stadskantoor", "by": leaderBram})
	prop := h.waitMail(requester, "Voorstel", 1)
	checkThread(t, "proposal", prop, h.mailsTo(requester, "Voorstel")[0].Data, ref, reqID)

	// 3. The requester answers "optie 2": a suggestion, not a schedule.
	h.append("ondersteuning", fmt.Appendf(nil, "From: Marloes Duinkerk <%s>\r\nTo: %s\r\nSubject: RE: %s\r\nMessage-ID: <clinic-answer@swv-noordkop.example>\r\nIn-Reply-To: <%s>\r\nReferences: <%s> <%s>\r\nDate: %s\r\n\r\n"+
		"Optie 2 past ons goed!\r\n\r\n> optie 1: ...\r\n", requester, addrOndersteuning, prop.Subject, prop.MessageID, reqID, prop.MessageID, time.Now().Format(time.RFC1123Z)))
	h.waitFor("the suggestion", 30*time.Second, func() bool { s := h.ticket(ref).Suggestion; return s != nil && s.Slot == 2 })
	if st := h.ticket(ref).State; st != workflow.StateProposed {
		t.Errorf("after the answer: %s", st)
	}

	// 4. Bram schedules option 2: an invite to the requester, Bram in Cc.
	h.mustPost("/api/v1/tickets/"+ref+"/schedule", map[string]any{"start": slots[1].Start, "end": slots[1].End, "location": "Stadskantoor", "by": leaderBram})
	inv := h.waitMail(requester, "Uitnodiging", 1)
	raw := h.mailsTo(requester, "Uitnodiging")[0].Data
	checkThread(t, "invite", inv, raw, ref, "clinic-answer@swv-noordkop.example")
	method, ev := invite(t, raw)
	uid, _ := ev.Props.Text(ical.PropUID)
	if start, err := ev.DateTimeStart(nil); method != "REQUEST" || err != nil || !start.Equal(slots[1].Start) || ev.Props.Get(ical.PropSequence).Value != "0" {
		t.Errorf("invite: method %s start %v (%v)", method, start, err)
	}
	if len(h.mailsTo(leaderBram, "Uitnodiging")) != 1 {
		t.Error("the leader got no copy of the invite")
	}

	// 5. Restart in the middle: nothing is sent twice.
	before := len(h.smtp.Messages())
	h.stop()
	h.start()
	time.Sleep(3 * time.Second)
	if n := len(h.smtp.Messages()); n != before {
		t.Errorf("after a restart %d mails, want %d", n, before)
	}

	// 6. Reschedule to option 1: same UID, SEQUENCE 1.
	h.mustPost("/api/v1/tickets/"+ref+"/schedule", map[string]any{"start": slots[0].Start, "end": slots[0].End, "location": "Stadskantoor", "by": leaderBram})
	h.waitMail(requester, "Gewijzigd", 1)
	_, ev = invite(t, h.mailsTo(requester, "Gewijzigd")[0].Data)
	if u, _ := ev.Props.Text(ical.PropUID); u != uid || ev.Props.Get(ical.PropSequence).Value != "1" {
		t.Errorf("reschedule: UID %s (want %s), SEQUENCE %s", u, uid, ev.Props.Get(ical.PropSequence).Value)
	}

	// 7. Bram answers by mail from his own client: relayed, threaded, from the mailbox.
	h.append("ondersteuning", fmt.Appendf(nil, "From: Bram Leider <%s>\r\nTo: %s\r\nSubject: Re: [%s] Aanvraag clinic\r\nMessage-ID: <bram-1@poraad.example>\r\nDate: %s\r\n\r\n"+
		"Beste Marloes, ik neem de presentatie mee.\r\n", leaderBram, addrOndersteuning, ref, time.Now().Format(time.RFC1123Z)))
	relayed := h.waitMail(requester, "Re: ["+ref+"]", 1)
	relayRaw := h.mailsTo(requester, "Re: ["+ref+"]")[0].Data
	checkThread(t, "relayed answer", relayed, relayRaw, ref, "clinic-answer@swv-noordkop.example")
	if !strings.Contains(relayed.Text, "presentatie") || !strings.Contains(relayed.From.Name, "Bram Leider") {
		t.Errorf("relayed: from %+v text %q", relayed.From, relayed.Text)
	}
	// A stranger's mail with the reference is never relayed.
	h.append("ondersteuning", fmt.Appendf(nil, "From: <iemand@elders.example>\r\nTo: %s\r\nSubject: Re: [%s] doorsturen\r\nMessage-ID: <stranger@elders.example>\r\nDate: %s\r\n\r\nStuur dit door.\r\n",
		addrOndersteuning, ref, time.Now().Format(time.RFC1123Z)))

	// 8. Held, closed.
	h.mustPost("/api/v1/tickets/"+ref+"/transition", map[string]string{"event": "hold", "by": leaderBram})
	if d := h.mustPost("/api/v1/tickets/"+ref+"/transition", map[string]string{"event": "close", "by": leaderBram}); d.State != workflow.StateClosed || d.Appointment == nil {
		t.Errorf("closed: %s %+v", d.State, d.Appointment)
	}

	// Registrations: a session of two, three sign-ups.
	var regs []string
	for i := range 3 {
		addr := fmt.Sprintf("deelnemer%d@gemeente.example", i)
		h.append("ondersteuning", fmt.Appendf(nil, "From: <%s>\r\nTo: %s\r\nSubject: Aanmelding werkbijeenkomst gemeenten en jeugdhulp\r\nMessage-ID: <reg-%d@gemeente.example>\r\nDate: %s\r\n\r\n"+
			"Hierbij meld ik mij aan voor de regionale werkbijeenkomst samenwerking met gemeenten en jeugdhulppartners.\r\n", addr, addrOndersteuning, i, time.Now().Format(time.RFC1123Z)))
		c := h.waitMail(addr, "Ontvangstbevestiging", 1)
		r := ticketOf(t, c.Subject)
		if d := h.ticket(r); d.Type != intake.TypeWerkbijeenkomst {
			h.mustPost("/api/v1/tickets/"+r+"/type", map[string]string{"type": "werkbijeenkomst"})
		}
		regs = append(regs, r)
	}
	want := []workflow.State{workflow.StatePlaced, workflow.StatePlaced, workflow.StateWaitlisted}
	for i, r := range regs {
		if d := h.mustPost("/api/v1/tickets/"+r+"/place", map[string]string{"session": "wb-1"}); d.State != want[i] {
			t.Errorf("%s placed: %s, want %s", r, d.State, want[i])
		}
	}
	h.waitMail("deelnemer2@gemeente.example", "Wachtlijst", 1)
	h.waitMail("deelnemer0@gemeente.example", "ingedeeld", 1)
	h.mustPost("/api/v1/tickets/"+regs[0]+"/transition", map[string]string{"event": "cancel", "note": "afgemeld"})
	promo := h.mailsTo("deelnemer2@gemeente.example", "plaats vrij")
	h.waitFor("the promotion mail", 30*time.Second, func() bool { promo = h.mailsTo("deelnemer2@gemeente.example", "plaats vrij"); return len(promo) == 1 })
	if m, _ := invite(t, promo[0].Data); m != "REQUEST" {
		t.Errorf("promotion invite method %s", m)
	}
	h.waitMail("deelnemer0@gemeente.example", "Geannuleerd", 1)
	if m, _ := invite(t, h.mailsTo("deelnemer0@gemeente.example", "Geannuleerd")[0].Data); m != "CANCEL" {
		t.Errorf("cancel method %s", m)
	}
	if d := h.ticket(regs[2]); d.State != workflow.StatePlaced {
		t.Errorf("promoted ticket: %s", d.State)
	}

	// No duplicates at all: every Message-ID once, and the stranger got nothing relayed.
	time.Sleep(2 * time.Second)
	seen := map[string]bool{}
	for _, c := range h.smtp.Messages() {
		id := intake.Parse(c.Data).MessageID
		if seen[id] {
			t.Errorf("mail %s sent twice", id)
		}
		seen[id] = true
		for _, to := range c.To {
			if to == "iemand@elders.example" {
				t.Error("a stranger got mail")
			}
		}
	}
	if n := len(h.mailsTo(requester, "Re: ["+ref+"]")); n != 1 {
		t.Errorf("%d relayed answers, want 1", n)
	}
	h.stop()
}

// checkThread checks the headers of a mail a person sent through Loket.
func checkThread(t *testing.T, what string, m *intake.Message, raw []byte, ref, inReplyTo string) {
	t.Helper()
	checks := map[string]bool{
		"from the mailbox":         m.From.Address == addrOndersteuning,
		"reference in the subject": strings.Contains(m.Subject, "["+ref+"]"),
		"In-Reply-To":              len(m.InReplyTo) == 1 && m.InReplyTo[0] == inReplyTo,
		"References ends with it":  len(m.References) > 0 && m.References[len(m.References)-1] == inReplyTo,
		"no Auto-Submitted":        !bytes.Contains(raw, []byte("\r\nAuto-Submitted:")),
		"HTML alternative":         bytes.Contains(raw, []byte("text/html")),
	}
	for c, ok := range checks {
		if !ok {
			t.Errorf("%s: %s fails (subject %q, in-reply-to %v, references %v)", what, c, m.Subject, m.InReplyTo, m.References)
		}
	}
}
