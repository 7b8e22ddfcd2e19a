package workflow

import (
	"errors"
	"fmt"
	"html"
	"net/mail"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/templates"
)

// Desk carries out what project leaders do to tickets: assign, reply,
// note, propose dates, schedule, place in a session, and any other event
// of the table. Every method runs in one bbolt transaction that holds the
// new state, its audit entries, the mail it queues and the timers it sets;
// every state change goes through Apply.
type Desk struct {
	Store  *Store
	Policy *Policy
	// Kick is called after a commit that queued mail (the sender's Kick).
	Kick func()
}

// InputError is returned for a request that cannot be carried out as asked
// (a missing body, an end before the start, an unknown session).
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputErr(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// op is one transaction's work on one ticket.
type op struct {
	tx     *bolt.Tx
	p      *Policy
	t      *Ticket
	now    time.Time
	actor  string
	note   string
	queued int
}

// update runs fn on ticket ref inside one transaction and stores the ticket.
func (d *Desk) update(ref, actor, note string, fn func(o *op) error) (*Ticket, error) {
	var out *Ticket
	queued := 0
	err := d.Store.db.Update(func(tx *bolt.Tx) error {
		t, err := ticketTx(tx, ref)
		if err != nil {
			return err
		}
		o := &op{tx: tx, p: d.Policy, t: t, now: d.Policy.now(), actor: actor, note: note}
		if err := fn(o); err != nil {
			return err
		}
		if err := putTicketTx(tx, t); err != nil {
			return err
		}
		out, queued = t, o.queued
		return nil
	})
	if err != nil {
		return nil, err
	}
	if queued > 0 && d.Kick != nil {
		d.Kick()
	}
	return out, nil
}

// Apply is the one way an event happens to a ticket: the table row is
// looked up (an event it lacks is refused with the allowed ones), its guard
// asked, the state changed and audited, and the row's actions run — all in
// the caller's transaction.
func (o *op) Apply(ev Event) error {
	tr, err := step(o.t, ev, o.actor, o.note, o.now)
	if err != nil {
		return err
	}
	for _, a := range tr.Actions {
		if err := o.run(a); err != nil {
			return fmt.Errorf("%s of %s: %w", a, ev, err)
		}
	}
	return nil
}

// Transition applies an event that needs no other input.
func (d *Desk) Transition(ref string, ev Event, by, note string) (*Ticket, error) {
	switch ev {
	case EventAssign, EventPropose, EventSchedule, EventReschedule, EventPlace, EventWaitlist, EventPromote, EventAcknowledge, EventRequesterReplied, EventInviteDeclined:
		return nil, inputErr("event %q has its own action or happens by itself; use the matching API call", ev)
	}
	return d.update(ref, by, note, func(o *op) error {
		if err := o.Apply(ev); err != nil {
			return err
		}
		switch ev {
		case EventWait, EventClose, EventCancel, EventAnswer, EventPublish, EventDecline, EventHold:
			return clearTimersTx(o.tx, o.t.Ref, timerNudge)
		}
		return nil
	})
}

// Assign gives the ticket to a project leader. With leaders configured the
// address must be one of them.
func (d *Desk) Assign(ref, to, by, note string) (*Ticket, error) {
	to = strings.ToLower(strings.TrimSpace(to))
	if a, err := mail.ParseAddress(to); err != nil || a.Address != to {
		return nil, inputErr("%q is not an e-mail address", to)
	}
	name := ""
	if s := d.Policy.Settings; s != nil && len(s.Leaders) > 0 {
		l, ok := s.leader(to)
		if !ok {
			return nil, inputErr("%s is not a configured leader", to)
		}
		name = l.Name
	}
	return d.update(ref, by, note, func(o *op) error {
		o.t.Assignee, o.t.AssigneeName = to, name
		if err := o.Apply(EventAssign); err != nil {
			return err
		}
		return o.setNudge()
	})
}

// Note adds an internal note: audited, never mailed.
func (d *Desk) Note(ref, by, text string) (*Ticket, error) {
	if strings.TrimSpace(text) == "" {
		return nil, inputErr("a note needs text")
	}
	return d.update(ref, by, "", func(o *op) error {
		o.t.audit(o.now, by, "note", "interne notitie", text)
		return nil
	})
}

// ReplyRequest is a leader's answer to the requester.
type ReplyRequest struct {
	Body     string // free text; or
	Template string // the name of a template
	Event    Event  // optional event applied with the reply (answer, wait, close)
	Note     string
}

// Reply sends the requester an answer written by a person: threaded to the
// requester's last message, from the ticket's mailbox, without
// Auto-Submitted.
func (d *Desk) Reply(ref, by string, r ReplyRequest) (*Ticket, error) {
	if strings.TrimSpace(r.Body) == "" && r.Template == "" {
		return nil, inputErr("a reply needs a body or a template")
	}
	if r.Template != "" && (d.Policy.Templates == nil || !d.Policy.Templates.Has(r.Template)) {
		return nil, inputErr("unknown template %q", r.Template)
	}
	return d.update(ref, by, r.Note, func(o *op) error {
		if err := o.reply(r.Body, r.Template, o.leaderName(by)); err != nil {
			return err
		}
		if r.Event != "" {
			if err := o.Apply(r.Event); err != nil {
				return err
			}
		}
		return clearTimersTx(o.tx, o.t.Ref, timerNudge)
	})
}

func (o *op) reply(body, tmpl, leader string) error {
	if tmpl == "" {
		tmpl = "antwoord"
	}
	d := o.data()
	d.Body = strings.TrimSpace(body)
	if leader != "" {
		d.Leader = leader
	}
	_, err := o.mailRequester("antwoord", tmpl, d, mailOpts{fromName: leader})
	return err
}

// Propose offers the requester dates; the mail numbers them.
func (d *Desk) Propose(ref, by string, slots []Slot, location string) (*Ticket, error) {
	if len(slots) == 0 || len(slots) > 9 {
		return nil, inputErr("propose 1 to 9 slots, not %d", len(slots))
	}
	for i, s := range slots {
		if s.Start.IsZero() || !s.End.After(s.Start) {
			return nil, inputErr("slot %d: the end must be after the start", i+1)
		}
	}
	return d.update(ref, by, "", func(o *op) error {
		o.t.Proposal = &Proposal{Slots: slots, Location: strings.TrimSpace(location), At: o.now, By: by}
		o.t.Suggestion = nil
		if err := o.Apply(EventPropose); err != nil {
			return err
		}
		return clearTimersTx(o.tx, o.t.Ref, timerNudge)
	})
}

// Schedule fixes the appointment; on a scheduled ticket it reschedules.
// The requester (and the assigned leader) get an iCalendar invite.
func (d *Desk) Schedule(ref, by string, start, end time.Time, location string) (*Ticket, error) {
	if start.IsZero() || !end.After(start) {
		return nil, inputErr("the end must be after the start")
	}
	return d.update(ref, by, "", func(o *op) error {
		t := o.t
		ev := EventSchedule
		switch a := t.Appointment; {
		case t.State == StateScheduled && a != nil:
			ev = EventReschedule
			a.Sequence++
			a.Start, a.End, a.Location, a.Status = start, end, location, "confirmed"
			a.Responses = nil
		case a != nil: // an earlier appointment of this ticket (declined, cancelled)
			a.Sequence++
			a.Start, a.End, a.Location, a.Status = start, end, location, "confirmed"
			a.Responses = nil
		default:
			t.Appointment = &Appointment{UID: appointmentUID(t.Ref, o.mailboxAddress()), Start: start, End: end, Location: location, Status: "confirmed"}
		}
		if err := o.Apply(ev); err != nil {
			return err
		}
		return clearTimersTx(o.tx, o.t.Ref, timerNudge)
	})
}

// run carries out one action of a row.
func (o *op) run(a ActionName) error {
	switch a {
	case ActNotifyLeader:
		return o.notifyLeader()
	case ActMailProposal:
		return o.mailProposal()
	case ActMailInvite:
		return o.mailInvite()
	case ActMailCancel:
		return o.mailCancel()
	case ActMailPlaced:
		return o.mailSession("plaatsing", "geplaatst")
	case ActMailPromoted:
		return o.mailSession("plaats vrijgekomen", "plaats-vrijgekomen")
	case ActMailWaitlist:
		return o.mailSession("wachtlijst", "wachtlijst")
	case ActReleaseSeat:
		return o.releaseSeat()
	case ActTimerReminder:
		return o.setReminder()
	case ActTimerWaiting:
		return o.setWaiting()
	case ActClearWaiting:
		return clearTimersTx(o.tx, o.t.Ref, timerWaitingReminder, timerWaitingClose)
	case ActClearTimers:
		return clearTimersTx(o.tx, o.t.Ref, allTimerKinds...)
	}
	return fmt.Errorf("unknown action %q", a)
}

// data returns the template data every mail about the ticket shares.
func (o *op) data() templates.Data {
	t := o.t
	mb := o.p.Mailboxes[t.Mailbox]
	d := templates.Data{
		Ref: t.Ref, Type: string(t.Type), TypeLabel: templates.TypeLabels[string(t.Type)],
		RequesterName: t.Requester.Name, Org: t.Org, Subject: stripRef(threadTopic(t.Subject), t.Ref),
		Received: t.Created, MailboxAddress: o.mailboxAddress(), MailboxName: mb.DisplayName,
		Leader: t.AssigneeName, LeaderAddress: t.Assignee, Link: o.p.Settings.ticketLink(t.Ref),
	}
	if d.Leader == "" {
		d.Leader = localName(t.Assignee)
	}
	if a := t.Appointment; a != nil {
		d.Start, d.End, d.Location = a.Start, a.End, a.Location
	}
	return d
}

func (o *op) mailboxAddress() string {
	if a := o.p.Mailboxes[o.t.Mailbox].Address; a != "" {
		return a
	}
	return o.t.MailboxAddress
}

func (o *op) leaderName(addr string) string {
	if l, ok := o.p.Settings.leader(addr); ok {
		return l.Name
	}
	if equalFoldAddr(addr, o.t.Assignee) && o.t.AssigneeName != "" {
		return o.t.AssigneeName
	}
	return ""
}

type mailOpts struct {
	to, cc    []string
	automatic bool
	fromName  string
	ics       string
	method    string
	noThread  bool
}

// mailRequester renders a template and queues it to the requester,
// threaded under the conversation.
func (o *op) mailRequester(purpose, tmpl string, d templates.Data, m mailOpts) (*OutboxEntry, error) {
	to := o.t.Requester.Address
	if why := NoAutoReplyReason(to, nil, o.p.OwnAddresses); why != "" && (m.automatic || strings.Contains(why, "eigen adres") || strings.Contains(why, "geen geldig")) {
		o.t.audit(o.now, "loket", "no-mail", fmt.Sprintf("%s niet verstuurd: %s", purpose, why), "")
		if m.automatic {
			return nil, nil
		}
		return nil, inputErr("no mail to %q: %s", to, why)
	}
	if m.automatic && o.holdAutoMail(purpose, to) { // guard_auto.go
		return nil, nil
	}
	m.to = []string{to}
	e, err := o.queue(purpose, tmpl, d, m)
	if err == nil && m.automatic {
		err = noteAutoSentTx(o.tx, to, o.now)
	}
	return e, err
}

// queue renders tmpl with d and puts the mail in the outbox.
func (o *op) queue(purpose, tmpl string, d templates.Data, m mailOpts) (*OutboxEntry, error) {
	if o.p.Templates == nil {
		return nil, errors.New("no templates loaded")
	}
	r, err := o.p.Templates.Render(tmpl, d)
	if err != nil {
		return nil, err
	}
	from := o.mailboxAddress()
	if from == "" {
		return nil, fmt.Errorf("ticket %s: mailbox %q has no address", o.t.Ref, o.t.Mailbox)
	}
	fromName := o.p.Mailboxes[o.t.Mailbox].DisplayName
	if m.fromName != "" {
		fromName = m.fromName
		if mb := o.p.Mailboxes[o.t.Mailbox].DisplayName; mb != "" {
			fromName += " (" + mb + ")"
		}
	}
	subject := r.Subject
	if !strings.Contains(subject, o.t.Ref) {
		subject = "[" + o.t.Ref + "] " + subject
	}
	e := &OutboxEntry{
		TicketRef: o.t.Ref, Purpose: purpose, Automatic: m.automatic,
		FromName: fromName, From: from, To: m.to, Cc: m.cc,
		Subject: subject, Body: r.Body, HTML: textToHTML(r.Body),
		ICS: m.ics, ICSMethod: m.method,
		MessageID: newMessageID(o.t.Ref, from, o.now), ThreadTopic: threadTopic(o.t.Subject), Date: o.now,
	}
	if !m.noThread {
		parentID, refs, index := o.threadParent()
		e.InReplyTo, e.References = parentID, refs
		e.ThreadIndex = threadIndex(index, o.now)
	}
	if err := enqueueTx(o.tx, o.t, e, o.now); err != nil {
		return nil, err
	}
	o.t.audit(o.now, o.actor, "mail", fmt.Sprintf("%s aan %s in de wachtrij", purpose, joinAddrs(append(slices.Clone(m.to), m.cc...))), "")
	o.queued++
	return e, nil
}

// threadParent returns the Message-ID to answer (the requester's last
// message, else our last one), the References for it and its
// Thread-Index.
func (o *op) threadParent() (string, []string, string) {
	var pick *MessageRef
	for i := len(o.t.Messages) - 1; i >= 0; i-- {
		m := &o.t.Messages[i]
		if m.Direction == DirIn && (m.Kind == intake.KindNew || m.Kind == intake.KindFollowUp) && equalFoldAddr(m.From, o.t.Requester.Address) {
			pick = m
			break
		}
	}
	if pick == nil {
		for i := len(o.t.Messages) - 1; i >= 0; i-- {
			if m := &o.t.Messages[i]; m.Direction == DirIn && m.Kind != intake.KindAutoReply && m.Kind != intake.KindBounce && !o.p.isStaff(m.From) {
				pick = m
				break
			}
		}
	}
	if pick == nil && len(o.t.Messages) > 0 {
		pick = &o.t.Messages[len(o.t.Messages)-1]
	}
	if pick == nil || pick.MessageID == "" {
		return "", nil, ""
	}
	var rec MessageRecord
	var refs []string
	index := ""
	if getJSON(o.tx.Bucket(bucketMessages), itob(pick.Seq), &rec) == nil && rec.Message != nil {
		refs = append(refs, rec.Message.References...)
		index = rec.Message.HeaderValue("Thread-Index")
	}
	refs = append(refs, pick.MessageID)
	if len(refs) > 10 {
		refs = append(refs[:1], refs[len(refs)-9:]...)
	}
	return pick.MessageID, refs, index
}

func (o *op) notifyLeader() error {
	if o.t.Assignee == "" {
		return nil
	}
	d := o.data()
	d.Body = firstRequestText(o.tx, o.t, 3000)
	_, err := o.queue("melding projectleider", "leider-toegewezen", d, mailOpts{to: []string{o.t.Assignee}, automatic: true, noThread: true})
	return err
}

func (o *op) mailProposal() error {
	p := o.t.Proposal
	if p == nil {
		return errors.New("no proposal on the ticket")
	}
	d := o.data()
	d.Location = p.Location
	for i, s := range p.Slots {
		d.Slots = append(d.Slots, templates.Slot{N: i + 1, Start: s.Start, End: s.End})
	}
	_, err := o.mailRequester("voorstel", "voorstel", d, mailOpts{fromName: o.leaderName(o.actor)})
	return err
}

// attendees of an invite: the requester, and the assigned leader as chair.
func (o *op) attendees() ([]inviteAttendee, []string) {
	att := []inviteAttendee{{Name: o.t.Requester.Name, Address: o.t.Requester.Address}}
	var cc []string
	if o.t.Assignee != "" && !equalFoldAddr(o.t.Assignee, o.t.Requester.Address) {
		att = append(att, inviteAttendee{Name: o.t.AssigneeName, Address: o.t.Assignee, Chair: true})
		cc = append(cc, o.t.Assignee)
	}
	return att, cc
}

func (o *op) summary() string {
	label := templates.TypeLabels[string(o.t.Type)]
	if label == "" {
		label = string(o.t.Type)
	}
	s := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(label, "een "), "de "))
	s = strings.ToUpper(s[:1]) + s[1:]
	if o.t.Org != "" {
		s += " – " + o.t.Org
	}
	return s + " [" + o.t.Ref + "]"
}

