package web

import (
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/workflow"
)

type ticketData struct {
	page
	T           *workflow.Ticket
	Assigned    string
	Thread      []threadItem
	Types       []option
	Allowed     []workflow.Event
	Actions     *ticketActions
	Audit       []workflow.AuditEntry
	Reasons     []intake.Reason
	Candidates  []intake.Candidate
	Confidence  string
	Appointment *workflow.Appointment
	Proposal    *workflow.Proposal
	Suggestion  *workflow.Suggestion
	Session     string
	Correction  *workflow.Correction
	Draft       *replyDraft
}

// replyDraft is a reply shown as a preview, with what was typed.
type replyDraft struct {
	Text    string
	Preview *workflow.ReplyPreview
}

// threadItem is one message or note of a ticket's thread.
type threadItem struct {
	Kind        string // "in", "out" or "note"
	Label       string
	At          time.Time
	From        string
	To          string
	Subject     string
	HTML        template.HTML // sanitised mail HTML, else empty
	Text        string
	Attachments []attachmentLink
	RawURL      string
	Status      string // outbound: where the mail is
	Problems    []string
	Note        string
}

type attachmentLink struct {
	Name, Type, Size, URL string
}

// ticketActions are the forms the ticket's state allows.
type ticketActions struct {
	Assign     bool
	Leaders    []option
	Reply      bool
	Templates  []option
	ReplyWith  []option // events a reply may carry
	Note       bool
	Propose    bool
	Schedule   bool
	Reschedule bool
	Place      bool
	Sessions   []option
	Events     []option // plain transitions
}

func (d *Desk) ticket(w http.ResponseWriter, r *http.Request) {
	d.showTicket(w, r, http.StatusOK, "", nil)
}

// showTicket renders a ticket's page, with an error from a form if any.
func (d *Desk) showTicket(w http.ResponseWriter, r *http.Request, status int, formErr string, draft *replyDraft) {
	ref := strings.ToUpper(r.PathValue("ref"))
	t, err := d.o.Store.Ticket(ref)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	data := ticketData{page: d.base(r, t.Ref+" · "+t.Subject, "queue"), T: t, Audit: t.Audit,
		Reasons: t.Classification.Reasons, Candidates: t.Classification.Candidates,
		Confidence:  fmt.Sprintf("%.0f%%", t.Classification.Confidence*100),
		Appointment: t.Appointment, Proposal: t.Proposal, Suggestion: t.Suggestion, Session: t.Session,
		Assigned: joinNonEmpty(" ", t.AssigneeName, angle(t.Assignee))}
	data.Error, data.Draft = formErr, draft
	data.Types = typeOptions(t.Type, false)
	data.Allowed = workflow.AllowedEvents(t.Family, t.State)
	if c, err := d.o.Store.Correction(t.Ref); err == nil {
		data.Correction = c
	}
	if data.Thread, err = d.thread(t); err != nil {
		d.fail(w, r, err)
		return
	}
	data.Actions = d.actionsFor(t, data.Allowed, sessionFrom(r).user)
	if data.Actions != nil && draft != nil && draft.Preview != nil {
		for i := range data.Actions.Templates {
			data.Actions.Templates[i].Selected = data.Actions.Templates[i].Value == r.PostForm.Get("sjabloon")
		}
	}
	d.render(w, r, status, "ticket", data)
}

func angle(addr string) string {
	if addr == "" {
		return ""
	}
	return "<" + addr + ">"
}

