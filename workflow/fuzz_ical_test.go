package workflow

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/poraad/loket/intake"
)

// FuzzParseICalReply checks that an incoming iCalendar REPLY cannot hurt
// Loket however it is made: parseCalendarReply, and calendarParts on a
// mail that carries it, never panic; an accepted answer has a UID and a
// participation status in upper case and an attendee in lower case.
// Seeds: workflow/testdata/ical (Outlook, Google, Apple, a REQUEST).
func FuzzParseICalReply(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "ical", "*.ics"))
	if len(files) == 0 {
		f.Fatal("no seeds in testdata/ical")
	}
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:x\r\nSEQUENCE:99999999999999999999\r\nATTENDEE;PARTSTAT=:\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f.Add([]byte("BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parseCalendarReply(data)
		if err == nil {
			if r.UID == "" || r.PartStat == "" {
				t.Errorf("accepted a reply without UID or PARTSTAT: %+v", r)
			}
			if r.PartStat != strings.ToUpper(r.PartStat) {
				t.Errorf("PartStat %q not upper case", r.PartStat)
			}
			if utf8.ValidString(r.Attendee) && r.Attendee != strings.ToLower(r.Attendee) {
				t.Errorf("Attendee %q not lower case", r.Attendee)
			}
		}
		// The same bytes as the calendar part of a mail, as Ingest finds them.
		raw := "From: a@b.example\r\nSubject: Geaccepteerd\r\nContent-Type: multipart/alternative; boundary=zz\r\n\r\n" +
			"--zz\r\nContent-Type: text/plain\r\n\r\nja\r\n--zz\r\nContent-Type: text/calendar; method=REPLY\r\n\r\n" +
			string(data) + "\r\n--zz--\r\n"
		for _, part := range calendarParts([]byte(raw)) {
			if len(part) > 256<<10 {
				t.Errorf("calendar part of %d bytes, over the bound", len(part))
			}
			_, _ = parseCalendarReply(part)
		}
	})
}

// TestParseICalReplySeeds: the seeds of FuzzParseICalReply read as they
// should.
func TestParseICalReplySeeds(t *testing.T) {
	for name, want := range map[string]CalendarReply{
		"outlook-accepted.ics":   {UID: "loket-po-2026-0001@poraad.nl", Sequence: 1, Attendee: "m.duinkerk@swv-noordkop.example", PartStat: "ACCEPTED"},
		"google-declined.ics":    {UID: "loket-po-2026-0001@poraad.nl", Sequence: 0, Attendee: "k.smit@gmail.com", PartStat: "DECLINED"},
		"apple-tentative-lf.ics": {UID: "loket-po-2026-0007@poraad.nl", Sequence: 2, Attendee: "j.bakker@school.example", PartStat: "TENTATIVE"},
		"request-not-reply.ics":  {},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", "ical", name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseCalendarReply(b)
		if want == (CalendarReply{}) {
			if err == nil {
				t.Errorf("%s: accepted %+v", name, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%s: %+v (%v), want %+v", name, got, err, want)
		}
	}
}

// TestMalformedCalendarPartDoesNotStopIngest: a follow-up whose calendar
// part makes go-ical panic (found by FuzzParseICalReply) is stored on its
// ticket with an audit entry; Ingest neither panics nor fails, so the
// mailbox goes on past it.
func TestMalformedCalendarPartDoesNotStopIngest(t *testing.T) {
	f, _ := deskFixture(t)
	res := f.ingest("ondersteuning", msg("cal-req@swv.example", "marloes@swv.example", "Clinic"), newClass(intake.TypeClinic))
	ref := res.TicketRef
	raw := "From: marloes@swv.example\r\nSubject: Re: [" + ref + "] Clinic\r\nMessage-ID: <cal-bad@swv.example>\r\n" +
		"Content-Type: text/calendar; method=REPLY\r\n\r\n0;0=\r\n"
	f.uid++
	if _, err := f.store.Ingest(Inbound{Mailbox: "ondersteuning", UIDValidity: 7, UID: f.uid, Raw: []byte(raw), Msg: intake.Parse([]byte(raw)),
		Class: intake.Classification{Kind: intake.KindFollowUp, TicketRef: ref}}, f.pol); err != nil {
		t.Fatal(err)
	}
	tk := f.ticket(ref)
	if last := tk.Audit[len(tk.Audit)-1]; last.Action != "calendar" || !strings.Contains(last.Note, "malformed") {
		t.Errorf("last audit %+v, want the unreadable calendar answer", last)
	}
	if c, _ := f.store.Cursor("ondersteuning"); c.LastUID != f.uid {
		t.Errorf("cursor %+v, want past UID %d", c, f.uid)
	}
}
