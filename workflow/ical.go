package workflow

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-message"
)

// Calendar invites (RFC 5545, RFC 5546 iTIP) built and read with go-ical.
// Every appointment of a ticket has one UID for its whole life; a change
// raises SEQUENCE so that calendars replace the old event, and a
// cancellation is a METHOD:CANCEL with the same UID and a higher SEQUENCE.

const icalProdID = "-//PO-Raad//Loket//NL"

// iTIP methods Loket sends and reads.
const (
	MethodRequest = "REQUEST"
	MethodCancel  = "CANCEL"
	MethodReply   = "REPLY"
)

// invite is what goes into one VEVENT.
type invite struct {
	Method        string
	UID           string
	Sequence      int
	Start, End    time.Time
	Summary       string
	Description   string
	Location      string
	OrganizerName string
	Organizer     string
	Attendees     []inviteAttendee
	Stamp         time.Time
}

type inviteAttendee struct {
	Name, Address string
	Chair         bool
}

// appointmentUID returns the stable UID of a ticket's appointment.
func appointmentUID(ref, mailboxAddr string) string {
	domain := "loket.invalid"
	if i := strings.LastIndexByte(mailboxAddr, '@'); i >= 0 && i < len(mailboxAddr)-1 {
		domain = mailboxAddr[i+1:]
	}
	return "loket-" + strings.ToLower(ref) + "@" + domain
}

// buildICS renders inv as an iCalendar object with a VTIMEZONE for
// Europe/Amsterdam; times are written in that zone.
func buildICS(inv invite) (string, error) {
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropProductID, icalProdID)
	cal.Props.SetText(ical.PropCalendarScale, "GREGORIAN")
	cal.Props.SetText(ical.PropMethod, inv.Method)
	cal.Children = append(cal.Children, amsterdamTimezone())

	ev := ical.NewEvent()
	ev.Props.SetText(ical.PropUID, inv.UID)
	ev.Props.SetDateTime(ical.PropDateTimeStamp, inv.Stamp.UTC())
	seq := ical.NewProp(ical.PropSequence)
	seq.Value = fmt.Sprint(inv.Sequence)
	ev.Props.Set(seq)
	ev.Props.SetDateTime(ical.PropDateTimeStart, inv.Start.In(amsterdam))
	ev.Props.SetDateTime(ical.PropDateTimeEnd, inv.End.In(amsterdam))
	ev.Props.SetText(ical.PropSummary, inv.Summary)
	if inv.Description != "" {
		ev.Props.SetText(ical.PropDescription, inv.Description)
	}
	if inv.Location != "" {
		ev.Props.SetText(ical.PropLocation, inv.Location)
	}
	org := ical.NewProp(ical.PropOrganizer)
	org.Value = "mailto:" + inv.Organizer
	if inv.OrganizerName != "" {
		org.Params.Set(ical.ParamCommonName, inv.OrganizerName)
	}
	ev.Props.Set(org)
	for _, a := range inv.Attendees {
		p := ical.NewProp(ical.PropAttendee)
		p.Value = "mailto:" + a.Address
		if a.Name != "" {
			p.Params.Set(ical.ParamCommonName, a.Name)
		}
		role := "REQ-PARTICIPANT"
		if a.Chair {
			role = "CHAIR"
		}
		p.Params.Set(ical.ParamRole, role)
		p.Params.Set(ical.ParamParticipationStatus, "NEEDS-ACTION")
		if inv.Method == MethodRequest && !a.Chair {
			p.Params.Set(ical.ParamRSVP, "TRUE")
		}
		ev.Props.Add(p)
	}
	if inv.Method == MethodCancel {
		ev.SetStatus(ical.EventCancelled)
	} else {
		ev.SetStatus(ical.EventConfirmed)
	}
	cal.Children = append(cal.Children, ev.Component)

	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return "", fmt.Errorf("encode iCalendar %s for %s: %w", inv.Method, inv.UID, err)
	}
	return buf.String(), nil
}