// thread returns the ticket's messages and notes in time order.
func (d *Desk) thread(t *workflow.Ticket) ([]threadItem, error) {
	var items []threadItem
	for _, ref := range t.Messages {
		rec, err := d.o.Store.Message(ref.Seq)
		if err != nil {
			return nil, err
		}
		m := rec.Message
		if m == nil {
			m = &intake.Message{}
		}
		it := threadItem{Kind: string(rec.Direction), At: rec.Received, Subject: m.Subject, Problems: m.Problems,
			From:   joinNonEmpty(" ", m.From.Name, angle(m.From.Address)),
			RawURL: fmt.Sprintf("/tickets/%s/messages/%d/raw", t.Ref, rec.Seq)}
		var to []string
		for _, a := range append(slices.Clone(m.To), m.Cc...) {
			to = append(to, cmp.Or(a.Address, a.Name))
		}
		it.To = strings.Join(to, ", ")
		if rec.Direction == workflow.DirOut {
			it.Label = "verstuurd"
			if !m.Date.IsZero() {
				it.At = m.Date
			}
			if e, err := d.o.Store.OutboxEntry(rec.OutboxID); err == nil {
				it.Status = outboxLabel(e)
				if e.Automatic {
					it.Label = "automatisch verstuurd"
				}
			}
		} else {
			it.Label = "ontvangen"
			if rec.Class != nil {
				it.Label += " · " + kindLabel(rec.Class.Kind)
			}
		}
		if strings.TrimSpace(m.HTML) != "" {
			it.HTML = d.sanitizeMail(m.HTML)
		}
		if it.HTML == "" {
			it.Text = m.Text
		}
		if rec.HeaderOnly {
			it.Text = "(Alleen de kop van dit bericht is bewaard: het was groter dan de limiet. Lees het in de mailbox.)"
		}
		if rec.Purged {
			it.HTML, it.RawURL = "", ""
			it.Text = "(De inhoud van dit bericht is verwijderd: de bewaartermijn is verstreken of de afzender vroeg om verwijdering.)"
		}
		for _, a := range m.Attachments {
			it.Attachments = append(it.Attachments, attachmentLink{Name: a.Filename, Type: a.ContentType, Size: fmtBytes(a.Size),
				URL: fmt.Sprintf("/tickets/%s/messages/%d/attachments/%d", t.Ref, rec.Seq, a.Index)})
		}
		items = append(items, it)
	}
	for _, a := range t.Audit {
		if a.Action == "note" {
			items = append(items, threadItem{Kind: "note", Label: "interne notitie", At: a.At, From: a.Actor,
				Text: cmp.Or(a.Note, a.Detail)})
		}
	}
	slices.SortStableFunc(items, func(a, b threadItem) int { return a.At.Compare(b.At) })
	return items, nil
}

func outboxLabel(e *workflow.OutboxEntry) string {
	switch e.Status {
	case workflow.OutboxSent:
		return "verzonden " + fmtDateTime(e.SentAt)
	case workflow.OutboxFailed:
		return "niet afgeleverd: " + e.LastError
	default:
		if e.Attempts > 0 {
			return fmt.Sprintf("in de wachtrij (%d pogingen; %s)", e.Attempts, e.LastError)
		}
		return "in de wachtrij"
	}
}

// ownAction are the events with a form of their own, never a plain button.
var ownAction = map[workflow.Event]bool{
	workflow.EventAssign: true, workflow.EventPropose: true, workflow.EventSchedule: true, workflow.EventReschedule: true,
	workflow.EventPlace: true, workflow.EventWaitlist: true, workflow.EventPromote: true, workflow.EventAcknowledge: true,
	workflow.EventRequesterReplied: true, workflow.EventInviteDeclined: true,
}

// actionsFor returns the forms to show for the allowed events; nil when the
// desk has no actions.
func (d *Desk) actionsFor(t *workflow.Ticket, allowed []workflow.Event, user *workflow.User) *ticketActions {
	if d.o.Actions == nil {
		return nil
	}
	a := &ticketActions{Reply: true, Note: true}
	for _, ev := range allowed {
		switch ev {
		case workflow.EventAssign:
			a.Assign = true
		case workflow.EventPropose:
			a.Propose = true
		case workflow.EventSchedule:
			a.Schedule = true
		case workflow.EventReschedule:
			a.Schedule, a.Reschedule = true, true
		case workflow.EventPlace, workflow.EventWaitlist:
			a.Place = true
		}
		if !ownAction[ev] {
			a.Events = append(a.Events, option{Value: string(ev), Label: eventLabel(ev)})
		}
	}
	for _, ev := range []workflow.Event{workflow.EventAnswer, workflow.EventWait, workflow.EventClose} {
		if slices.Contains(allowed, ev) {
			a.ReplyWith = append(a.ReplyWith, option{Value: string(ev), Label: eventLabel(ev)})
		}
	}
	if a.Assign {
		if len(d.o.Leaders) == 0 {
			a.Leaders = append(a.Leaders, option{Value: user.Address, Label: user.Name + " (ik)", Selected: true})
		}
		// The leaders of the ticket's type first; all of them when none is.
		for _, all := range []bool{false, true} {
			for _, l := range d.o.Leaders {
				if !all && len(l.Types) > 0 && !slices.Contains(l.Types, t.Type) {
					continue
				}
				a.Leaders = append(a.Leaders, option{Value: l.Address, Label: l.Name, Selected: l.Address == user.Address})
			}
			if len(a.Leaders) > 0 {
				break
			}
		}
	}
	a.Templates = []option{{Value: "", Label: "eigen tekst (antwoord)", Selected: true}}
	for _, name := range replyTemplates(d.o.Templates) {
		a.Templates = append(a.Templates, option{Value: name, Label: name})
	}
	if a.Place {
		if sessions, err := d.o.Actions.Sessions(); err == nil {
			for _, s := range sessions {
				if s.Type != "" && s.Type != t.Type {
					continue
				}
				label := fmt.Sprintf("%s · %s · %d vrij van %d", s.Title, fmtDateTime(s.Start), s.Free, s.Capacity)
				a.Sessions = append(a.Sessions, option{Value: s.ID, Label: label, Selected: s.ID == t.Session})
			}
		}
		a.Place = len(a.Sessions) > 0
	}
	return a
}

