package workflow

import (
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/poraad/loket/intake"
)

// afterInboundTx handles what a message on an existing ticket means beyond
// being stored, inside Ingest's transaction:
//
//   - mail claiming to come from one of our own addresses is kept and
//     nothing else: never relayed, never answered;
//   - a configured leader's follow-up is relayed to the requester as the
//     leader's answer, or kept as an internal note when its first line is
//     "#intern"; anyone else's mail is never relayed;
//   - a requester's iCalendar REPLY updates the appointment (a decline puts
//     the ticket back to proposed);
//   - a requester's answer to a date proposal is matched to the offered
//     slots and shown as a suggestion;
//   - a requester's follow-up restarts the wait for the desk's answer.
func afterInboundTx(tx *bolt.Tx, t *Ticket, in Inbound, seq uint64, p *Policy, now time.Time, res *IngestResult) error {
	from := in.Msg.From.Address
	o := &op{tx: tx, p: p, t: t, now: now, actor: "loket"}
	defer func() { res.Queued += o.queued }()
	if p.isOwn(from) {
		t.audit(now, "loket", "own-address", "bericht met ons eigen adres "+from+" als afzender: niet doorgestuurd, niet beantwoord", in.Msg.Subject)
		t.Flags = appendOnce(t.Flags, "bericht met eigen adres als afzender")
		return nil
	}
	if l, ok := p.Settings.leader(from); ok {
		if in.Class.Kind != intake.KindFollowUp {
			return nil // a leader's out-of-office is never relayed
		}
		return o.leaderMail(l, in)
	}
	if in.Class.Kind == intake.KindBounce {
		return nil
	}
	for _, part := range calendarParts(in.Raw) {
		if err := o.calendarReply(part, from); err != nil {
			t.audit(now, "loket", "calendar", "agenda-antwoord niet te lezen", err.Error())
		}
	}
	if in.Class.Kind != intake.KindFollowUp {
		return nil
	}
	if t.State == StateProposed && t.Proposal != nil {
		if s, ok := MatchSlot(in.Msg.Text, t.Proposal.Slots); ok {
			s.MessageSeq, s.At = seq, now
			t.Suggestion = &s
			t.audit(now, "loket", "suggestion", fmt.Sprintf("het antwoord lijkt optie %d te kiezen (%s)", s.Slot, s.Matched), "")
		}
	}
	return o.setNudge()
}

// leaderMail relays a leader's mail to the requester or keeps it as a note.
func (o *op) leaderMail(l Leader, in Inbound) error {
	o.actor = strings.ToLower(l.Address)
	text := strings.TrimSpace(intake.StripQuoted(in.Msg.Text))
	first, rest, _ := strings.Cut(text, "\n")
	if strings.EqualFold(strings.TrimSpace(first), "#intern") {
		o.t.audit(o.now, o.actor, "note", "interne notitie per mail", strings.TrimSpace(rest))
		return nil
	}
	if text == "" {
		o.t.audit(o.now, o.actor, "relay", "lege mail van de projectleider: niet doorgestuurd", "")
		return nil
	}
	// A From header is easily forged: only a leader's mail that names this
	// ticket in its subject is relayed. Anything else (a reply to our mail
	// with the reference taken out, a reference to another ticket) is kept
	// and shown, never sent on to the requester.
	if ref, ok := intake.ParseTicketRef(in.Msg.Subject, o.p.Prefix); !ok || !strings.EqualFold(ref, o.t.Ref) {
		o.t.audit(o.now, "loket", "no-relay", "mail van "+l.Address+" zonder kenmerk "+o.t.Ref+" in het onderwerp: niet doorgestuurd naar de aanvrager", in.Msg.Subject)
		o.t.Flags = appendOnce(o.t.Flags, "mail van projectleider zonder kenmerk: niet doorgestuurd")
		return nil
	}
	if err := o.reply(text, "", l.Name); err != nil {
		return fmt.Errorf("relay answer of %s: %w", l.Address, err)
	}
	o.t.audit(o.now, o.actor, "relay", "antwoord van "+l.Name+" per mail doorgestuurd naar de aanvrager", "")
	return clearTimersTx(o.tx, o.t.Ref, timerNudge)
}

// calendarReply applies an iCalendar REPLY to the ticket's appointment.
func (o *op) calendarReply(data []byte, from string) error {
	r, err := parseCalendarReply(data)
	if err != nil {
		return err
	}
	a := o.t.Appointment
	if a == nil || r.UID != a.UID {
		o.t.audit(o.now, "loket", "calendar", "agenda-antwoord over een andere afspraak ("+r.UID+")", "")
		return nil
	}
	who := r.Attendee
	if who == "" {
		who = from
	}
	if r.Sequence < a.Sequence {
		o.t.audit(o.now, who, "calendar", fmt.Sprintf("agenda-antwoord %s op een eerdere versie (%d) genegeerd", r.PartStat, r.Sequence), "")
		return nil
	}
	if a.Responses == nil {
		a.Responses = map[string]string{}
	}
	a.Responses[who] = r.PartStat
	words := map[string]string{"ACCEPTED": "geaccepteerd", "DECLINED": "afgewezen", "TENTATIVE": "onder voorbehoud geaccepteerd"}
	what := words[r.PartStat]
	if what == "" {
		what = strings.ToLower(r.PartStat)
	}
	o.t.audit(o.now, who, "calendar", "uitnodiging "+what, "")
	if r.PartStat == "DECLINED" && equalFoldAddr(who, o.t.Requester.Address) && o.t.State == StateScheduled {
		o.actor, o.note = who, "de aanvrager wees de uitnodiging af"
		o.t.Flags = appendOnce(o.t.Flags, "uitnodiging afgewezen: nieuwe datum nodig")
		return o.Apply(EventInviteDeclined)
	}
	return nil
}