// amsterdamTimezone is the VTIMEZONE of Europe/Amsterdam: CET, and CEST
// from the last Sunday of March to the last Sunday of October.
func amsterdamTimezone() *ical.Component {
	tz := ical.NewComponent(ical.CompTimezone)
	tz.Props.SetText(ical.PropTimezoneID, "Europe/Amsterdam")
	part := func(name, start, rule, from, to, abbr string) *ical.Component {
		c := ical.NewComponent(name)
		for _, kv := range [][2]string{{ical.PropDateTimeStart, start}, {ical.PropRecurrenceRule, rule},
			{ical.PropTimezoneOffsetFrom, from}, {ical.PropTimezoneOffsetTo, to}, {ical.PropTimezoneName, abbr}} {
			p := ical.NewProp(kv[0])
			p.Value = kv[1]
			c.Props.Set(p)
		}
		return c
	}
	tz.Children = append(tz.Children,
		part(ical.CompTimezoneDaylight, "19700329T020000", "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "+0100", "+0200", "CEST"),
		part(ical.CompTimezoneStandard, "19701025T030000", "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "+0200", "+0100", "CET"))
	return tz
}

// CalendarReply is an attendee's answer to an invite.
type CalendarReply struct {
	UID      string
	Sequence int
	Attendee string // address, lower case
	PartStat string // ACCEPTED, DECLINED, TENTATIVE, ...
}

// parseCalendarReply reads an iCalendar object with METHOD:REPLY.
func parseCalendarReply(data []byte) (_ CalendarReply, err error) {
	// go-ical panics on some malformed content lines (a parameter without
	// a value, "0;0=", found by FuzzParseICalReply). A hostile calendar part
	// must not take Ingest down, and with it the process and its mailbox
	// at every restart: it is an unreadable answer like any other.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("decode iCalendar: malformed input (%v)", p)
		}
	}()
	cal, err := ical.NewDecoder(bytes.NewReader(data)).Decode()
	if err != nil {
		return CalendarReply{}, fmt.Errorf("decode iCalendar: %w", err)
	}
	method, _ := cal.Props.Text(ical.PropMethod)
	if !strings.EqualFold(method, MethodReply) {
		return CalendarReply{}, fmt.Errorf("iCalendar method %q is not REPLY", method)
	}
	for _, ev := range cal.Events() {
		var r CalendarReply
		r.UID, _ = ev.Props.Text(ical.PropUID)
		if p := ev.Props.Get(ical.PropSequence); p != nil {
			r.Sequence, _ = p.Int()
		}
		if p := ev.Props.Get(ical.PropAttendee); p != nil {
			r.Attendee = strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(p.Value, "mailto:"), "MAILTO:"))
			r.PartStat = strings.ToUpper(p.Params.Get(ical.ParamParticipationStatus))
		}
		if r.UID != "" && r.PartStat != "" {
			return r, nil
		}
	}
	return CalendarReply{}, errors.New("iCalendar REPLY without UID or attendee answer")
}

// calendarParts returns the bodies of the text/calendar and application/ics
// parts of a raw message, at most four, each at most 256 KiB.
func calendarParts(raw []byte) [][]byte {
	ent, err := message.Read(bytes.NewReader(raw))
	if ent == nil || (err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err)) {
		return nil
	}
	var out [][]byte
	var walk func(e *message.Entity, depth int)
	walk = func(e *message.Entity, depth int) {
		if depth > 8 || len(out) >= 4 {
			return
		}
		if mr := e.MultipartReader(); mr != nil {
			for {
				p, err := mr.NextPart()
				if err != nil {
					return
				}
				walk(p, depth+1)
			}
		}
		ct, _, _ := e.Header.ContentType()
		if ct == "text/calendar" || ct == "application/ics" {
			if b, err := io.ReadAll(io.LimitReader(e.Body, 256<<10)); err == nil {
				out = append(out, b)
			}
		}
	}
	walk(ent, 0)
	return out
}