func (d *Desk) retype(w http.ResponseWriter, r *http.Request) {
	ref := strings.ToUpper(r.PathValue("ref"))
	_, err := d.o.Store.Retype(ref, intake.Type(r.PostForm.Get("type")), sessionFrom(r).user.Address,
		strings.TrimSpace(r.PostForm.Get("notitie")), d.o.Now())
	if d.actionFailed(w, r, err) {
		return
	}
	http.Redirect(w, r, "/tickets/"+ref+"?ok=type", http.StatusSeeOther)
}

// action carries out one of the workflow's actions from a ticket's form.
func (d *Desk) action(w http.ResponseWriter, r *http.Request) {
	if d.o.Actions == nil {
		d.notFound(w, r)
		return
	}
	ref := strings.ToUpper(r.PathValue("ref"))
	by := sessionFrom(r).user.Address
	f := r.PostForm
	note := strings.TrimSpace(f.Get("notitie"))
	var err error
	ok := r.PathValue("action")
	switch ok {
	case "assign":
		_, err = d.o.Actions.Assign(ref, f.Get("aan"), by, note)
	case "reply":
		req := workflow.ReplyRequest{Body: f.Get("tekst"), Template: f.Get("sjabloon"), Event: workflow.Event(f.Get("en")), Note: note}
		if f.Get("voorbeeld") != "" {
			p, perr := d.o.Actions.PreviewReply(ref, by, req)
			if perr == nil {
				d.showTicket(w, r, http.StatusOK, "", &replyDraft{Text: req.Body, Preview: p})
				return
			}
			err = perr
			break
		}
		_, err = d.o.Actions.Reply(ref, by, req)
	case "note":
		_, err = d.o.Actions.Note(ref, by, f.Get("tekst"))
	case "propose":
		var slots []workflow.Slot
		for i := 1; i <= 3; i++ {
			n := strconv.Itoa(i)
			if f.Get("datum"+n) == "" {
				continue
			}
			start, end, perr := parseSlot(f.Get("datum"+n), f.Get("van"+n), f.Get("tot"+n))
			if perr != nil {
				err = &workflow.InputError{Msg: fmt.Sprintf("optie %d: %v", i, perr)}
				break
			}
			slots = append(slots, workflow.Slot{Start: start, End: end})
		}
		if err == nil {
			_, err = d.o.Actions.Propose(ref, by, slots, f.Get("locatie"))
		}
	case "schedule":
		start, end, perr := parseSlot(f.Get("datum"), f.Get("van"), f.Get("tot"))
		if perr != nil {
			err = &workflow.InputError{Msg: perr.Error()}
			break
		}
		_, err = d.o.Actions.Schedule(ref, by, start, end, f.Get("locatie"))
	case "place":
		_, err = d.o.Actions.Place(ref, by, f.Get("sessie"))
	case "event":
		_, err = d.o.Actions.Transition(ref, workflow.Event(f.Get("event")), by, note)
	default:
		d.notFound(w, r)
		return
	}
	if d.actionFailed(w, r, err) {
		return
	}
	http.Redirect(w, r, "/tickets/"+ref+"?ok="+ok, http.StatusSeeOther)
}

// actionFailed shows the ticket page with the error of a form and reports
// whether there was one. Errors of the user's input are shown as they are;
// others are logged.
func (d *Desk) actionFailed(w http.ResponseWriter, r *http.Request, err error) bool {
	if err == nil {
		return false
	}
	var (
		ie  *workflow.InputError
		ill *workflow.IllegalEventError
		ge  *workflow.GuardError
		ute *workflow.UnknownTypeError
	)
	switch {
	case workflow.IsNotFound(err):
		d.fail(w, r, err)
	case errors.As(err, &ie), errors.As(err, &ute):
		d.showTicket(w, r, http.StatusBadRequest, "Dat lukte niet: "+err.Error(), nil)
	case errors.As(err, &ill), errors.As(err, &ge):
		d.showTicket(w, r, http.StatusConflict, "Dat kan niet in deze status: "+err.Error(), nil)
	default:
		d.o.Log.Error("desk action failed", "path", r.URL.Path, "err", err)
		d.showTicket(w, r, http.StatusInternalServerError, "Er ging iets mis; de fout is gelogd.", nil)
	}
	return true
}