func (o *op) mailInvite() error {
	a := o.t.Appointment
	if a == nil {
		return errors.New("no appointment on the ticket")
	}
	att, cc := o.attendees()
	ics, err := buildICS(invite{Method: MethodRequest, UID: a.UID, Sequence: a.Sequence, Start: a.Start, End: a.End,
		Summary: o.summary(), Location: a.Location, Organizer: o.mailboxAddress(), OrganizerName: o.p.Mailboxes[o.t.Mailbox].DisplayName,
		Attendees: att, Stamp: o.now, Description: "Kenmerk " + o.t.Ref})
	if err != nil {
		return err
	}
	tmpl, purpose := "uitnodiging", "uitnodiging"
	if a.Sequence > 0 {
		tmpl, purpose = "wijziging", "gewijzigde uitnodiging"
	}
	_, err = o.mailRequester(purpose, tmpl, o.data(), mailOpts{cc: cc, fromName: o.leaderName(o.actor), ics: ics, method: MethodRequest})
	return err
}

func (o *op) mailCancel() error {
	a := o.t.Appointment
	if a == nil || a.Status == "cancelled" {
		return nil
	}
	a.Sequence++
	a.Status = "cancelled"
	att, cc := o.attendees()
	summary := o.summary()
	if s, ok := o.p.Settings.session(o.t.Session); ok {
		summary = s.Title + " [" + o.t.Ref + "]"
	}
	ics, err := buildICS(invite{Method: MethodCancel, UID: a.UID, Sequence: a.Sequence, Start: a.Start, End: a.End,
		Summary: summary, Location: a.Location, Organizer: o.mailboxAddress(), OrganizerName: o.p.Mailboxes[o.t.Mailbox].DisplayName,
		Attendees: att, Stamp: o.now})
	if err != nil {
		return err
	}
	d := o.data()
	d.Note = o.note
	_, err = o.mailRequester("annulering", "annulering", d, mailOpts{cc: cc, ics: ics, method: MethodCancel, automatic: o.actor == "loket"})
	return err
}