// parseSlot reads a date (2026-03-12) and two times (14:00) in Amsterdam
// time.
func parseSlot(date, from, to string) (time.Time, time.Time, error) {
	start, err := time.ParseInLocation("2006-01-02 15:04", strings.TrimSpace(date)+" "+strings.TrimSpace(from), amsterdam)
	if err != nil {
		return time.Time{}, time.Time{}, errors.New("datum of begintijd onleesbaar")
	}
	end, err := time.ParseInLocation("2006-01-02 15:04", strings.TrimSpace(date)+" "+strings.TrimSpace(to), amsterdam)
	if err != nil {
		return time.Time{}, time.Time{}, errors.New("eindtijd onleesbaar")
	}
	if !end.After(start) {
		return time.Time{}, time.Time{}, errors.New("de eindtijd ligt niet na de begintijd")
	}
	return start, end, nil
}

// messageOf returns a message of the ticket, or ErrNotFound for one that
// is not the ticket's.
func (d *Desk) messageOf(r *http.Request) (*workflow.MessageRecord, error) {
	t, err := d.o.Store.Ticket(strings.ToUpper(r.PathValue("ref")))
	if err != nil {
		return nil, err
	}
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil {
		return nil, workflow.ErrNotFound
	}
	if !slices.ContainsFunc(t.Messages, func(m workflow.MessageRef) bool { return m.Seq == seq }) {
		return nil, workflow.ErrNotFound
	}
	return d.o.Store.Message(seq)
}

// safeInline are the media types an attachment is served as; everything
// else is application/octet-stream. All are downloads either way.
var safeInline = map[string]bool{
	"application/pdf": true, "image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
	"text/plain": true, "text/csv": true, "text/calendar": true,
	"application/msword": true, "application/vnd.openxmlformats-officedocument.wordprocessingml.document": true,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         true,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": true,
	"application/vnd.ms-excel": true, "application/vnd.oasis.opendocument.text": true, "application/zip": true,
}

// download sets the headers of a file download.
func download(w http.ResponseWriter, name, mediaType string) {
	if !safeInline[mediaType] {
		mediaType = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", mediaType)
	disp := mime.FormatMediaType("attachment", map[string]string{"filename": name})
	if disp == "" {
		disp = "attachment"
	}
	h.Set("Content-Disposition", disp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
}

func (d *Desk) attachment(w http.ResponseWriter, r *http.Request) {
	rec, err := d.messageOf(r)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil || rec.Message == nil || index < 0 || index >= len(rec.Message.Attachments) {
		d.fail(w, r, workflow.ErrNotFound)
		return
	}
	raw, err := d.o.Store.Raw(rec.Seq)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	a := rec.Message.Attachments[index]
	// Check that it can be extracted before sending headers.
	if _, err := intake.ExtractAttachment(raw, index, io.Discard); err != nil {
		d.fail(w, r, err)
		return
	}
	download(w, a.Filename, a.ContentType)
	if _, err := intake.ExtractAttachment(raw, index, w); err != nil {
		d.o.Log.Warn("desk: attachment download", "seq", rec.Seq, "index", index, "err", err)
	}
}

func (d *Desk) rawMessage(w http.ResponseWriter, r *http.Request) {
	rec, err := d.messageOf(r)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	raw, err := d.o.Store.Raw(rec.Seq)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	download(w, fmt.Sprintf("%s-%d.eml", strings.ToUpper(r.PathValue("ref")), rec.Seq), "message/rfc822")
	_, _ = w.Write(raw)
}

// systemTemplates are the mail templates Loket uses by itself; the rest
// (an operator's own, from templates_dir) may be picked for a reply.
var systemTemplates = map[string]bool{
	"antwoord": true, "annulering": true, "geplaatst": true, "gesloten-geen-reactie": true, "herinnering-afspraak": true,
	"herinnering-wachten": true, "plaats-vrijgekomen": true, "uitnodiging": true, "voorstel": true, "wachtlijst": true, "wijziging": true,
}

func replyTemplates(names []string) []string {
	var out []string
	for _, n := range names {
		if !systemTemplates[n] && !strings.HasPrefix(n, "confirm-") && !strings.HasPrefix(n, "leider-") {
			out = append(out, n)
		}
	}
	return out
}