// firstRequestText returns the text of the ticket's first inbound message,
// cut at max runes.
func firstRequestText(tx *bolt.Tx, t *Ticket, max int) string {
	for _, m := range t.Messages {
		if m.Direction != DirIn {
			continue
		}
		text, err := messageTextTx(tx, m.Seq)
		if err != nil {
			return ""
		}
		text = strings.TrimSpace(intake.StripQuoted(text))
		if r := []rune(text); len(r) > max {
			text = string(r[:max]) + " …"
		}
		return text
	}
	return ""
}

// textToHTML is the HTML alternative of a plain-text mail: escaped,
// paragraphs kept, links left as text.
func textToHTML(text string) string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"nl\"><head><meta charset=\"utf-8\"></head>\n<body style=\"font-family: Arial, sans-serif; font-size: 14px;\">\n")
	for _, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		lines := strings.Split(para, "\n")
		for i, l := range lines {
			lines[i] = html.EscapeString(l)
		}
		b.WriteString("<p>" + strings.Join(lines, "<br>\n") + "</p>\n")
	}
	b.WriteString("</body></html>\n")
	return b.String()
}

// stripRef removes "[REF]" from a subject.
func stripRef(subject, ref string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(subject, "["+ref+"]", "")), " ")
}

func equalFoldAddr(a, b string) bool {
	return a != "" && strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

func trimSlash(s string) string { return strings.TrimRight(s, "/") }

// localName makes a name of an address: "a.leider@x" -> "a.leider".
func localName(addr string) string {
	if i := strings.IndexByte(addr, '@'); i > 0 {
		return addr[:i]
	}
	return addr
}

// isStaff reports whether addr is one of Loket's own addresses or a
// configured leader's.
func (p *Policy) isStaff(addr string) bool {
	if p == nil {
		return false
	}
	for _, o := range p.OwnAddresses {
		if equalFoldAddr(o, addr) {
			return true
		}
	}
	_, ok := p.Settings.leader(addr)
	return ok
}

func (p *Policy) isOwn(addr string) bool {
	for _, o := range p.OwnAddresses {
		if equalFoldAddr(o, addr) {
			return true
		}
	}
	for _, m := range p.Mailboxes {
		if equalFoldAddr(m.Address, addr) {
			return true
		}
	}
	return false
}
